"""The status line fits 80 columns; one line per event; a steady ETA."""

from __future__ import annotations

import datetime
import io

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from nas.search._progress import (
    Progress,
    eta_seconds,
    event_line,
    format_duration,
    status_line,
)

BIG = {"complete": 12345, "feasible": 12000, "front": 321, "running": 64, "failed": 999,
       "trial_s": 3600.0 * 7}


@pytest.mark.parametrize("stats", [{}, BIG, {**BIG, "trial_s": 0.0}])
@pytest.mark.parametrize("detail", ["", "trial 12345 ep 100 mIoU 0.123", "x" * 200])
@pytest.mark.parametrize("width", [40, 79, 80, 200])
def test_status_line_never_exceeds_the_width(stats, detail, width):
    line = status_line(stats, 20000, 4, detail, width)
    assert len(line) <= width
    assert line.startswith(f"{min(stats.get('complete', 0), 20000)}/20000")


def test_status_line_keeps_the_running_trial_at_80_columns():
    stats = {"complete": 57, "feasible": 50, "front": 9, "running": 1, "failed": 0,
             "trial_s": 26.0}
    line = status_line(stats, 200, 1, "trial 58 ep 3 mIoU 0.612", 80)
    assert "trial 58 ep 3" in line and "eta" in line and len(line) <= 80


def test_eta_from_stored_durations_not_from_this_process():
    stats = {"complete": 100, "trial_s": 30.0}
    assert eta_seconds(stats, 200, 1) == pytest.approx(3000.0)
    assert eta_seconds(stats, 200, 2) == pytest.approx(1500.0)  # workers share the rest
    assert eta_seconds({"complete": 0, "trial_s": 0.0}, 200, 1) is None
    assert [format_duration(s) for s in (45, 720, 16200)] == ["45 s", "12 min", "4:30 h"]


def _trial(number, state, **attrs):
    start = datetime.datetime(2026, 1, 1, 12, 0, 0)
    t = create_trial(state=state, values=[0.61234, 35760.0] if state == TrialState.COMPLETE
                     else None, user_attrs=attrs, params={"x": 1},
                     distributions={"x": IntDistribution(0, 2)})
    t.number, t.datetime_start = number, start
    t.datetime_complete = start + datetime.timedelta(seconds=52)
    return t


def test_event_lines_are_short_and_say_what_happened():
    done = event_line(_trial(7, TrialState.COMPLETE, feasible=True, trained=True,
                             param_bytes=35760, spec="{...}" * 500), 80)
    assert done == "trial 7 done: val mIoU 0.612, 35,760 param B, 52 s"
    bad = event_line(_trial(8, TrialState.COMPLETE, feasible=False, trained=False,
                            param_bytes=900000, violations=["kernel memory " * 20]), 80)
    assert bad.startswith("trial 8 infeasible, not trained: 900,000 param B") and len(bad) <= 80
    fail = event_line(_trial(9, TrialState.FAIL, fail_reason="interrupted by SIGTERM"), 80)
    assert fail == "trial 9 FAILED: interrupted by SIGTERM"
    assert event_line(_trial(10, TrialState.COMPLETE, surplus="x"), 80) is None


def _study(*trials) -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "minimize"])
    for t in trials:
        study.add_trial(t)
    return study


def test_lines_mode_prints_one_line_per_new_event_only():
    study = _study(_trial(0, TrialState.COMPLETE, feasible=True, trained=True, param_bytes=1))
    out = io.StringIO()
    p = Progress(10, mode="lines", stream=out)
    p.refresh(study)  # what was there before is not news
    assert out.getvalue() == ""
    study.add_trial(_trial(1, TrialState.COMPLETE, feasible=True, trained=True, param_bytes=2))
    p.trial_started(2)
    p.epoch(2, 1, {"miou": 0.5})  # epochs are for the status line only
    p.refresh(study)
    p.refresh(study)
    assert out.getvalue().splitlines() == ["trial 2 started",
                                           "trial 1 done: val mIoU 0.612, 2 param B, 52 s"]
    assert "\r" not in out.getvalue()


def test_bar_mode_at_80_columns_every_line_fits():
    study = _study(*[_trial(i, TrialState.COMPLETE, feasible=True, trained=True,
                            param_bytes=10**6 + i, reference="ai85unetlarge" * (i == 0))
                     for i in range(3)])
    out = io.StringIO()
    p = Progress(200, mode="bar", stream=out, width=79)
    p.refresh(study)
    p.trial_started(3)
    p.epoch(3, 17, {"miou": 0.4321})
    p.message("trial 3 FAILED: " + "RuntimeError: something long " * 10)
    p.close()
    for chunk in out.getvalue().replace("\x1b[K", "").replace("\r", "\n").split("\n"):
        assert len(chunk) <= 79, chunk
    assert "trial 3 ep 17" in out.getvalue()


def test_closing_summary_fits_80_columns():
    import pandas as pd

    from nas.report import summary_text

    front = pd.DataFrame({"number": range(30), "reference": ["ai85unetlarge"] + [""] * 29,
                          "miou": [0.5] * 30, "param_bytes": [442_367] * 30,
                          "latency_ms": [123.4] * 30, "arch": ["depth 4, " * 30] * 30})
    counts = {"complete": 12000, "feasible": 11000, "infeasible": 998, "references": 2,
              "failed": 1234, "running": 64}
    text = summary_text(front, {}, counts, front.iloc[3:5])
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "442,367" in text and "knee" in text and "(18 more in pareto.csv)" in text


def test_promotions_are_announced_when_they_start_and_when_they_finish():
    """A promotion trains for minutes: its start is a line, named by the search trial."""
    rung = optuna.create_study(study_name="s@medium", directions=["maximize", "minimize"])
    before = rung.ask()  # running before this process looked: not news
    before.set_user_attr("worker", "h:1")
    out = io.StringIO()
    p = Progress(10, mode="lines", stream=out)
    p.refresh_rungs([rung])
    assert out.getvalue() == ""
    t = rung.ask()
    for k, v in {"worker": "h:2", "origin_trial": 29, "rung": "medium", "trained": True,
                 "feasible": True, "param_bytes": 35760}.items():
        t.set_user_attr(k, v)
    ref = rung.ask()
    for k, v in {"worker": "h:3", "origin_trial": 0, "rung": "medium",
                 "reference": "ai85unetlarge"}.items():
        ref.set_user_attr(k, v)
    waiting = rung.ask()  # no worker has it yet: not announced
    p.refresh_rungs([rung])
    p.refresh_rungs([rung])
    rung.tell(t, [0.8, 35760.0])
    p.refresh_rungs([rung])
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["trial 29 at medium started", "trial 0 at medium (ai85unetlarge) started"]
    assert lines[2].startswith("trial 29 at medium done: val mIoU 0.800, 35,760 param B")
    assert len(lines) == 3 and waiting.number not in (29, 0)
    bar = Progress(10, mode="bar", stream=io.StringIO(), width=80)
    bar.refresh_rungs([rung])
    ref2 = rung.ask()
    ref2.set_user_attr("worker", "h:4")
    bar.refresh_rungs([rung])
    assert bar.detail == f"trial {ref2.number} started"  # the status line names it
