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
                            param_bytes=900000, violations=["kernel memory"]), 80)
    assert bad == "trial 8 infeasible, not trained: 900,000 param B, 52 s; kernel memory"
    fail = event_line(_trial(9, TrialState.FAIL, fail_reason="interrupted by SIGTERM"), 80)
    assert fail == "trial 9 FAILED after 52 s: interrupted by SIGTERM"
    stale = event_line(_trial(11, TrialState.FAIL), 200)  # failed by its stale heartbeat
    assert stale.startswith("trial 11 FAILED after 52 s: its worker stopped")
    assert "heartbeat" in stale and "retried" in stale
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
    # the status line names every running promotion, by its search trial where it has one
    assert bar.detail == (f"trial 0 started, trial 0 at medium started, "
                          f"trial {ref2.number} started")


# -- 80 columns without losing the reason or the time ----------------------------------------
VIOLATION = ("data memory: no layout exists: proven (exact planner, 474 ms); greedy planner's "
             "first conflict: layer enc3: no data-memory offset for its output (1,936 B per "
             "instance in instances 8-15)")


@pytest.mark.parametrize("width", [80, 100])
def test_a_long_infeasibility_reason_goes_below_the_line_with_the_time(width):
    text = event_line(_trial(8, TrialState.COMPLETE, feasible=False, trained=False,
                             param_bytes=900000, violations=[VIOLATION, "kernel memory"]),
                      width)
    first, *rest = text.split("\n")
    assert first == "trial 8 infeasible, not trained: 900,000 param B, 52 s"
    assert all(len(line) <= width for line in text.split("\n")), text
    assert rest and all(line.startswith("    ") and line[4] != " " for line in rest)
    # the whole reason is there, in order, with the count of the others
    assert " ".join(line.strip() for line in rest) == VIOLATION + " (+1 more)"


def test_a_huge_failure_reason_keeps_the_time_and_at_most_three_lines():
    reason = "RuntimeError: " + "something long went wrong " * 40
    text = event_line(_trial(9, TrialState.FAIL, fail_reason=reason), 80)
    lines = text.split("\n")
    assert lines[0] == "trial 9 FAILED after 52 s"
    assert len(lines) == 4 and all(len(line) <= 80 for line in lines), text
    assert lines[1].startswith("    RuntimeError: something long went wrong something")
    assert lines[-1].endswith(" …")


def test_a_long_done_line_wraps_and_keeps_its_time():
    t = _trial(0, TrialState.COMPLETE, feasible=False, trained=True, param_bytes=282_220,
               reference="ai85unetlarge-w4", rung="medium", origin_trial=0)
    t.datetime_complete = t.datetime_start + datetime.timedelta(minutes=12)
    text = event_line(t, 80)
    assert text == ("trial 0 at medium (ai85unetlarge-w4) done: val mIoU 0.612, 282,220 "
                    "param B, does\n    not fit, 12 min")


def test_bar_mode_prints_every_line_of_a_wrapped_event_within_the_width():
    study = _study()
    out = io.StringIO()
    p = Progress(10, mode="bar", stream=out, width=80)
    p.refresh(study)
    study.add_trial(_trial(0, TrialState.COMPLETE, feasible=False, trained=False,
                           param_bytes=900000, violations=[VIOLATION]))
    p.refresh(study)
    p.close()
    text = out.getvalue().replace("\x1b[K", "")
    lines = [chunk for chunk in text.replace("\r", "\n").split("\n") if chunk]
    assert "trial 0 infeasible, not trained: 900,000 param B, 52 s" in lines
    assert all(len(line) <= 80 for line in lines), lines
    assert "    data memory: no layout exists" in text


# -- the running trials' epochs with --jobs N ----------------------------------------------------
def _running(study: optuna.Study, epoch: int | None, miou: float | None = None):
    t = study.ask()
    t.set_user_attr("worker", f"host:{t.number}")
    if epoch is not None:
        t.set_user_attr("last_epoch", {"epoch": epoch, "miou": miou})
    return t


def test_status_line_shows_every_running_trials_epoch_read_from_the_storage():
    """With --jobs N the workers train in other processes: this one only sees the storage."""
    study = _study(_trial(0, TrialState.COMPLETE, feasible=True, trained=True, param_bytes=1))
    p = Progress(200, jobs=3, mode="bar", stream=io.StringIO(), width=200)
    p.refresh(study)
    _running(study, 3, 0.41234)
    _running(study, 7)  # not evaluated yet: no mIoU
    _running(study, None)  # its first epoch is still running
    p.refresh(study)
    assert p.line().endswith("| trial 1 ep 3 mIoU 0.412, trial 2 ep 7, trial 3 started")
    narrow = Progress(200, jobs=3, mode="bar", stream=io.StringIO(), width=80)
    narrow.refresh(study)
    line = narrow.line()
    assert len(line) <= 80 and line.endswith("| trials 1 ep 3 0.412, 2 ep 7, 3 started"), line
    assert "eta" in line
    tiny = Progress(200, jobs=3, mode="bar", stream=io.StringIO(), width=70)
    tiny.refresh(study)
    assert tiny.line().endswith("| trials 1 ep 3 0.412 +2 more") and len(tiny.line()) <= 70


def test_a_worker_in_another_process_shows_its_epochs(fake_backend, tmp_path):
    """The objective writes last_epoch every epoch (the latest mIoU kept between
    evaluations), and a Progress that only reads the storage shows it."""
    from nas.search._signals import StopSignals
    from nas.search._workers import _make_objective, work

    study = optuna.create_study(directions=["maximize", "minimize"])
    watcher = Progress(3, jobs=2, mode="bar", stream=io.StringIO(), width=200)
    seen: list[str] = []

    def train(spec, task, preset, data_dir=None, *, callback=None, checkpoint_path=None,
              **kw):
        for epoch in range(1, 5):
            metrics = {"loss": 1.0} | ({"miou": 0.125 * epoch} if epoch % 2 == 0 else {})
            callback(epoch, metrics)
            watcher.refresh(study)
            seen.append(watcher.detail)
        return fakes.fake_train(spec, task, preset, data_dir, checkpoint_path=checkpoint_path)

    from nas.search import SearchConfig
    from tests.search import fakes

    cfg = SearchConfig(n_trials=1, jobs=1, study_name="w", studies_dir=tmp_path / "s",
                       preset="smoke", progress=False, sampler="random", references=(),
                       trainer=train, components=fakes.FAKE["components"])
    study.enqueue_trial({"depth": 2, "base": 8})  # a net that fits, so it trains
    watcher.refresh(study)
    work(cfg, study, _make_objective(cfg, fakes.fake_components(cfg), StopSignals()), None)
    assert seen == ["trial 0 ep 1", "trial 0 ep 2 mIoU 0.250", "trial 0 ep 3 mIoU 0.250",
                    "trial 0 ep 4 mIoU 0.500"]
    watcher.refresh(study)
    assert watcher.detail == ""  # it finished
