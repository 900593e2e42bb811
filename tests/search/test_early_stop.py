"""Early stop of dominated trials: the rule (pure) and the search with a fake learning curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from nas.front import FrontPoint, front_miou_at
from nas.search import SearchConfig, pareto_frame, run, summary
from nas.search._early_stop import cannot_reach_front
from nas.spec import ArchSpec
from tests.search import fakes


def _dominated(miou: float, nbytes: int, points: list[FrontPoint]) -> bool:
    return any(p.param_bytes <= nbytes and p.miou >= miou
               and (p.param_bytes < nbytes or p.miou > miou) for p in points)


def test_never_stops_a_trial_that_could_still_reach_the_front():
    rng = np.random.default_rng(0)
    stopped = kept = 0
    for _ in range(2000):
        points = [FrontPoint(float(m), int(b)) for m, b in
                  zip(rng.uniform(0, 1, 6), rng.integers(1_000, 100_000, 6), strict=True)]
        miou, nbytes = float(rng.uniform(0, 1)), int(rng.integers(1_000, 100_000))
        margin = float(rng.uniform(0, 0.3))
        if cannot_reach_front(miou, nbytes, points, margin):
            stopped += 1
            # whatever it gains up to the margin, it ends dominated
            for final in np.linspace(miou, miou + margin, 7):
                assert _dominated(float(final), nbytes, points)
        else:
            kept += 1
            # kept: with the whole margin gained it would not be strictly below the front
            bar = front_miou_at(points, nbytes)
            assert bar is None or miou + margin >= bar
    assert stopped > 100 and kept > 100  # both branches were exercised


def test_the_rule_on_a_hand_made_front():
    front = [FrontPoint(0.50, 10_000), FrontPoint(0.60, 50_000)]
    assert front_miou_at(front, 9_999) is None  # nothing with fewer bytes: never stopped
    assert not cannot_reach_front(0.0, 9_999, front, 0.0)
    assert cannot_reach_front(0.30, 20_000, front, 0.1)  # 0.40 < 0.50
    assert not cannot_reach_front(0.45, 20_000, front, 0.1)  # 0.55 could beat 0.50
    assert not cannot_reach_front(0.40, 20_000, front, 0.1)  # a tie is kept
    assert cannot_reach_front(0.45, 60_000, front, 0.1)  # 0.55 < 0.60


def _cfg(tmp_path, **kw) -> SearchConfig:
    base = dict(n_trials=4, jobs=1, study_name="t", studies_dir=tmp_path / "studies",
                preset="smoke", progress=False, sampler="random", heartbeat_interval=1,
                references=(), trainer="tests.search.fakes:curve_train",
                components=fakes.FAKE["components"], early_stop=True)
    base.update(kw)
    return SearchConfig(**base)


def _enqueue(cfg: SearchConfig, params: list[dict]) -> None:
    from nas.search._storage import open_storage
    from nas.search._study import create_or_load_study

    study = create_or_load_study(cfg, open_storage(cfg))
    for p in params:
        study.enqueue_trial(p)


def _trials(cfg: SearchConfig) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=cfg.study_name, storage=cfg.storage_url).get_trials()


def test_stops_a_hopeless_trial_and_records_it(fake_backend, tmp_path, monkeypatch):
    from nas.train import PRESETS

    # a preset of the fake curve's length, so the epochs saved are the curve's
    monkeypatch.setitem(PRESETS, "curve", PRESETS["smoke"].replace(
        name="curve", epochs=fakes.CURVE_EPOCHS))
    # 0.3: above what a depth-2 net still gains after epoch 1 (5/12 of ~0.45), below the gap
    # between the depth-3 net (-0.3) and the depth-2 net of fewer bytes
    cfg = _cfg(tmp_path, early_stop_margin=0.3, preset="curve")
    _enqueue(cfg, [{"depth": 2, "base": 8}, {"depth": 2, "base": 16},
                   {"depth": 2, "base": 64}, {"depth": 3, "base": 8}])
    result = run(cfg)
    t = {tr.params["depth"] * 1000 + tr.params["base"]: tr for tr in _trials(cfg)}
    hopeless = t[3008]
    spec = ArchSpec.from_json(hopeless.user_attrs["spec"])
    assert hopeless.state == TrialState.COMPLETE
    assert hopeless.user_attrs["early_stopped"] is True
    assert hopeless.user_attrs["epochs"] < fakes.CURVE_EPOCHS
    stop_epoch = hopeless.user_attrs["epochs"]
    assert hopeless.values[0] == pytest.approx(fakes.curve_miou(spec, stop_epoch))
    assert hopeless.user_attrs["early_stop_front_miou"] > hopeless.values[0] + 0.3
    # the depth-2 nets (each better than all smaller ones) ran to the end
    for key in (2008, 2016, 2064):
        assert t[key].user_attrs["early_stopped"] is False
        assert t[key].user_attrs["epochs"] == fakes.CURVE_EPOCHS
    trials = pd.read_csv(cfg.study_dir / "trials.csv")
    assert trials["early_stopped"].sum() == 1
    from nas.report import read_trials_csv

    assert hopeless.number not in set(pareto_frame(read_trials_csv(
        cfg.study_dir / "trials.csv"))["number"])
    # the closing screen and the report say what it saved
    saved = 1 - (3 * fakes.CURVE_EPOCHS + stop_epoch) / (4 * fakes.CURVE_EPOCHS)
    line = f"early stop: 1 of 4 trained trials stopped, {saved:.0%} of epochs saved"
    assert line in summary(result)
    assert "Early stop (searched trials trained with it)" in (
        cfg.study_dir / "report.html").read_text()


def test_a_small_margin_stops_trials_that_would_have_reached_the_front(fake_backend, tmp_path):
    """Why the margin matters: at 0.05 the depth-2 nets are stopped after epoch 1 although
    each would have ended on the front (a false stop the margin exists to prevent)."""
    cfg = _cfg(tmp_path, n_trials=2, early_stop_margin=0.05)
    _enqueue(cfg, [{"depth": 2, "base": 8}, {"depth": 2, "base": 16}])
    run(cfg)
    second = _trials(cfg)[1]
    assert second.user_attrs["early_stopped"] is True
    spec = ArchSpec.from_json(second.user_attrs["spec"])
    first = _trials(cfg)[0]
    assert fakes.curve_final(spec) > first.values[0]  # its full training beats the front


def test_margin_above_any_gain_never_stops_a_front_trial(fake_backend, tmp_path):
    from tests.search.fakes import FakeSpace

    # the largest gain any net of the fake space still makes after its first epoch
    space = FakeSpace()
    specs = [space(optuna.trial.FixedTrial({"depth": d, "base": b}))
             for d in (2, 3) for b in (8, 16, 64, 256)]
    max_gain = max(fakes.curve_final(s) - fakes.curve_miou(s, 1) for s in specs)
    cfg = _cfg(tmp_path, n_trials=12, early_stop_margin=round(max_gain + 0.01, 3), seed=3)
    _enqueue(cfg, [{"depth": 2, "base": 8}, {"depth": 3, "base": 16}])
    run(cfg)
    trials = [t for t in _trials(cfg) if t.user_attrs.get("trained")]
    finals = {t.number: fakes.curve_final(ArchSpec.from_json(t.user_attrs["spec"]))
              for t in trials}
    points = [FrontPoint(finals[t.number], t.user_attrs["param_bytes"]) for t in trials
              if t.user_attrs.get("feasible")]
    stopped = [t for t in trials if t.user_attrs.get("early_stopped")]
    assert stopped  # the depth-3 net after the smaller depth-2 one is hopeless
    for t in stopped:  # and its full training would have been dominated
        assert _dominated(finals[t.number], t.user_attrs["param_bytes"], points)


def test_off_by_default_and_references_never_stop(fake_backend, tmp_path):
    cfg = _cfg(tmp_path, early_stop=False)
    _enqueue(cfg, [{"depth": 2, "base": 8}, {"depth": 3, "base": 8}])
    run(cfg.replace(n_trials=2))
    assert all("early_stopped" not in t.user_attrs for t in _trials(cfg))
    assert all(t.user_attrs["epochs"] == fakes.CURVE_EPOCHS for t in _trials(cfg))


@pytest.mark.parametrize(("kw", "message"), [
    ({"early_stop_margin": -0.1}, "early_stop_margin must be in [0, 1]"),
    ({"early_stop_every": 0}, "early_stop_every must be >= 1"),
])
def test_bad_settings(tmp_path, kw, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _cfg(tmp_path, **kw)


def test_a_margin_per_evaluation_applies_to_its_epoch_and_the_last_repeats():
    from nas.search._early_stop import EarlyStop

    stop = EarlyStop((0.66, 0.39, 0.21, 0.15), every=2)
    assert [stop.margin_at(e) for e in (1, 2, 3, 4, 6, 8, 10, 12)] == \
        [0.66, 0.66, 0.66, 0.39, 0.21, 0.15, 0.15, 0.15]
    assert EarlyStop(0.1, every=2).margin_at(8) == 0.1
    cfg = _cfg(Path("."), early_stop_margin="0.66,0.39,0.21,0.15")
    assert cfg.early_stopping() == stop
    assert _cfg(Path("."), early_stop_margin="0.2").early_stop_margin == 0.2
    with pytest.raises(ValueError, match="early_stop_margin must be a number or a comma list"):
        _cfg(Path("."), early_stop_margin="0.2,x")
    with pytest.raises(ValueError, match=r"early_stop_margin must be in \[0, 1\]"):
        _cfg(Path("."), early_stop_margin="0.2,1.5")


def test_a_large_first_margin_keeps_a_slow_starter_that_one_margin_would_stop(fake_backend,
                                                                                tmp_path):
    # the fake curve starts at 0.58 of its final mIoU (evaluated every epoch here): one margin
    # of 0.05 stops hopeless nets at their first evaluation; with 0.9 there and 0.05 after,
    # none stops at epoch 1 and the later, smaller margin still stops them
    kw = dict(n_trials=12, early_stop_every=1, seed=3)
    one = run(_cfg(tmp_path / "one", early_stop_margin=0.05, **kw))
    sched = run(_cfg(tmp_path / "sched", early_stop_margin="0.9,0.05", **kw))
    assert one.exit_status == sched.exit_status == 0

    def stop_epochs(path):
        study = optuna.load_study(study_name="t", storage=f"sqlite:///{path}/studies/t.db")
        return sorted(t.user_attrs["epochs"] for t in study.get_trials()
                      if t.user_attrs.get("early_stopped"))

    early, later = stop_epochs(tmp_path / "one"), stop_epochs(tmp_path / "sched")
    assert early and min(early) == 1, early  # stopped at the first evaluation
    assert later and min(later) >= 2, later  # never at the first, where the margin was 0.9
