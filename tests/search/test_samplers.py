"""Every sampler offered runs a study end to end, past its start-up (fake trainer)."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from nas.search import DEFAULT_REFERENCES, SearchConfig, run
from nas.search._config import SAMPLERS
from nas.search._study import make_sampler
from tests.search import fakes

# trials each sampler needs before its model is used: TPE and GP start with 10 random
# trials, NSGA-II and NSGA-III breed their second generation after a population of 50
PAST_STARTUP = {"tpe": 13, "gp": 13, "random": 4, "nsga2": 53, "nsga3": 53}


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_each_sampler_runs_a_study_past_its_startup(fake_backend, tmp_path, sampler):
    # no references: the fake space cannot express them, and a trial without parameters
    # empties the intersection search space GP models (it would sample at random, never
    # needing scipy: a missing dependency would go unnoticed)
    cfg = SearchConfig(n_trials=PAST_STARTUP[sampler], study_name=f"s-{sampler}",
                       studies_dir=tmp_path / "studies", preset="smoke", progress=False,
                       sampler=sampler, jobs=1, heartbeat_interval=1, references=(),
                       **fakes.FAKE)
    result = run(cfg)
    assert not result.worker_errors
    study = optuna.load_study(study_name=cfg.study_name, storage=cfg.storage_url)
    trials = study.get_trials()
    assert [t.state for t in trials].count(TrialState.COMPLETE) == cfg.n_trials
    assert not [t for t in trials if t.state == TrialState.FAIL]


# on the real space + hardware model the default (TPE) runs in every test run (~15 s on an idle
# core); the others in the slow run: random adds nothing a sampler could break, NSGA-II needs
# 53 checks, GP minutes per proposal (~80 parameters)
REAL_SPACE = ["tpe", pytest.param("random", marks=pytest.mark.slow),
              pytest.param("nsga2", marks=pytest.mark.slow),
              pytest.param("nsga3", marks=pytest.mark.slow),
              pytest.param("gp", marks=pytest.mark.slow)]


@pytest.mark.parametrize("sampler", REAL_SPACE)
def test_each_sampler_runs_a_real_space_study_past_its_startup(fake_backend, tmp_path,
                                                               monkeypatch, sampler):
    """The study run_search.py runs (unet_max78000, the real hardware check, the references
    enqueued), only the trainer faked: every trial completes, none fails."""
    monkeypatch.setenv("NAS_PLAN_EXACT_MS", "0")  # greedy planner only: seconds, not minutes
    n = max(PAST_STARTUP[sampler], len(DEFAULT_REFERENCES) + 3)  # the references come first
    cfg = SearchConfig(n_trials=n, study_name=f"r-{sampler}",
                       studies_dir=tmp_path / "studies", preset="smoke", progress=False,
                       sampler=sampler, jobs=1, trainer=fakes.FAKE["trainer"])
    result = run(cfg)
    assert not result.worker_errors
    trials = optuna.load_study(study_name=cfg.study_name, storage=cfg.storage_url).get_trials()
    assert [t.state for t in trials].count(TrialState.COMPLETE) == cfg.n_trials
    assert not [t for t in trials if t.state == TrialState.FAIL]
    sampled = [t for t in trials if not t.user_attrs.get("reference")]
    assert len({t.user_attrs["spec"] for t in sampled}) > len(sampled) // 2  # it explores
    assert any(t.user_attrs.get("feasible") for t in sampled)


@pytest.mark.parametrize("name", ["tpe", pytest.param("gp", marks=pytest.mark.slow)])
def test_model_samplers_learn_from_the_real_space(name):
    """TPE (grouped) and GP propose from the fixed-length encoding after their start-up (GP
    takes minutes per trial on a small CPU: ~80 parameters, categoricals one-hot)."""
    from search_spaces import get_space

    space = get_space("unet_max78000").with_weight_bits((8, 4))
    sampler = make_sampler(SearchConfig(sampler=name), seed=0)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    for _ in range(12):
        trial = study.ask()
        spec = space(trial)
        trial.set_constraint("hardware", float(spec.depth == 4) - 0.5)
        study.tell(trial, (spec.depth / 4, float(spec.layer_weight_bytes())))
    names = [set(t.params) for t in study.trials]
    core = set.intersection(*names)
    # all but the conditional _per_pass/_unfit flags are in every trial
    assert all(k.endswith(("_per_pass", "_unfit")) for n in names for k in n - core)
    assert len(core) > 50
