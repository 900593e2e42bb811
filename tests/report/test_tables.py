"""Trial counts of a trials frame add up."""

import pandas as pd

from nas.report import counts_text, trial_counts


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "number": range(7),
        "state": ["COMPLETE"] * 5 + ["FAIL", "RUNNING"],
        "feasible": [True, True, False, True, False, None, None],
        "trained": [True, True, False, True, True, None, None],
        "reference": ["", "", "", "ai85unetlarge", "unetmysmall", "", ""],
    })


def test_references_are_counted_apart_from_searched_trials():
    c = trial_counts(_frame())
    assert (c["feasible"], c["infeasible"], c["references"]) == (2, 1, 2)
    assert c["complete"] == c["feasible"] + c["infeasible"] + c["references"] == 5
    assert (c["failed"], c["running"], c["total"]) == (1, 1, 7)
    assert "2 feasible, 1 infeasible" in counts_text(c)
