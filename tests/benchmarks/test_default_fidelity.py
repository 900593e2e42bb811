"""benchmarks/default_fidelity.py: the default search's front against full-recipe rows."""

import json

import pandas as pd
import pytest

from benchmarks.default_fidelity import fidelity_frame, fidelity_tau
from benchmarks.loss_ranking import full_miou


def _spec(width: int, name: str = "x") -> str:
    return json.dumps({"name": name, "encoder": [{"out": width, "bits": 8}]})


def _trials() -> pd.DataFrame:
    rows = [  # number, reference, miou, bytes
        (0, "big-ref", 0.80, 9000), (1, "small-ref", 0.60, 5000),
        (2, "", 0.55, 1000), (3, "", 0.65, 2000), (4, "", 0.50, 3000),  # 4: dominated
        (5, "", 0.70, 4000)]
    return pd.DataFrame([{"number": n, "reference": r, "state": "COMPLETE", "feasible": True,
                          "trained": True, "early_stopped": False, "miou": m,
                          "param_bytes": b, "spec": _spec(n)} for n, r, m, b in rows])


def _full(tmp_path, truth: dict[int, list[float]]):
    path = tmp_path / "finalists.csv"
    pd.DataFrame([{"name": f"t{n}", "seed": s, "preset": "full", "val_miou": v,
                   "spec": _spec(n, name=f"t{n}")}  # named as finalize names it
                  for n, vals in truth.items() for s, v in enumerate(vals)]).to_csv(path)
    return full_miou([path])


def test_front_nets_and_every_reference_get_their_full_mean(tmp_path):
    full = _full(tmp_path, {0: [0.84, 0.86], 1: [0.70], 3: [0.70, 0.72], 5: [0.78]})
    df = fidelity_frame(_trials(), full)
    assert df["name"].tolist() == ["trial2", "trial3", "trial5", "small-ref", "big-ref"]
    assert not df.set_index("name").loc["small-ref", "on_front"]  # dominated, kept as a ref
    row = df.set_index("name").loc["big-ref"]
    assert row["full_miou"] == pytest.approx(0.85) and row["full_seeds"] == 2
    assert pd.isna(df.set_index("name").loc["trial2", "full_miou"])
    tau, n = fidelity_tau(df)
    assert n == 4 and tau == pytest.approx(1.0)  # big-ref > trial5 > trial3 > small-ref, both


def test_a_front_that_ranks_against_the_truth_scores_below_one(tmp_path):
    # the proxy puts trial5 above small-ref, the full recipe below it
    full = _full(tmp_path, {0: [0.85], 1: [0.80], 3: [0.70], 5: [0.75]})
    tau, n = fidelity_tau(fidelity_frame(_trials(), full))
    assert n == 4 and tau < 1.0


def test_first_restricts_the_front_to_the_early_trials():
    empty = pd.DataFrame(columns=["spec", "full_miou", "full_seeds"])
    df = fidelity_frame(_trials(), empty, first=5)
    assert df["name"].tolist() == ["trial2", "trial3", "small-ref", "big-ref"]
    assert "trial4" not in set(df["name"])  # dominated by trial3 in any case
    assert df["full_miou"].isna().all() and fidelity_tau(df)[1] == 0


def test_a_row_taken_over_by_another_study_counts_once(tmp_path):
    """finalize --rows-from copies a reference's rows into the search's finalists.csv: the
    same (net, seed) read from both files is one seed, not two."""
    first = tmp_path / "a.csv"
    second = tmp_path / "b.csv"
    rows = pd.DataFrame([{"name": "big-ref", "seed": s, "preset": "full", "val_miou": v,
                          "spec": _spec(0, name="big-ref")} for s, v in ((0, 0.84), (1, 0.86))])
    rows.to_csv(first)
    pd.concat([rows, rows.assign(seed=2, val_miou=0.88).iloc[:1]]).to_csv(second)
    full = full_miou([first, second]).set_index("spec").iloc[0]
    assert full["full_seeds"] == 3 and full["full_miou"] == pytest.approx(0.86)


def test_a_rung_column_reads_the_front_of_the_promoted_nets_only():
    """--rung medium: the front among the trials with a medium value; a reference not trained
    at that rung is left out rather than ranked with no value."""
    trials = _trials()
    trials["miou@medium"] = [0.83, None, None, 0.75, None, 0.74]  # 3 and 5 promoted
    empty = pd.DataFrame(columns=["spec", "full_miou", "full_seeds"])
    df = fidelity_frame(trials, empty, column="miou@medium")
    assert df["name"].tolist() == ["trial3", "big-ref"]  # 5: dominated by 3 at medium
    assert df["search_miou"].tolist() == [0.75, 0.83]
