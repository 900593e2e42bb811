"""The rungs' table, agreement and figure from a hand-made trials frame."""

from __future__ import annotations

import math

import pandas as pd

from nas.report import rung_agreement, rung_figure, rung_names, rung_table


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "number": [0, 1, 2, 3, 4],
        "reference": ["ai85unetlarge", "", "", "", ""],
        "feasible": [True, True, True, True, True],
        "param_bytes": [280_000, 10_000, 20_000, 30_000, 40_000],
        "miou": [0.78, 0.50, 0.60, 0.70, 0.40],
        "miou@proxy": [0.78, 0.50, 0.60, 0.70, 0.40],
        "miou@medium": [0.85, 0.62, 0.55, 0.80, float("nan")],  # trial 4 not promoted
    })


def test_table_ranks_each_rung_and_agreement_is_kendall_tau():
    df = _frame()
    assert rung_names(df) == ["proxy", "medium"]
    table = rung_table(df)
    assert list(table["trial"]) == [0, 3, 1, 2]  # by the top rung's mIoU
    assert list(table["name"]) == ["ai85unetlarge", "trial3", "trial1", "trial2"]
    # promotion reordered trials 1 and 2: 3rd/4th by proxy, 3rd/4th swapped by medium
    row = table.set_index("trial")
    assert (row.loc[2, "rank proxy"], row.loc[2, "rank medium"]) == (3, 4)
    assert (row.loc[1, "rank proxy"], row.loc[1, "rank medium"]) == (4, 3)
    agree = rung_agreement(df).iloc[0]
    # 4 nets, 6 pairs, one discordant (1 vs 2): tau = (5 - 1) / 6
    assert agree["n"] == 4 and math.isclose(agree["kendall_tau"], 4 / 6)


def test_figure_draws_each_rung_and_one_line_per_promoted_net():
    fig = rung_figure(_frame())
    names = [t.name for t in fig.data]
    assert "proxy (5 nets)" in names and "medium (4 nets)" in names
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert len(lines) == 4 and all(list(t.x) == ["proxy", "medium"] for t in lines)
    assert "Kendall tau 0.67 (n=4)" in fig.layout.title.text


def test_no_rungs_no_table():
    df = _frame().drop(columns=["miou@medium"])
    assert rung_table(df).empty
    assert rung_agreement(df).empty
