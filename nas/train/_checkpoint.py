"""Checkpoint files: ``torch.save`` of a plain dict, written atomically (tmp + rename)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from nas._atomic import atomic_open
from nas.models import build_model, enable_qat
from nas.spec import ArchSpec

REQUIRED_KEYS = ("spec", "state_dict", "task", "preset", "metrics", "epoch")


def save_checkpoint(
    path: str | Path,
    *,
    spec: ArchSpec,
    model: nn.Module,
    task: str,
    preset: str,
    metrics: dict[str, Any],
    epoch: int,
    **extra: Any,
) -> Path:
    """Write ``{"spec", "state_dict", "task", "preset", "metrics", "epoch", **extra}``.

    The file appears complete or not at all: a crash mid-write leaves the old file intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "spec": spec.to_dict(), "state_dict": state, "task": task, "preset": preset,
        "metrics": metrics, "epoch": epoch, **extra,
    }
    with atomic_open(path, "wb") as f:
        torch.save(payload, f)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns the saved dict with ``"spec"`` turned back into an :class:`ArchSpec`.
    Raises ``ValueError`` for a missing, unreadable or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle/zip errors: not a checkpoint of ours
        raise ValueError(f"cannot read checkpoint {path}: {e}") from None
    missing = [k for k in REQUIRED_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise ValueError(f"{path} is not a maxnas checkpoint: missing keys {missing}")
    ckpt["spec"] = ArchSpec.from_dict(ckpt["spec"])
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any] | str | Path) -> nn.Module:
    """Rebuild the trained model (QAT-enabled if it was trained with QAT) in eval mode."""
    if not isinstance(ckpt, dict):
        ckpt = load_checkpoint(ckpt)
    model = build_model(ckpt["spec"])
    if ckpt.get("qat", False):
        enable_qat(model)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
