"""``finalists_preview.png``: the same few test tiles segmented by every finalist and reference
(each with its best-val seed's checkpoint, as ``nas export`` picks it), after the input and
the ground truth."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from nas.data import Task, fold, load_split, normalize, preview_tiles, unfold
from nas.report import SegmentationGrid, segmentation_grid
from nas.spec import ArchSpec
from nas.studyio import best_val_checkpoint
from nas.train import Preset, model_from_checkpoint

N_TILES = 4


@torch.inference_mode()
def model_predictions(model: nn.Module, fold_ratio: int, images: torch.Tensor,
                      device: str = "cpu") -> np.ndarray:
    """Class per pixel ``[N, H, W]`` of uint8 tiles ``[N, 3, H, W]`` as the trained model
    computes it (as the test split is scored): normalised folded input, logits unfolded,
    first maximum."""
    x = fold(normalize(images), fold_ratio).to(device)
    y = model.eval().to(device)(x).float().cpu()
    return unfold(y, fold_ratio).argmax(1).numpy()


def finalists_grid(models: Sequence[tuple[str, nn.Module, int]], images: torch.Tensor,
                   labels: torch.Tensor, task: Task, title: str = "",
                   device: str = "cpu") -> SegmentationGrid:
    """Input, ground truth, then one column per ``(title, model, fold ratio)``; one row per
    tile."""
    columns: list[tuple[str, list[np.ndarray]]] = [
        ("input", list(images.permute(0, 2, 3, 1).numpy())),
        ("ground truth", list(labels.numpy()))]
    for head, model, r in models:
        columns.append((head, list(model_predictions(model, r, images, device))))
    return segmentation_grid(columns, task.class_names, ignore_index=task.ignore_index,
                             title=title)


def preview_crop(specs: Sequence[ArchSpec], preset: Preset, input_size: tuple[int, int]) -> int:
    """The tile side in pixels every model runs on: the preset's eval crop at the finalists'
    input size, down to a multiple of each net's fold ratio x 2**(depth - 1)."""
    crop = preset.at_input_size(input_size, max(s.fold_ratio for s in specs)).eval_crop
    step = math.lcm(*(s.fold_ratio * s.min_input_multiple for s in specs))
    if crop < step:
        raise ValueError(f"the eval crop {crop} px is smaller than {step} px, the least tile "
                         "every finalist runs on")
    return crop - crop % step


def finalists_preview(summary: pd.DataFrame, rows: pd.DataFrame, folder: str | Path,
                      task: Task, preset: Preset, input_size: tuple[int, int],
                      data_dir: str | Path | None = None, device: str = "cpu",
                      n: int = N_TILES) -> SegmentationGrid:
    """``n`` test tiles, each model of ``summary`` (one column, titled with its name, weight
    bytes and mean test mIoU) on them with its best-val seed's checkpoint.

    Args:
        summary: :func:`nas.finalize.summary_frame` of ``rows``.
        rows: ``finalists.csv`` (``checkpoint`` relative to ``folder``, ``spec`` JSON).

    Raises:
        DataError: no CamVid (a ``ValueError``).
        ValueError: no model has a checkpoint; tiles too small for a net.
    """
    picked = []
    for r in summary.to_dict("records"):
        best = best_val_checkpoint(rows[rows["name"] == r["name"]].to_dict("records"), folder)
        if best is not None:
            picked.append((r, best[0], ArchSpec.from_json(str(best[1]["spec"]))))
    if not picked:
        raise ValueError(f"no finalist checkpoint in {folder}")
    crop = preview_crop([spec for *_, spec in picked], preset, input_size)
    split = load_split(data_dir, "test", task, scale=preset.scale, progress=False)
    images, labels = preview_tiles(split, crop, n)
    models = [(f"{r['name']}\n{int(r['weight_bytes']):,} weight B\n"
               f"test mIoU {r['test_miou_mean']:.3f}",
               model_from_checkpoint(path), spec.fold_ratio)
              for r, path, spec in picked]
    return finalists_grid(models, images, labels, task, device=device,
                          title=f"{len(images)} test tiles; each model's best-val seed, "
                                "mIoU: mean test mIoU over seeds")
