"""``preview.png`` of an export: a few val tiles as input, ground truth and the prediction the
chip computes (the int8 simulation of :mod:`nas.export._simulate` on the quantised weights)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nas.data import Task, fold, get_task, load_split, preview_tiles, to_int8, unfold
from nas.export._simulate import simulate_int8
from nas.report import SegmentationGrid, segmentation_grid
from nas.spec import ArchSpec

PREVIEW_FILE = "preview.png"
N_TILES = 4


@dataclass(frozen=True)
class Preview:
    """The tiles a preview shows.

    Attributes:
        images: uint8 RGB tiles ``[N, 3, crop, crop]``.
        labels: their labels ``[N, crop, crop]`` (``task.ignore_index`` = ignored).
        task: the label set.
        split: where the tiles come from (named in the picture's title).
    """

    images: torch.Tensor
    labels: torch.Tensor
    task: Task
    split: str = "val"


def load_preview(spec: ArchSpec, task: str | Task, input_size: tuple[int, int],
                 data_dir: str | Path | None = None, n: int = N_TILES) -> Preview:
    """``n`` val tiles at the chip's resolution (``input_size`` x the fold ratio), spread
    over the split.

    Raises:
        DataError: no CamVid (a ``ValueError``).
        ValueError: a non-square ``input_size``.
    """
    if input_size[0] != input_size[1]:
        raise ValueError(f"a preview needs a square input, but got {input_size}")
    task = get_task(task)
    data = load_split(data_dir, "val", task, progress=False)
    images, labels = preview_tiles(data, input_size[0] * spec.fold_ratio, n)
    return Preview(images, labels, task)


def chip_predictions(spec: ArchSpec, qsd: Mapping[str, torch.Tensor],
                     images: torch.Tensor) -> np.ndarray:
    """Class per pixel ``[N, H, W]`` of uint8 tiles ``[N, 3, H, W]`` as the chip computes it:
    folded int8 input, integer layers, the folded output unfolded, first maximum."""
    r = spec.fold_ratio
    x = fold(to_int8(images), r)
    last = spec.layers()[-1].name
    out = [simulate_int8(spec, qsd, x[i].numpy())[last] for i in range(len(x))]
    logits = unfold(torch.from_numpy(np.stack(out)), r)  # [N, classes, H, W]
    return logits.argmax(1).numpy()  # torch's argmax takes the first maximum, as maxnas does


def preview_grid(spec: ArchSpec, qsd: Mapping[str, torch.Tensor], preview: Preview,
                 device: str) -> SegmentationGrid:
    """Input, ground truth and chip prediction of each tile, one row per tile."""
    pred = chip_predictions(spec, qsd, preview.images)
    return segmentation_grid(
        [("input", list(preview.images.permute(0, 2, 3, 1).numpy())),
         ("ground truth", list(preview.labels.numpy())),
         (f"{device} (int8 simulation)", list(pred))],
        preview.task.class_names, ignore_index=preview.task.ignore_index,
        title=f"{spec.name}: {len(pred)} {preview.split} tiles")
