"""A training's state on disk: ``<checkpoint>.partial`` and the float twins' states before QAT.

A state file holds the model, optimiser, RNG and history of a training at the end of an epoch,
with the *key* of the training it belongs to (spec, task, seed, preset as JSON). A training
continues only from a file with its own key; a float twin's key leaves out the weight bits and
the net's name, which the epochs before QAT do not depend on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from nas._atomic import atomic_open
from nas.train._pricing import all_bits_8

PARTIAL_KIND = "maxnas-partial-training"
# Preset fields that act only once QAT has started: a float twin's key leaves them out.
QAT_ONLY = ("bias_clip_bits", "clip_quantile", "qat_lr_scale")


def partial_path(checkpoint_path: str | Path | None) -> Path:
    """``<checkpoint_path>.partial`` (its folder created)."""
    if checkpoint_path is None:
        raise ValueError("resume=True needs a checkpoint_path (the state is kept beside it)")
    path = Path(checkpoint_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(path.name + ".partial")


def training_key(spec: dict[str, Any], task: str, seed: int, preset: dict[str, Any],
                 qat_from: int | None = None) -> str:
    """The JSON key of a training; with ``qat_from``, of its float twin (bits, name and the
    preset's QAT-only fields left out, the first QAT epoch in)."""
    if qat_from is not None:
        spec = {**all_bits_8(spec), "name": "", "qat_from": qat_from}
        preset = _before_qat({"preset": preset})["preset"]
    # compared after json.loads on both sides: JSON turns the tuples into lists
    return json.dumps({"spec": spec, "task": task, "seed": seed, "preset": preset},
                      sort_keys=True)


def twin_file(folder: str | Path, key: str) -> Path:
    """The file of the float twin with ``key`` in ``folder`` (created)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder) / f"float-{hashlib.sha256(key.encode()).hexdigest()[:20]}.pt"


def write_state(path: Path, key: str, state: dict[str, Any]) -> None:
    """Write ``state`` with its training ``key`` (atomically)."""
    with atomic_open(path, "wb") as f:
        torch.save({"kind": PARTIAL_KIND, "key": key, **state}, f)


def read_state(path: Path, key: str) -> dict[str, Any]:
    """The state in ``path``, which must belong to the training with ``key``.

    Raises:
        ValueError: the file is unreadable or belongs to another spec, task, preset or seed
            (delete it to start over).
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a torn or foreign file: say which, never guess
        raise ValueError(f"cannot resume from {path}: {e}; delete it to start over") from None
    if not isinstance(state, dict) or state.get("kind") != PARTIAL_KIND:
        raise ValueError(f"{path} is not a partial training state; delete it to start over")
    saved, now = json.loads(state["key"]), json.loads(key)
    if not state.get("qat", False):  # QAT has not started: its settings have not acted yet
        saved, now = _before_qat(saved), _before_qat(now)
    if not same_training(saved, now):
        raise ValueError(f"{path} belongs to another training (spec, task, preset or seed "
                         f"differ); delete it to start over")
    return state


def same_training(saved: dict[str, Any], now: dict[str, Any]) -> bool:
    """Same spec, task, seed and preset values; a preset field added to :class:`Preset` after
    the state was saved (absent from it) is not compared, so a new option with a default does
    not throw away hours of training."""
    if any(saved[k] != now[k] for k in ("spec", "task", "seed")):
        return False
    old, new = saved["preset"], now["preset"]
    return all(old[k] == new[k] for k in old.keys() & new.keys()) and old.keys() <= new.keys()


def _before_qat(key: dict[str, Any]) -> dict[str, Any]:
    return {**key, "preset": {k: v for k, v in key["preset"].items() if k not in QAT_ONLY}}
