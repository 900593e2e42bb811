"""``benchmarks/early_stop_audit.py``: stopped trials retrained to the end, false stops counted
(a fake learning curve stands in for training)."""

from __future__ import annotations

import optuna
import pandas as pd
import pytest

from benchmarks import early_stop_audit as audit
from nas.search import SearchConfig, create_or_load_study, open_storage, run
from nas.spec import ArchSpec
from tests.search import fakes


def _study(tmp_path, margin: float, params: list[dict]) -> optuna.Study:
    cfg = SearchConfig(n_trials=len(params), jobs=1, study_name="t",
                       studies_dir=tmp_path / "studies", preset="smoke", progress=False,
                       sampler="random", references=(), trainer="tests.search.fakes:curve_train",
                       components=fakes.FAKE["components"], early_stop=True,
                       early_stop_margin=margin)
    study = create_or_load_study(cfg, open_storage(cfg))
    for p in params:
        study.enqueue_trial(p)
    run(cfg)
    return optuna.load_study(study_name="t", storage=cfg.storage_url)


def _audit(study: optuna.Study, out) -> pd.DataFrame:
    stopped = audit.stopped_trials(study)
    audit.retrain(study, audit.pick(stopped, 10, 0, "1/1"), out, train_fn=fakes.curve_train)
    return pd.read_csv(out)


def test_a_true_stop_is_not_counted_false(fake_backend, tmp_path):
    study = _study(tmp_path, 0.3, [{"depth": 2, "base": 8}, {"depth": 2, "base": 16},
                                   {"depth": 2, "base": 64}, {"depth": 3, "base": 8}])
    rows = _audit(study, tmp_path / "audit.csv")
    assert len(rows) == 1
    t = study.trials[int(rows["trial"].iloc[0])]
    assert rows["final_miou"].iloc[0] == pytest.approx(
        fakes.curve_final(ArchSpec.from_json(t.user_attrs["spec"])), abs=1e-4)
    assert rows["stop_epoch"].iloc[0] < fakes.CURVE_EPOCHS
    assert audit.audit_rows(rows) == {"retrained": 1, "false_stops": 0, "false_stop_rate": 0.0,
                                      "on_final_front": 0}


def test_a_false_stop_is_found_and_reruns_resume(fake_backend, tmp_path):
    # margin 0.05: the second depth-2 net is stopped after epoch 1 although it would have
    # beaten the first (tests/search/test_early_stop.py)
    study = _study(tmp_path, 0.05, [{"depth": 2, "base": 8}, {"depth": 2, "base": 16}])
    out = tmp_path / "audit.csv"
    rows = _audit(study, out)
    assert list(rows["trial"]) == [1]
    a = audit.audit_rows(rows)
    assert (a["false_stops"], a["false_stop_rate"], a["on_final_front"]) == (1, 1.0, 1)
    fakes.CALLS.clear()
    assert len(_audit(study, out)) == 1 and not fakes.CALLS  # done trials are not retrained


def test_pick_splits_one_sample_between_parts():
    trials = list(range(20))
    both = audit.pick(trials, 7, 3, "1/2") + audit.pick(trials, 7, 3, "2/2")
    assert sorted(both) == audit.pick(trials, 7, 3, "1/1") and len(set(both)) == 7
    assert audit.pick(trials, 50, 0, "1/1") == trials
