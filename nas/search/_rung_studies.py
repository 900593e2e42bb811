"""The rung studies of a search (:mod:`nas.search._rungs`): opening them, finding them, and the
worker's share of their work (promote, run a promoted trial, wait for running ones)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import optuna
import pandas as pd
from optuna.trial import TrialState

from nas.report import trials_frame
from nas.search._config import SearchConfig
from nas.search._rungs import miou_key, pending, promote, rung_study_name
from nas.search._study import DIRECTIONS, METRIC_NAMES
from nas.studyio import rung_studies, study_storage

# A rung study's trials are all enqueued promotions; its objective has no trial budget.
NO_BUDGET = 10**9


def open_rung_study(cfg: SearchConfig, storage: optuna.storages.BaseStorage,
                    index: int) -> optuna.Study:
    """Create or load rung ``index`` (>= 1) of ``cfg.rungs`` in ``storage``."""
    preset = cfg.rungs[index]
    study = optuna.create_study(
        study_name=rung_study_name(cfg.study_name, preset), storage=storage,
        directions=[DIRECTIONS[o] for o in cfg.objectives],
        # nothing is ever sampled here: every trial is an enqueued promotion without params
        sampler=optuna.samplers.RandomSampler(seed=cfg.seed), load_if_exists=True)
    if "rung" not in study.user_attrs:
        study.set_user_attr("rung", {"search_study": cfg.study_name, "preset": preset,
                                     "index": index, "below": cfg.rungs[index - 1]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([f"{METRIC_NAMES[o]}" + (f" @{preset}" if o == "miou" else "")
                                    for o in cfg.objectives])
    return study


def rung_columns(df: pd.DataFrame, preset: str,
                 rung_studies: Sequence[optuna.Study]) -> pd.DataFrame:
    """``df`` (the search study's :func:`nas.report.trials_frame`) with ``miou@<preset>`` of
    every rung: the search's own preset, then each rung study's mIoU of the trials promoted
    there (NaN where a trial was not promoted or its promotion has not finished)."""
    out = df.copy()
    if out.empty:
        return out
    trained = (out["state"] == "COMPLETE") & (out["trained"] == True)  # noqa: E712
    out[miou_key(preset)] = out["miou"].where(trained)
    for rung in rung_studies:
        name = rung.user_attrs["rung"]["preset"]
        values = {}
        for t in rung.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            ua = t.user_attrs
            if ua.get("trained") is True and t.values and ua.get("origin_trial") is not None:
                values[int(ua["origin_trial"])] = float(t.values[0])
        out[miou_key(name)] = out["number"].map(values).astype(float)
    return out


def study_frame(study: optuna.Study, preset: str | None = None,
                artifact_dir=None) -> pd.DataFrame:
    """The search study's trials frame with one ``miou@<preset>`` column per rung."""
    df = trials_frame(study.get_trials(deepcopy=False), artifact_dir)
    rungs = rung_studies(study)
    if preset is None:
        preset = (study.user_attrs.get("config") or {}).get("preset", "proxy")
    return rung_columns(df, str(preset), rungs)


class RungWork:
    """One worker's view of the rungs: promote, run promoted trials first, wait for them.

    Args:
        cfg: the search (``cfg.rungs`` has at least 2 presets).
        study: the search study (rung 0).
        make_objective: ``(cfg at a rung's preset) -> objective`` for that rung's trials.
    """

    def __init__(self, cfg: SearchConfig, study: optuna.Study,
                 make_objective: Callable[[SearchConfig], Callable]) -> None:
        self.cfg = cfg
        storage = study_storage(study)
        self.chain = [study] + [open_rung_study(cfg, storage, i)
                                for i in range(1, len(cfg.rungs))]
        # Early stop stays on the first rung: its margins are calibrated on that preset's
        # learning curves, and a promotion is a net already near the front.
        self.objectives = [make_objective(cfg.replace(preset=p, n_trials=NO_BUDGET, rungs=(),
                                                      early_stop=False))
                           for p in cfg.upper_rungs]

    @property
    def studies(self) -> list[optuna.Study]:
        """The rung studies (rung 1 and up)."""
        return self.chain[1:]

    def promote(self) -> int:
        """Enqueue what :func:`nas.search._rungs.promote` picks on every rung; returns how many."""
        n = 0
        for i, preset in enumerate(self.cfg.upper_rungs, start=1):
            n += len(promote(self.chain[i - 1], self.chain[i], preset,
                             self.cfg.promote_share, self.cfg.promote_margin))
        return n

    def run_one(self, wrap: Callable[[Callable], Callable],
                callbacks: list[Callable]) -> bool:
        """Run one waiting promotion, highest rung first; False if none is waiting.

        ``wrap(objective)`` adds the worker's signal handling around the objective.
        """
        for study, objective in zip(reversed(self.studies), reversed(self.objectives),
                                    strict=True):
            if pending(study)["WAITING"]:
                study.optimize(wrap(objective), n_trials=1, catch=(Exception,),
                               callbacks=callbacks, gc_after_trial=False)
                return True
        return False

    def busy(self) -> bool:
        """Promotions are waiting or running (on any worker). Fails stale ones first, so a
        promotion whose worker died is retried rather than waited for."""
        busy = False
        for study in self.studies:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
            counts = pending(study)
            busy = busy or bool(counts["WAITING"] or counts["RUNNING"])
        return busy
