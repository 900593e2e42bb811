"""The test split, scored once per finalist and seed (the search never looks at it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nas.data import eval_tiles, load_split
from nas.spec import ArchSpec
from nas.train import Preset, evaluate, model_from_checkpoint


def score_test(checkpoint: str | Path, spec: ArchSpec, task: Any, preset: Preset,
               data_dir: str | Path | None, device: str = "cpu") -> dict[str, Any]:
    """``ConfusionMatrix.summary`` (``miou``, ``pixel_accuracy``, ``per_class_iou``) of the
    checkpoint's model on the test split, tiled at ``preset.eval_crop`` like val."""
    model = model_from_checkpoint(checkpoint).to(device)
    split = load_split(data_dir, "test", task, scale=preset.scale, progress=False)
    images, labels = eval_tiles(split, preset.eval_crop)
    cm = evaluate(model, spec, images, labels, num_classes=task.num_classes,
                  ignore_index=task.ignore_index, amp=preset.amp, channels_last=False,
                  device=device)
    return cm.summary(task.class_names)
