"""Several workers on one SQLite study; a worker killed mid-trial; fake backend, real processes."""

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

from nas.search import DEFAULT_REFERENCES
from tests.search import fakes

ROOT = Path(__file__).resolve().parents[2]


def _run_search(args: list[str], env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_search.py"), "--no-progress", "--preset", "smoke",
         "--sampler", "random", *fakes.FAKE_ARGS, *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, **kw)


@pytest.mark.slow  # 4 spawned workers each import torch: ~30-60 s on 2 shared cores
def test_four_workers_forty_trials_exactly(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    # 6 s per fake training keeps the queue busy well past the slowest worker's start-up
    # (importing torch took > 20 s for one of 4 workers on a loaded 2-core machine, and with
    # 2 s trials the other three had finished all 40 by then)
    proc = _run_search(["--trials", "40", "--jobs", "4", "--studies-dir", str(tmp_path),
                        "--study-name", "par", "--data-dir", str(data)],
                       env={"MAXNAS_FAKE_TRAIN_SLEEP": "6"})
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    assert "locked" not in out.lower(), out[-3000:]
    study = optuna.load_study(study_name="par", storage=f"sqlite:///{tmp_path}/par.db")
    trials = study.get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 40
    assert not [t for t in trials if t.state in (TrialState.FAIL, TrialState.RUNNING)]
    assert len({t.user_attrs["worker"] for t in complete}) == 4  # all four contributed
    refs = sorted(t.user_attrs["reference"] for t in complete if "reference" in t.user_attrs)
    assert refs == sorted(DEFAULT_REFERENCES)


def _wait_for(pred, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_trial_is_failed_retried_and_nothing_lost(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    args = ["--trials", "6", "--jobs", "1", "--studies-dir", str(tmp_path), "--study-name", "kill",
            "--data-dir", str(data), "--heartbeat-interval", "1", "--grace-period", "3",
            "--trainer", "tests.search.fakes:slow_fake_train"]
    storage = f"sqlite:///{tmp_path}/kill.db"
    env = {"MAXNAS_FAKE_TRAIN_SLEEP": "1.5"}
    proc = _run_search(args, env=env, start_new_session=True)

    def states() -> list[optuna.trial.FrozenTrial]:
        try:
            return optuna.load_study(study_name="kill", storage=storage).get_trials()
        except Exception:  # not created yet
            return []

    # kill -9 once two trials are complete and a trained one is running
    _wait_for(lambda: sum(t.state == TrialState.COMPLETE for t in states()) >= 2
              and any(t.state == TrialState.RUNNING and "spec" in t.user_attrs
                      and t.user_attrs.get("feasible") for t in states()),
              120, "a trial mid-training")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    before = {t.number: t for t in states() if t.state == TrialState.COMPLETE}
    (killed,) = [t for t in states() if t.state == TrialState.RUNNING]

    proc = _run_search(args, env=env)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    assert "constraint value is ignored" not in out, out[-3000:]  # the retry sets its own
    after = {t.number: t for t in states()}
    assert sum(t.state == TrialState.COMPLETE for t in after.values()) == 6
    assert after[killed.number].state == TrialState.FAIL  # failed by the heartbeat check
    retries = [t for t in after.values() if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == killed.params
    for number, t in before.items():  # everything completed before the kill is kept
        assert after[number].values == t.values
        aid = after[number].user_attrs.get("checkpoint_artifact_id")
        if after[number].user_attrs.get("trained"):
            assert (tmp_path / "kill" / "artifacts" / aid).is_file()


@pytest.mark.slow  # a real SIGINT to a subprocess; test_run_fake covers the in-process path
def test_ctrl_c_marks_running_trial_and_exits_cleanly(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    storage = f"sqlite:///{tmp_path}/int.db"
    proc = _run_search(["--trials", "20", "--jobs", "1", "--studies-dir", str(tmp_path),
                        "--study-name", "int",
                        "--data-dir", str(data), "--trainer",
                        "tests.search.fakes:slow_fake_train"],
                       env={"MAXNAS_FAKE_TRAIN_SLEEP": "3"}, start_new_session=True)

    def trials():
        try:
            return optuna.load_study(study_name="int", storage=storage).get_trials()
        except Exception:
            return []

    _wait_for(lambda: sum(t.state == TrialState.COMPLETE for t in trials()) >= 1
              and any(t.state == TrialState.RUNNING and t.user_attrs.get("feasible")
                      for t in trials()), 120, "a trial mid-training")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out[-3000:]
    assert "interrupted" in out
    after = trials()
    assert not [t for t in after if t.state == TrialState.RUNNING]
    (failed,) = [t for t in after if t.state == TrialState.FAIL]
    assert "interrupted" in failed.user_attrs["fail_reason"]
    assert (tmp_path / "int" / "trials.csv").exists()
    assert sum(t.state == TrialState.COMPLETE for t in after) >= 1
