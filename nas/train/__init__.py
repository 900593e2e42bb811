"""Proxy and full training of ArchSpecs on CamVid (knows nothing about the search)."""

from nas.train._checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from nas.train._errors import TrainingDivergedError, TrainingOutOfMemoryError
from nas.train._presets import (
    PRESETS,
    Preset,
    get_preset,
    list_presets,
    register_preset,
    resolve_amp,
)
from nas.train._trainer import DEVICES, TrainResult, evaluate, lr_at, resolve_device, train

__all__ = [
    "DEVICES",
    "PRESETS",
    "Preset",
    "TrainResult",
    "TrainingDivergedError",
    "TrainingOutOfMemoryError",
    "evaluate",
    "get_preset",
    "list_presets",
    "load_checkpoint",
    "lr_at",
    "model_from_checkpoint",
    "register_preset",
    "resolve_amp",
    "resolve_device",
    "save_checkpoint",
    "train",
]
