"""Ctrl-C after the exact data-memory planner has run: the search still stops cleanly.

CP-SAT installs its own SIGINT handling on every solve unless told not to; it then swallowed
or killed the process on a terminal's Ctrl-C. These searches use the real space and hardware
check (unetmysmall at 88x88 is proven infeasible by the exact planner, so the planner runs in
the worker before the signal comes) and a slow fake trainer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.search.test_signals import _trials

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path: Path, name: str, jobs: int, trials: int = 30,
           extra: tuple[str, ...] = ()) -> subprocess.Popen:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_search.py"), "--preset", "smoke", "--sampler",
         "random", "--trainer", "tests.search.fakes:slow_fake_train", "--trials", str(trials),
         "--studies-dir", str(tmp_path), "--study-name", name, "--data-dir", str(data),
         "--jobs", str(jobs), "--no-progress", *extra],
        cwd=ROOT, env={**os.environ, "MAXNAS_FAKE_TRAIN_SLEEP": "3"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)  # its own process group, as a terminal's foreground job


def _planner_proved(t: optuna.trial.FrozenTrial) -> bool:
    return "proven (exact planner" in str(t.user_attrs.get("violations", ""))


def _wait_after_planner(tmp_path: Path, name: str, proc: subprocess.Popen) -> None:
    """Until the exact planner has proved unetmysmall infeasible and a trial is training."""
    deadline = time.time() + 240
    while time.time() < deadline:
        ts = _trials(tmp_path, name)
        if any(_planner_proved(t) for t in ts) and any(
                t.state == TrialState.RUNNING and t.user_attrs.get("feasible") for t in ts):
            return
        if proc.poll() is not None:
            raise AssertionError(f"search exited early: {proc.communicate()[0][-3000:]}")
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("timed out waiting for the planner and a trial mid-training")


@pytest.mark.slow  # real space and check: torch and OR-Tools imported per worker
@pytest.mark.parametrize(("jobs", "target", "extra"), [
    (1, "process", ()), (1, "group", ()), (2, "process", ()), (2, "group", ()),
    (2, "group", ("--rungs", "smoke,proxy")),  # promotions retrain the references
])
def test_sigint_after_the_exact_planner_stops_cleanly(tmp_path, jobs, target, extra):
    name = f"int-{target}-{jobs}{'-rungs' if extra else ''}"
    proc = _start(tmp_path, name, jobs, extra=extra)
    _wait_after_planner(tmp_path, name, proc)
    sent_at = time.time() - 1  # file mtimes can be coarse
    if target == "group":  # a terminal's Ctrl-C: every process of the foreground group
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 130, out[-3000:]
    assert "Traceback" not in out and "exited with code" not in out, out[-3000:]
    assert "stopped by SIGINT" in out, out[-3000:]
    after = _trials(tmp_path, name)
    assert not [t for t in after if t.state == TrialState.RUNNING]
    failed = [t for t in after if t.state == TrialState.FAIL]
    assert failed and all("interrupted by SIGINT" in t.user_attrs["fail_reason"]
                          for t in failed)
    for report in ("trials.csv", "pareto.csv", "report.html"):  # written after the signal
        assert (tmp_path / name / report).stat().st_mtime >= sent_at, report


@pytest.mark.slow
@pytest.mark.parametrize(("jobs", "target"), [(1, "group"), (2, "group"), (2, "process"),
                                               (1, "started-ignoring")])
def test_sigint_to_finalize_after_the_exact_planner_keeps_rows_exits_130(tmp_path, jobs,
                                                                          target):
    """finalize checks every finalist on the chip (the planner proves unetmysmall infeasible)
    after training it; a terminal's Ctrl-C then stops it with the finished rows kept. Also
    when it started with SIGINT ignored, as a shell starts a job with ``&``."""
    from tests.finalize import fakes as ffakes

    name = f"fin{jobs}{target}"
    search = _start(tmp_path, name, 1, trials=4)  # the four references only
    out, _ = search.communicate(timeout=240)
    assert search.returncode == 0, out[-3000:]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nas", "finalize", "--study", name, "--studies-dir",
         str(tmp_path), "--data-dir", str(tmp_path / "data"), "--k", "0", "--seeds", "3",
         "--jobs", str(jobs), "--preset", "smoke", "--trainer", ffakes.TRAINER,
         "--tester", ffakes.TESTER],
        cwd=ROOT, env={**os.environ, "MAXNAS_FAKE_TRAIN_SLEEP": "20" if target == "process"
                       else "2"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        if target == "started-ignoring" else None)
    csv = tmp_path / name / "finalists.csv"
    deadline = time.time() + 180
    while time.time() < deadline and not (
            csv.is_file() and "unetmysmall," in csv.read_text()):  # checked by the planner
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        time.sleep(0.2)
    time.sleep(0.5)  # into the next training
    assert proc.poll() is None, f"ended before the signal: {proc.communicate()[0][-3000:]}"
    if target in ("group", "started-ignoring"):
        os.killpg(proc.pid, signal.SIGINT)
    else:  # the workers do not get it; their 20 s trainings must not delay the stop
        proc.send_signal(signal.SIGINT)
    sent = time.time()
    try:
        out, _ = proc.communicate(timeout=15 if target == "process" else 120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 130, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert "rerun the same command to resume" in out, out[-3000:]
    rows = csv.read_text().splitlines()[1:]
    assert 1 <= len(rows) < 12  # kept, not finished
    for _ in range(50):  # the resource tracker exits a moment after the main process
        left = subprocess.run(["pgrep", "-a", "-g", str(proc.pid)], capture_output=True,
                              text=True).stdout.strip()
        if not left:
            break
        time.sleep(0.2)
    assert not left, f"left {time.time() - sent:.0f} s after the signal: {left}"
