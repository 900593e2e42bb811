"""What early stop did, summarised from a trials frame."""

from __future__ import annotations

import pandas as pd
import pytest

from nas.report import early_stop_summary, early_stop_table


def _frame(rows: list[dict]) -> pd.DataFrame:
    base = {"state": "COMPLETE", "trained": True, "early_stopped": False,
            "epochs": 10, "preset_epochs": 10, "train_seconds": 100.0}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_counts_stopped_trials_and_the_epochs_they_did_not_run():
    df = _frame([
        {},  # ran its 10 epochs
        {"early_stopped": True, "epochs": 2, "train_seconds": 30.0},  # 15 s/epoch, 8 left
        {"early_stopped": True, "epochs": 4, "train_seconds": 40.0},  # 10 s/epoch, 6 left
        {"trained": False, "epochs": None, "train_seconds": None},  # infeasible: not counted
        {"state": "FAIL", "early_stopped": True, "epochs": 1},  # failed: not counted
        {"preset_epochs": None},  # a reference (never stops): not counted
    ])
    s = early_stop_summary(df)
    assert (s.trials, s.stopped) == (3, 2)
    assert (s.epochs_run, s.epochs_planned) == (16, 30)
    assert s.epochs_saved_share == pytest.approx(14 / 30)
    assert s.seconds_run == pytest.approx(170.0)
    assert s.seconds_saved == pytest.approx(8 * 15 + 6 * 10)
    assert s.seconds_saved_share == pytest.approx(180 / 350)
    assert s.line() == "early stop: 2 of 3 trained trials stopped, 47% of epochs saved"
    assert len(s.line()) <= 80
    table = early_stop_table(s)
    assert table.iloc[0]["stopped"] == 2 and table.iloc[0]["epochs saved"] == "46.7%"


def test_none_without_early_stop():
    assert early_stop_summary(_frame([{"preset_epochs": None}])) is None
    assert early_stop_summary(_frame([{}]).drop(columns="preset_epochs")) is None
    s = early_stop_summary(_frame([{}, {}]))  # on, but it stopped nothing
    assert s.stopped == 0 and s.epochs_saved_share == 0 and s.seconds_saved == 0
