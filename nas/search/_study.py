"""Creating or resuming the study: sampler, directions, references, consistency checks."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from typing import Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import TrialState

from nas.search._config import SearchConfig
from nas.spec import DEFAULT_INPUT_SIZE

METRIC_NAMES = {"miou": "val mIoU", "bytes": "param bytes", "latency": "latency ms"}
DIRECTIONS = {"miou": StudyDirection.MAXIMIZE, "bytes": StudyDirection.MINIMIZE,
              "latency": StudyDirection.MINIMIZE}
# Settings a resumed study must share with the one that created it: mixing them would put
# incomparable trials on one front.
PINNED = ("space", "task", "device", "input_size", "preset", "objectives", "max_weight_bytes",
          "max_latency_ms", "weight_bits")
# What a study created before an option existed ran with (its stored config lacks the key).
PINNED_BEFORE = {"input_size": list(DEFAULT_INPUT_SIZE), "weight_bits": [8]}


def worker_seed(cfg: SearchConfig, worker: int, n_existing: int) -> int:
    """Seed for one worker: fixed for a fresh single-worker run, distinct across workers and
    resumes (so a RandomSampler never replays the draws of an earlier run)."""
    if worker == 0 and n_existing == 0:
        return cfg.seed
    digest = hashlib.sha256(f"{cfg.seed}/{worker}/{n_existing}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def make_sampler(cfg: SearchConfig, seed: int) -> optuna.samplers.BaseSampler:
    """The sampler named by ``cfg.sampler``; constraints come from ``trial.set_constraint``.

    The spaces draw a fixed-length vector of ordered parameters (see ``search_spaces``), so
    the model-based samplers see every parameter in every trial.
    """
    if cfg.sampler == "tpe":
        # Multi-objective TPE (MOTPE). multivariate + group models the joint shape of the
        # U-Net per group of parameters that occur together (only the rare _per_pass and
        # _unfit flags are conditional). constant_liar keeps parallel workers from proposing
        # the same architecture. Its experimental-option warnings would repeat once per
        # worker on the user's screen; the choice is deliberate (BENCHMARKS.md, samplers).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True,
                                              constant_liar=True)
    if cfg.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if cfg.sampler == "nsga3":  # reference-point niching instead of crowding distance
        return optuna.samplers.NSGAIIISampler(seed=seed)
    if cfg.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if cfg.sampler == "gp":
        # Needs scipy and torch. Constrained expected hypervolume improvement on the trials'
        # set_constraint values; the conditional flags are drawn by its random fallback.
        return optuna.samplers.GPSampler(seed=seed, warn_independent_sampling=False)
    raise ValueError(f"unknown sampler {cfg.sampler!r}")  # SearchConfig already checked


def _pinned(cfg: SearchConfig) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k in PINNED
            for v in [getattr(cfg, k)]}


def create_or_load_study(
    cfg: SearchConfig,
    storage: optuna.storages.BaseStorage,
    params_for: Callable[[str], dict[str, Any] | None] | None = None,
) -> optuna.Study:
    """Create the study, or load it and check it was made with the same settings.

    Args:
        cfg: the search.
        storage: from :func:`open_storage`.
        params_for: reference name -> the space's parameters for it (enqueued so the sampler
            learns from the references), or ``None`` if the space cannot express it.

    Raises:
        ValueError: the stored study has other objectives or settings than ``cfg``.
    """
    directions = [DIRECTIONS[o] for o in cfg.objectives]
    try:
        study = optuna.create_study(
            study_name=cfg.study_name,
            storage=storage,
            directions=directions,
            sampler=make_sampler(cfg, cfg.seed),
            load_if_exists=True,
        )
    except ValueError as e:  # e.g. other directions
        raise ValueError(
            f"study {cfg.study_name!r} cannot be resumed with these options: {e}"
        ) from None
    stored = study.user_attrs.get("config")
    mine = _pinned(cfg)
    if stored is None:
        study.set_user_attr("config", mine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([METRIC_NAMES[o] for o in cfg.objectives])
    else:
        stored = PINNED_BEFORE | stored
        diff = {k: (stored.get(k), mine[k]) for k in mine if stored.get(k) != mine[k]}
        if diff:
            detail = ", ".join(f"{k}: stored {a!r} vs given {b!r}" for k, (a, b) in diff.items())
            raise ValueError(
                f"study {cfg.study_name!r} in {cfg.storage_url} was created with other "
                f"settings ({detail}); pass the same options or a new --study-name"
            )
    if list(study.directions) != directions:
        raise ValueError(
            f"study {cfg.study_name!r} has directions "
            f"{[d.name.lower() for d in study.directions]}, but --objectives "
            f"{','.join(cfg.objectives)} needs {[d.name.lower() for d in directions]}"
        )
    enqueue_references(study, cfg, params_for)
    return study


def enqueue_references(
    study: optuna.Study,
    cfg: SearchConfig,
    params_for: Callable[[str], dict[str, Any] | None] | None,
) -> list[str]:
    """Enqueue each reference not already done, running or queued; returns those enqueued.

    A reference trial that failed (interrupted, killed) is enqueued again on the next run.
    """
    live = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
    have = {
        t.user_attrs.get("reference")
        for t in study.get_trials(deepcopy=False, states=live)
    }
    added = []
    for name in cfg.references:
        if name in have:
            continue
        params = params_for(name) if params_for is not None else None
        # reference_params: the trial replays the space's parameters for the reference, so
        # the sampler learns from it (the objective reads this public flag)
        study.enqueue_trial(params or {},
                            user_attrs={"reference": name, "reference_params": bool(params)})
        added.append(name)
    return added


def trial_counts(study: optuna.Study) -> dict[str, int]:
    """Trials per state name (``COMPLETE``, ``RUNNING``, ...), zeros included."""
    counts = {s.name: 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] += 1
    return counts


def config_json(cfg: SearchConfig) -> str:
    return json.dumps(_pinned(cfg), sort_keys=True)
