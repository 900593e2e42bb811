"""Searched finalists against the references, seed by seed (nas.finalize._compare)."""

import pandas as pd
import pytest

from nas.finalize._compare import comparison_frame, comparison_markdown


def _rows(name, role, bytes_, tests, fits=True):
    return [{"name": name, "role": role, "seed": s, "test_miou": t, "weight_bytes": bytes_,
             "fits": fits} for s, t in enumerate(tests)]


def _frame():
    return pd.DataFrame(
        _rows("small", "reference", 100_000, [0.70, 0.71, 0.72])
        + _rows("small-w4", "reference", 52_000, [0.69, 0.70, 0.71])
        + _rows("trial1", "knee", 24_000, [0.75, 0.74, 0.77])  # clearly better, 1/4 bytes
        + _rows("trial2", "budget", 50_000, [0.71, 0.70, 0.74])  # within its spread
        + _rows("trial3", "knee", 20_000, [0.90, 0.90, 0.90], fits=False))  # does not fit


def test_best_fitting_finalist_per_budget_and_its_paired_differences():
    t = comparison_frame(_frame()).set_index(["reference", "budget"])
    quarter = t.loc[("small", 0.25)]
    assert quarter["finalist"] == "trial1"  # trial3 scores more but does not fit
    assert quarter["diffs"] == pytest.approx([0.05, 0.03, 0.05])
    assert quarter["diff_mean"] == pytest.approx(0.04333, abs=1e-4)
    assert quarter["verdict"] == "higher by more than its spread"
    half = t.loc[("small", 0.5)]
    assert half["finalist"] == "trial1"  # the best mean test mIoU within 50,000 B
    w4 = t.loc[("small-w4", 1.0)]
    assert w4["budget_bytes"] == 52_000 and w4["finalist"] == "trial1"
    assert ("small-w4", 0.25) not in t.index  # a -w4 reference is compared at its own bytes


def test_within_spread_lower_and_missing_verdicts():
    rows = pd.DataFrame(
        _rows("big", "reference", 200_000, [0.80, 0.80, 0.80])
        + _rows("trial2", "budget", 90_000, [0.81, 0.78, 0.80])  # mean -0.003, std 0.015
        + _rows("trial4", "knee", 45_000, [0.70, 0.71])  # two seeds only, far lower
        + _rows("trial5", "knee", 60_000, [0.90, 0.90]))  # over a quarter of big's bytes
    t = comparison_frame(rows).set_index(["reference", "budget"])
    assert t.loc[("big", 0.5), "finalist"] == "trial5"
    quarter = t.loc[("big", 0.25)]
    assert quarter["finalist"] == "trial4" and quarter["seeds"] == 2
    assert quarter["verdict"] == "lower by more than its spread"
    none = comparison_frame(pd.DataFrame(_rows("big", "reference", 200_000, [0.8])))
    assert set(none["verdict"]) == {"no searched finalist that fits within it"}
    assert comparison_markdown(none) == ""  # the references alone: no table
    md = comparison_markdown(comparison_frame(rows))
    assert "| big (0.800) | 1/4: 50,000 B | trial4 (45,000 B) | 0.705 | -0.100 / -0.090 |" in md
    assert "1/2: 100,000 B | trial5 (60,000 B)" in md
    spread = comparison_frame(pd.DataFrame(
        _rows("big", "reference", 200_000, [0.80, 0.80, 0.80])
        + _rows("trial2", "budget", 90_000, [0.81, 0.78, 0.80])))  # mean -0.003, std 0.015
    assert spread.set_index("budget").loc[0.5, "verdict"] == "within its spread"


def test_goal_lines_name_the_smallest_fitting_finalist_per_budget():
    """One line per 8-bit reference and budget (1/4, 1/2 of its bytes), from the mean test
    mIoU over seeds; a finalist that does not fit the chip never counts; -w4 references are
    left to the table."""
    from nas.finalize._outputs import goal_lines, summary_frame

    rows = pd.DataFrame(
        _rows("big", "reference", 200_000, [0.80, 0.80])
        + _rows("big-w4", "reference", 100_000, [0.79, 0.79])
        + _rows("trial1", "knee", 90_000, [0.81, 0.81])  # within 1/2 of big, not 1/4
        + _rows("trial2", "knee", 60_000, [0.79, 0.80])  # mean 0.795: below big
        + _rows("trial3", "knee", 40_000, [0.95, 0.95], fits=False))  # 1/4, but no fit
    rows["bias_bytes"], rows["latency_cycles"], rows["val_miou"] = 0, 0, 0.8
    lines = goal_lines(summary_frame(rows))
    assert lines == [
        "no searched finalist reaches big's test mIoU 0.800 at <= 1/4 of its 200,000 weight "
        "bytes (50,000)",
        "trial1 reaches big's test mIoU 0.800 (0.810) at 90,000 weight bytes, <= 1/2 of its "
        "200,000 (45%)"]
    refs_only = rows[rows["name"].str.startswith("big")]
    assert goal_lines(summary_frame(refs_only)) == []  # nothing searched: no goal lines
