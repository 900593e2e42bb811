"""The rung studies stored beside a search study (``run_search.py --rungs``), and the
checkpoint of a trial's highest rung."""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.trial import TrialState

from nas.studyio._checkpoints import checkpoint_path
from nas.studyio._paths import study_storage

RUNG_SEP = "@"  # rung <preset> of study <name> is the study <name>@<preset>


def miou_key(preset: str) -> str:
    """The user attribute (and trials.csv column) holding a val mIoU at ``preset``;
    ``miou_key("")`` is their common prefix."""
    return f"miou{RUNG_SEP}{preset}"


def rung_studies(study: optuna.Study) -> list[optuna.Study]:
    """The rung studies of the search study ``study``, lowest rung first (each is tagged with
    the user attribute ``rung``: ``{"search_study", "preset", "index", "below"}``)."""
    storage = study_storage(study)
    prefix = study.study_name + RUNG_SEP
    found = []
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        info = summary.user_attrs.get("rung")
        if summary.study_name.startswith(prefix) and isinstance(info, dict):
            found.append((int(info.get("index", 0)), summary.study_name))
    return [optuna.load_study(study_name=name, storage=storage) for _, name in sorted(found)]


def rung_checkpoint(study: optuna.Study, number: int,
                    artifact_dir: str | Path) -> tuple[Path, str] | None:
    """``(checkpoint, preset)`` of search trial ``number`` at the highest rung it was trained
    at, or ``None`` if it was never promoted (or its promotion has not finished)."""
    for rung in reversed(rung_studies(study)):
        for t in rung.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            ua = t.user_attrs
            if ua.get("origin_trial") == number and ua.get("trained") is True:
                return checkpoint_path(rung, t.number, artifact_dir), rung.user_attrs["rung"][
                    "preset"]
    return None
