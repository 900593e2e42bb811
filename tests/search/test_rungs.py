"""Rungs (--rungs): who is promoted, asynchronously, with several workers, after kill -9."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from nas.search import (
    RungPoint,
    SearchConfig,
    miou_key,
    run,
    rung_study_name,
    select_promotions,
    study_frame,
    summary,
)
from nas.search._rungs import front_gap
from nas.spec import ArchSpec
from tests.search import fakes

ROOT = Path(__file__).resolve().parents[2]
UPPER = "proxy-fast"  # any registered preset: the fake trainer only reads its name


# -- who is promoted (pure) -------------------------------------------------------------------
def test_references_first_then_the_front_closest_first_within_the_quota():
    pts = [RungPoint(0, 0.80, 280_000, "ai85unetlarge"),
           RungPoint(1, 0.50, 10_000), RungPoint(2, 0.60, 20_000), RungPoint(3, 0.58, 30_000),
           RungPoint(4, 0.40, 40_000), RungPoint(5, 0.70, 50_000), RungPoint(6, 0.66, 60_000),
           RungPoint(7, 0.30, 70_000), RungPoint(8, 0.20, 80_000), RungPoint(9, 0.10, 90_000),
           RungPoint(10, 0.69, 100_000)]
    # 10 searched points, share 0.4 -> 4 promotions; gaps: 1,2,5 on the front (0),
    # 10 0.01, 3 0.02, 6 0.04, 4 0.2 (beyond the margin); ties by mIoU, best first
    assert select_promotions(pts, [], share=0.4, margin=0.05) == [0, 5, 2, 1, 10]
    # already promoted ones count against the quota and are never taken back or repeated
    assert select_promotions(pts, [0, 2, 5], share=0.4, margin=0.05) == [1, 10]
    assert select_promotions(pts, [0, 1, 2, 5, 10], share=0.4, margin=0.05) == []
    # a wider quota still stops at the margin front
    assert select_promotions(pts, [0], share=1.0, margin=0.05) == [5, 2, 1, 10, 3, 6]
    # share x n below 1: nothing searched yet, the reference still goes
    assert select_promotions(pts[:3], [], share=0.4, margin=0.05) == [0]


def test_promotions_stay_within_margin_and_quota_on_random_rungs():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        pts = [RungPoint(i, float(m), int(b)) for i, (m, b) in
               enumerate(zip(rng.uniform(0, 1, n), rng.integers(1_000, 300_000, n),
                             strict=True))]
        share, margin = float(rng.uniform(0.05, 1)), float(rng.uniform(0, 0.2))
        before = set(rng.choice(n, size=int(rng.integers(0, n // 3 + 1)), replace=False)
                     .tolist())
        picked = select_promotions(pts, before, share, margin)
        assert not set(picked) & before and len(picked) == len(set(picked))
        assert len(picked) <= max(0, math.floor(share * n + 1e-9) - len(before))
        for p in (pts[i] for i in picked):
            assert front_gap(p, pts) <= margin + 1e-12
        # closest to the front first
        gaps = [front_gap(pts[i], pts) for i in picked]
        assert gaps == sorted(gaps)


def test_bad_settings_are_rejected_with_the_rule():
    with pytest.raises(ValueError, match="share"):
        select_promotions([], [], share=0, margin=0.1)
    with pytest.raises(ValueError, match="margin"):
        select_promotions([], [], share=0.5, margin=-1)
    base = dict(data_dir=".", trainer=fakes.FAKE["trainer"],
                components=fakes.FAKE["components"])
    with pytest.raises(ValueError, match="unknown preset 'nope'; available: .*medium"):
        SearchConfig(rungs="proxy,nope", **base)
    with pytest.raises(ValueError, match="first rung"):
        SearchConfig(rungs="medium,proxy", **base)
    with pytest.raises(ValueError, match="repeat"):
        SearchConfig(rungs="proxy,medium,proxy", **base)
    with pytest.raises(ValueError, match="promote_share"):
        SearchConfig(rungs="proxy,medium", promote_share=1.5, **base)


@pytest.mark.parametrize("rungs, message", [
    ("medium,proxy", "--rungs medium,proxy: 'medium' costs more than 'proxy' (909 M training "
                     "pixels against 94 M: epochs x crop x crop x frames); list them cheapest "
                     "first, e.g. --rungs proxy,medium"),
    ("proxy,full,medium", "'full' costs more than 'medium' (4.5 G training pixels against "
                          "909 M"),
    ("proxy,fidelity-full,fidelity-full", "must not repeat"),
])
def test_rungs_must_get_dearer(rungs, message):
    """A rung retrains the top of the one below longer: 'medium,proxy' used to be accepted
    and the closing screen printed 'Kendall tau vs medium nan'."""
    with pytest.raises(ValueError) as e:
        SearchConfig(preset=rungs.split(",")[0], rungs=rungs, data_dir=".",
                     trainer=fakes.FAKE["trainer"], components=fakes.FAKE["components"])
    assert message in str(e.value)


def test_rung_cost_is_epochs_crop_squared_frames():
    from nas.search._config import training_pixels

    assert training_pixels("proxy") == 10 * 160 * 160 * 367
    assert training_pixels("smoke") == 1 * 32 * 32 * 4  # max_train_frames
    assert training_pixels("medium") == 20 * 352 * 352 * 367  # crops = 4 x 88
    assert training_pixels("medium", (64, 64)) == 20 * 256 * 256 * 367
    order = ["smoke", "proxy-fast", "proxy", "fidelity-full", "medium", "full"]
    assert sorted(order, key=training_pixels) == order
    SearchConfig(preset="smoke", rungs="smoke,proxy-fast,proxy,medium,full", data_dir=".",
                 trainer=fakes.FAKE["trainer"], components=fakes.FAKE["components"])


# -- a search with rungs, fake trainer ---------------------------------------------------------
def _cfg(tmp_path, **kw) -> SearchConfig:
    base = dict(n_trials=12, jobs=1, study_name="r", studies_dir=tmp_path / "studies",
                preset="smoke", rungs=("smoke", UPPER), promote_share=0.25,
                promote_margin=0.3, progress=False, sampler="random", heartbeat_interval=1,
                references=(), trainer="tests.search.fakes:rung_train",
                components=fakes.FAKE["components"], data_dir=tmp_path)
    base.update(kw)
    return SearchConfig(**base)


def _load(cfg: SearchConfig, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=cfg.storage_url)


def test_search_with_rungs_promotes_asynchronously_and_records_each_rung(tmp_path):
    fakes.CALLS.clear()
    cfg = _cfg(tmp_path)
    result = run(cfg)
    assert result.exit_status == 0
    study, upper = _load(cfg, "r"), _load(cfg, rung_study_name("r", UPPER))
    base = {t.number: t for t in study.get_trials() if t.state == TrialState.COMPLETE}
    assert len(base) == 12  # --trials counts the search study only
    promoted = [t for t in upper.get_trials() if t.state == TrialState.COMPLETE]
    trained = [t for t in base.values() if t.user_attrs.get("trained")]
    assert 1 <= len(promoted) <= math.floor(0.25 * len(trained))
    assert not [t for t in upper.get_trials() if t.state == TrialState.RUNNING]
    for t in promoted:
        src = base[t.user_attrs["origin_trial"]]
        spec = ArchSpec.from_json(t.user_attrs["spec"])
        assert spec == ArchSpec.from_json(src.user_attrs["spec"])
        # each rung's mIoU is recorded, and each study's values are at its own preset
        assert t.user_attrs[miou_key("smoke")] == src.values[0] == fakes.rung_miou(spec, "smoke")
        assert t.user_attrs[miou_key(UPPER)] == t.values[0] == fakes.rung_miou(spec, UPPER)
    # the sampler's study never saw an upper-rung value
    for t in base.values():
        if t.user_attrs.get("trained"):
            spec = ArchSpec.from_json(t.user_attrs["spec"])
            assert t.values[0] == fakes.rung_miou(spec, "smoke")
    # asynchronous: the first promotion ran before the search's last trial started
    first_rung = min(t.datetime_start for t in promoted)
    assert first_rung < max(t.datetime_start for t in base.values())
    # the trials frame, trials.csv and the report carry the rungs
    df = study_frame(study)
    assert df[miou_key(UPPER)].notna().sum() == len(promoted)
    csv = pd.read_csv(cfg.study_dir / "trials.csv")
    assert {miou_key("smoke"), miou_key(UPPER)} <= set(csv.columns)
    html = (cfg.study_dir / "report.html").read_text()
    assert "Promoted trials" in html and "front of each rung" in html
    # the upper rung's front, at its own mIoU, among the promoted trials only
    upper_front = pd.read_csv(cfg.study_dir / f"pareto@{UPPER}.csv")
    at_upper = {t.user_attrs["origin_trial"]: t.values[0] for t in promoted}
    assert set(upper_front["number"]) <= set(at_upper) | set(df[df["reference"] != ""]["number"])
    for n, m in zip(upper_front["number"], upper_front["miou"], strict=True):
        assert m == pytest.approx(df.set_index("number").loc[n, miou_key(UPPER)])
    assert not (cfg.study_dir / "pareto@smoke.csv").exists()  # the first rung: pareto.csv
    assert f"rung {UPPER}: {len(promoted)} nets trained at both" in summary(result)


def test_early_stop_stays_on_the_first_rung(tmp_path):
    """Its margins are calibrated on the first preset's curves; promotions train to the end."""
    cfg = _cfg(tmp_path, early_stop=True, early_stop_margin=0.0)
    run(cfg)
    searched = [t for t in _load(cfg, "r").get_trials() if t.user_attrs.get("trained")]
    promoted = [t for t in _load(cfg, rung_study_name("r", UPPER)).get_trials()
                if t.state == TrialState.COMPLETE]
    assert searched and promoted
    assert all("preset_epochs" in t.user_attrs for t in searched)
    assert not [t for t in promoted if "preset_epochs" in t.user_attrs
                or "early_stopped" in t.user_attrs]


def test_rerun_resumes_without_promoting_twice(tmp_path):
    cfg = _cfg(tmp_path)
    run(cfg)
    upper = _load(cfg, rung_study_name("r", UPPER))
    n_before = len(upper.get_trials())
    run(cfg.replace(n_trials=16))  # more trials: more may be promoted, none again
    sources = [t.user_attrs["promotion_of"] for t in upper.get_trials()
               if t.state == TrialState.COMPLETE]
    assert len(sources) == len(set(sources)) >= n_before


def test_a_promotion_that_fails_is_not_promoted_again(tmp_path):
    cfg = _cfg(tmp_path, trainer="tests.search.fakes:rung_train_failing", promote_share=0.2)
    result = run(cfg)
    upper = _load(cfg, rung_study_name("r", UPPER)).get_trials()
    failed = [t for t in upper if t.state == TrialState.FAIL]
    sources = [t.user_attrs["promotion_of"] for t in failed]
    assert failed and len(sources) == len(set(sources)), sources
    assert all("cannot train" in t.user_attrs["fail_reason"] for t in failed)
    assert result.counts["COMPLETE"] == 12 and not result.worker_errors


def test_references_are_promoted_and_finalize_reads_the_top_rung(tmp_path):
    from nas.finalize import select_finalists

    cfg = _cfg(tmp_path, references=("unetmysmall",), promote_share=0.2)
    run(cfg)
    upper = _load(cfg, rung_study_name("r", UPPER))
    refs = [t.user_attrs.get("reference") for t in upper.get_trials()
            if t.state == TrialState.COMPLETE]
    assert "unetmysmall" in refs
    df = study_frame(_load(cfg, "r"))
    picked = select_finalists(df, k=2)
    knees = [f for f in picked if f.role == "knee"]
    assert knees, picked
    for f in knees:  # knees come from the promoted trials, scored at the top rung
        row = df[df["number"] == f.trial].iloc[0]
        assert f.search_miou == row[miou_key(UPPER)]


def test_export_takes_the_highest_rungs_checkpoint(tmp_path):
    from nas.export._trial import load_trial

    cfg = _cfg(tmp_path)
    run(cfg)
    upper = _load(cfg, rung_study_name("r", UPPER))
    t = next(t for t in upper.get_trials() if t.state == TrialState.COMPLETE)
    origin = t.user_attrs["origin_trial"]
    src = load_trial("r", origin, studies_dir=cfg.studies_dir)
    assert src.checkpoint_source == f"rung {UPPER}"
    assert src.checkpoint.name == t.user_attrs["checkpoint_artifact_id"]
    plain = load_trial("r", origin, studies_dir=cfg.studies_dir, prefer_finalist=False)
    assert plain.checkpoint_source == "search" and plain.checkpoint != src.checkpoint


def _run_search(args: list[str], env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_search.py"), "--no-progress", "--sampler", "random",
         "--components", fakes.FAKE["components"], "--trainer",
         "tests.search.fakes:rung_train", *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, **kw)


def _wait_for(pred, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_mid_rung_then_rerun_retries_the_promotion(tmp_path):
    args = ["--trials", "10", "--jobs", "1", "--studies-dir", str(tmp_path), "--study-name", "k",
            "--data-dir", str(tmp_path), "--rungs", f"smoke,{UPPER}", "--promote-share", "0.3",
            "--promote-margin", "0.3", "--heartbeat-interval", "1", "--grace-period", "3"]
    storage = f"sqlite:///{tmp_path}/k.db"

    def rung_trials() -> list[optuna.trial.FrozenTrial]:
        try:
            return optuna.load_study(study_name=rung_study_name("k", UPPER),
                                     storage=storage).get_trials()
        except Exception:  # not created yet
            return []

    proc = _run_search(args, env={"MAXNAS_FAKE_RUNG_SLEEP": "30"}, start_new_session=True)
    _wait_for(lambda: any(t.state == TrialState.RUNNING and "spec" in t.user_attrs
                          for t in rung_trials()), 120, "a promotion mid-training")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    (killed,) = [t for t in rung_trials() if t.state == TrialState.RUNNING]

    proc = _run_search(args, env={"MAXNAS_FAKE_RUNG_SLEEP": "0"})
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    after = rung_trials()
    assert not [t for t in after if t.state == TrialState.RUNNING]
    assert [t.state for t in after if t.number == killed.number] == [TrialState.FAIL]
    retried = [t for t in after if t.state == TrialState.COMPLETE
               and t.user_attrs.get("promotion_of") == killed.user_attrs["promotion_of"]]
    assert len(retried) == 1
    done = [t.user_attrs["promotion_of"] for t in after if t.state == TrialState.COMPLETE]
    assert len(done) == len(set(done))  # every promotion ran once


@pytest.mark.slow  # two spawned workers import torch
def test_two_workers_share_the_promotions(tmp_path):
    args = ["--trials", "16", "--jobs", "2", "--studies-dir", str(tmp_path), "--study-name", "p",
            "--data-dir", str(tmp_path), "--rungs", f"smoke,{UPPER}", "--promote-share", "0.3",
            "--promote-margin", "0.3"]
    proc = _run_search(args, env={"MAXNAS_FAKE_RUNG_SLEEP": "2"})
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    storage = f"sqlite:///{tmp_path}/p.db"
    upper = optuna.load_study(study_name=rung_study_name("p", UPPER), storage=storage)
    done = [t for t in upper.get_trials() if t.state == TrialState.COMPLETE]
    sources = [t.user_attrs["promotion_of"] for t in done]
    assert done and len(sources) == len(set(sources))
    assert not [t for t in upper.get_trials() if t.state in (TrialState.RUNNING,
                                                             TrialState.WAITING)]
    assert "at proxy-fast" in out  # the promotions' event lines
