"""End-to-end search runs with the fake backend (fast, in-process)."""

from __future__ import annotations

import os

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from nas.search import DEFAULT_REFERENCES, SearchConfig, run, summary
from tests.search import fakes


def _cfg(tmp_path, **kw) -> SearchConfig:
    base = dict(n_trials=6, jobs=1, study_name="t", studies_dir=tmp_path / "studies",
                preset="smoke", progress=False, sampler="random", heartbeat_interval=1,
                **fakes.FAKE)
    base.update(kw)
    return SearchConfig(**base)


def _study(cfg: SearchConfig) -> optuna.Study:
    return optuna.load_study(study_name=cfg.study_name, storage=cfg.storage_url)


def test_end_to_end_writes_reports_with_references(fake_backend, tmp_path):
    cfg = _cfg(tmp_path)
    result = run(cfg)
    study = _study(cfg)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 6
    refs = {t.user_attrs.get("reference") for t in complete[:4]}
    assert refs == set(DEFAULT_REFERENCES)  # enqueued first
    out = cfg.study_dir
    trials = pd.read_csv(out / "trials.csv")
    assert set(trials["reference"].dropna()) == set(DEFAULT_REFERENCES)
    assert len(trials) == 6
    pareto = pd.read_csv(out / "pareto.csv")
    assert len(pareto) == len(result.front) >= 1
    html = (out / "report.html").read_text()
    assert "ai85unetlarge" in html and "unetmysmall" in html and "Pareto front" in html
    # the front's quality in the sampler-comparison metrics, on the page and closing screen
    assert "hypervolume, log10 bytes, ref. mIoU 0.6 (headline)" in html
    assert result.quality is not None and result.quality.ref_bytes == 442_368
    assert "\n".join(result.quality.lines()) in summary(result)
    # every trained trial has its checkpoint in the artifact store
    trained = trials[trials["trained"] == True]  # noqa: E712
    assert (trained["checkpoint"] == "ok").all() and len(trained) >= 2
    # the dashboard's figures were stored in the study
    attrs = study._storage.get_study_system_attrs(study._study_id)
    assert any(k.startswith("dashboard:plot_data:maxnas-front") for k in attrs)


def test_infeasible_spec_is_never_trained(fake_backend, tmp_path):
    cfg = _cfg(tmp_path, n_trials=1, references=())
    storage_cfg = cfg
    from nas.search._storage import open_storage
    from nas.search._study import create_or_load_study

    study = create_or_load_study(storage_cfg, open_storage(storage_cfg))
    study.enqueue_trial({"depth": 3, "base": 256})  # 256-512-512: far over the chip
    run(cfg)
    (t,) = _study(cfg).get_trials()
    assert fake_backend.CALLS == []  # the trainer was not called
    assert t.state == TrialState.COMPLETE
    assert t.user_attrs["feasible"] is False and t.user_attrs["trained"] is False
    assert t.user_attrs["violations"] and "weights" in t.user_attrs["violations"][0]
    assert t.constraints["hardware"] > 0  # Optuna 5 named constraint
    assert t.system_attrs["constraints"][0] > 0  # the list optuna-dashboard reads
    assert t.values[0] == 0.0 and t.values[1] == t.user_attrs["param_bytes"]
    assert _study(cfg).best_trials == []  # not on the feasible front


def test_user_budget_is_a_constraint(fake_backend, tmp_path):
    cfg = _cfg(tmp_path, n_trials=2, max_weight_bytes=150_000)
    run(cfg)
    by_ref = {t.user_attrs["reference"]: t for t in _study(cfg).get_trials()}
    assert by_ref["ai85unetlarge"].user_attrs["feasible"] is False  # 279 kB > budget
    assert by_ref["unetmysmall"].user_attrs["feasible"] is True
    # references are trained even when they break a constraint (they are the yardstick) ...
    assert "ai85unetlarge" in fake_backend.CALLS and "unetmysmall" in fake_backend.CALLS
    large = by_ref["ai85unetlarge"]
    assert large.user_attrs["trained"] is True and large.values[0] > 0
    assert large.constraints["weight_budget"] > 0
    # ... but stay off the feasible front, and the report says they do not fit
    assert large.number not in {t.number for t in _study(cfg).best_trials}
    assert "ai85unetlarge (does not fit)" in (cfg.study_dir / "report.html").read_text()


def test_rerun_runs_only_missing_trials(fake_backend, tmp_path):
    cfg = _cfg(tmp_path, n_trials=4)
    run(cfg)
    first = {t.number: t.values for t in _study(cfg).get_trials()}
    fake_backend.CALLS.clear()
    run(cfg)  # nothing missing
    assert fake_backend.CALLS == [] and len(_study(cfg).get_trials()) == 4
    run(cfg.replace(n_trials=7))
    trials = _study(cfg).get_trials()
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 7
    assert {t.number: t.values for t in trials if t.number in first} == first


def test_interrupted_trial_is_marked_and_rerun_completes(fake_backend, tmp_path):
    cfg = _cfg(tmp_path, n_trials=5)
    calls = {"n": 0}

    def interrupting_train(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return fake_backend.fake_train(*args, **kwargs)

    result = run(cfg.replace(trainer=interrupting_train))
    assert result.interrupted
    trials = _study(cfg).get_trials()
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) == 1 and "interrupted" in failed[0].user_attrs["fail_reason"]
    done = {t.number: t.values for t in trials if t.state == TrialState.COMPLETE}
    assert len(done) == 2 and (cfg.study_dir / "trials.csv").exists()

    run(cfg)
    trials = _study(cfg).get_trials()
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 5
    assert {t.number: t.values for t in trials if t.number in done} == done


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "nsga3", "gp"])
def test_samplers_run_with_constraints(fake_backend, tmp_path, sampler):
    cfg = _cfg(tmp_path, n_trials=4, sampler=sampler, references=())
    run(cfg)
    assert len(_study(cfg).get_trials(states=(TrialState.COMPLETE,))) == 4


def test_latency_objective(fake_backend, tmp_path):
    cfg = _cfg(tmp_path, n_trials=3, objectives=("miou", "bytes", "latency"),
               references=("ai85unetlarge", "unetmysmall"))
    run(cfg)
    study = _study(cfg)
    assert len(study.directions) == 3
    assert all(len(t.values) == 3 for t in study.get_trials())
    assert "latency_ms" in pd.read_csv(cfg.study_dir / "pareto.csv").columns


def test_orphaned_running_trial_without_heartbeat_is_failed(tmp_path):
    import datetime
    import sqlite3

    from nas.search._orphans import fail_orphans

    cfg = _cfg(tmp_path, heartbeat_interval=1, grace_period=1)
    cfg.studies_dir.mkdir(parents=True)
    study = optuna.create_study(directions=["maximize", "minimize"], study_name="t",
                                storage=cfg.storage_url)
    for attrs in ({}, {"worker": "h:1"}, {}):  # orphan, started by a worker, too young
        study.add_trial(optuna.trial.create_trial(state=TrialState.RUNNING, user_attrs=attrs))
    old = datetime.datetime.now() - datetime.timedelta(seconds=120)
    with sqlite3.connect(cfg.studies_dir / "t.db") as con:
        con.execute("UPDATE trials SET datetime_start = ? WHERE number < 2", (old,))
    assert fail_orphans(study, cfg) == [0]
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.RUNNING, TrialState.RUNNING]
    assert "orphaned" in trials[0].user_attrs["fail_reason"]


def test_running_trial_of_a_dead_local_worker_without_heartbeat_is_failed(tmp_path):
    """A worker killed before its first heartbeat, after tagging its trial: Optuna's stale check
    never fails it, and a rerun waited for it for ever."""
    import datetime
    import socket
    import sqlite3
    import subprocess

    from nas.search._orphans import fail_orphans
    from nas.search._storage import open_storage

    cfg = _cfg(tmp_path, heartbeat_interval=1, grace_period=1)
    cfg.studies_dir.mkdir(parents=True)
    study = optuna.create_study(directions=["maximize", "minimize"], study_name="t",
                                storage=open_storage(cfg))  # heartbeat and stale-trial retry
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer runs
    host = socket.gethostname()
    for worker in (f"{host}:{gone.pid}", f"{host}:{os.getpid()}", f"elsewhere:{gone.pid}"):
        study.add_trial(optuna.trial.create_trial(state=TrialState.RUNNING,
                                                  user_attrs={"worker": worker}))
    old = datetime.datetime.now() - datetime.timedelta(seconds=10)
    with sqlite3.connect(cfg.studies_dir / "t.db") as con:
        con.execute("UPDATE trials SET datetime_start = ?", (old,))
    assert fail_orphans(study, cfg) == [0]  # not a live worker, not another host's
    trials = study.get_trials()
    assert [t.state for t in trials[:3]] == [TrialState.FAIL, TrialState.RUNNING,
                                             TrialState.RUNNING]
    (retry,) = trials[3:]  # retried as a stale trial is
    assert retry.state == TrialState.WAITING and retry.system_attrs["failed_trial"] == 0


def test_timeout_starts_no_new_trial(fake_backend, tmp_path):
    result = run(_cfg(tmp_path, n_trials=50, timeout=1e-6))
    assert result.counts["COMPLETE"] == 0 and not result.interrupted
    assert (tmp_path / "studies" / "t" / "report.html").exists()


def test_retry_of_a_dead_workers_trial_recomputes_its_constraints(fake_backend, tmp_path):
    import warnings

    from nas.search._storage import RetryStaleTrial

    cfg = _cfg(tmp_path, n_trials=1, references=())
    cfg.studies_dir.mkdir(parents=True)
    study = optuna.create_study(directions=["maximize", "minimize"], study_name="t",
                                storage=cfg.storage_url)
    dead = optuna.trial.create_trial(
        state=TrialState.FAIL, params={"depth": 2, "base": 8},
        distributions={"depth": optuna.distributions.IntDistribution(2, 3),
                       "base": optuna.distributions.CategoricalDistribution([8, 16, 64, 256])},
        system_attrs={"constraints:hardware": 5.0, "constraints": [5.0, 0.0, 0.0]})
    study.add_trial(dead)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        RetryStaleTrial(max_retry=2)(study, study.get_trials()[0])
    (retry,) = study.get_trials(states=(TrialState.WAITING,))
    assert retry.system_attrs["failed_trial"] == 0
    assert not [k for k in retry.system_attrs if k.startswith("constraints")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constraint value is ignored" would fail here
        run(cfg)
    (done,) = _study(cfg).get_trials(states=(TrialState.COMPLETE,))
    assert done.params == {"depth": 2, "base": 8} and done.constraints["hardware"] <= 0


def test_a_priced_trial_records_the_measured_miou_and_the_penalty(fake_backend, tmp_path):
    cfg = _cfg(tmp_path, trainer="tests.search.fakes:priced_fake_train")
    run(cfg)
    for t in _study(cfg).get_trials(states=(TrialState.COMPLETE,)):
        if t.user_attrs.get("trained"):
            assert t.user_attrs["low_bit_penalty"] == 0.1
            assert t.values[0] == pytest.approx(t.user_attrs["measured_miou"] - 0.1)
