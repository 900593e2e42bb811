"""SIGTERM / SIGINT stop a real search subprocess cleanly (fake trainer, real processes).

What `timeout`, a batch scheduler or systemd does: SIGTERM to the search process only.
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

from tests.search import fakes

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path: Path, name: str, *extra: str) -> subprocess.Popen:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_search.py"), "--preset", "smoke", "--sampler",
         "random", *fakes.FAKE_ARGS, "--trainer", "tests.search.fakes:slow_fake_train",
         "--trials", "20", "--studies-dir", str(tmp_path), "--study-name", name,
         "--data-dir", str(data), *extra],
        cwd=ROOT, env={**os.environ, "MAXNAS_FAKE_TRAIN_SLEEP": "4"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _trials(tmp_path: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=name,
                                 storage=f"sqlite:///{tmp_path}/{name}.db").get_trials()
    except Exception:  # not created yet
        return []


def _wait_mid_training(tmp_path: Path, name: str, proc: subprocess.Popen) -> None:
    deadline = time.time() + 180
    while time.time() < deadline:
        ts = _trials(tmp_path, name)
        if sum(t.state == TrialState.COMPLETE for t in ts) >= 1 and any(
                t.state == TrialState.RUNNING and t.user_attrs.get("feasible") for t in ts):
            return
        if proc.poll() is not None:
            raise AssertionError(f"search exited early: {proc.communicate()[0][-3000:]}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("timed out waiting for a trial mid-training")


def _check_stopped_cleanly(tmp_path: Path, name: str, proc: subprocess.Popen,
                           signum: int, sent_at: float) -> None:
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, out[-3000:]
    assert "Traceback" not in out and "failed with parameters" not in out, out[-3000:]
    sig = signal.Signals(signum).name
    assert f"stopped by {sig}" in out, out[-3000:]
    after = _trials(tmp_path, name)
    assert not [t for t in after if t.state == TrialState.RUNNING]
    failed = [t for t in after if t.state == TrialState.FAIL]
    assert failed and all("interrupted" in t.user_attrs["fail_reason"] for t in failed)
    assert any(sig in t.user_attrs["fail_reason"] for t in failed)
    assert sum(t.state == TrialState.COMPLETE for t in after) >= 1
    for report in ("trials.csv", "pareto.csv", "report.html"):  # written after the signal
        assert (tmp_path / name / report).stat().st_mtime >= sent_at, report


def test_sigterm_single_worker_marks_trial_writes_reports_exits_143(tmp_path):
    proc = _start(tmp_path, "term1", "--jobs", "1")
    _wait_mid_training(tmp_path, "term1", proc)
    sent_at = time.time() - 1  # file mtimes can be coarse
    proc.send_signal(signal.SIGTERM)  # to the search process only, as `timeout` does
    _check_stopped_cleanly(tmp_path, "term1", proc, signal.SIGTERM, sent_at)


@pytest.mark.slow  # two spawned workers each import torch: ~30-60 s on 2 shared cores
def test_sigterm_two_workers_marks_trials_writes_reports_exits_143(tmp_path):
    proc = _start(tmp_path, "term2", "--jobs", "2")
    _wait_mid_training(tmp_path, "term2", proc)
    sent_at = time.time() - 1
    proc.send_signal(signal.SIGTERM)  # the workers do not get it: the main process passes it on
    _check_stopped_cleanly(tmp_path, "term2", proc, signal.SIGTERM, sent_at)


@pytest.mark.slow
def test_sigint_to_main_process_only_single_worker_exits_130(tmp_path):
    proc = _start(tmp_path, "int1", "--jobs", "1")
    _wait_mid_training(tmp_path, "int1", proc)
    sent_at = time.time() - 1
    proc.send_signal(signal.SIGINT)
    _check_stopped_cleanly(tmp_path, "int1", proc, signal.SIGINT, sent_at)


@pytest.mark.slow  # two spawned workers each import torch: ~30-60 s on 2 shared cores
def test_sigint_to_main_process_only_two_workers_names_sigint(tmp_path):
    """A SIGINT sent to the search process alone (not the terminal's process group) is passed
    on to the workers as SIGINT, so every interrupted trial's reason names it."""
    proc = _start(tmp_path, "int2", "--jobs", "2")
    _wait_mid_training(tmp_path, "int2", proc)
    sent_at = time.time() - 1
    proc.send_signal(signal.SIGINT)
    _check_stopped_cleanly(tmp_path, "int2", proc, signal.SIGINT, sent_at)
