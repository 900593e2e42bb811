"""Glue between ``nas.data`` and the trainer: memoised splits, frame subsets, batches."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from nas.data import eval_tiles, fold, load_split, normalize, resolve_data_dir

# Decoded splits kept in memory across train() calls of one process (a search runs hundreds
# of trials on the same data): key -> SplitData. Small: a few hundred MB at most.
_MEMO: OrderedDict[tuple, Any] = OrderedDict()
_MEMO_SIZE = 4


def _load_split(data_dir: str | Path | None, split: str, task: Any, scale: float,
                cache_dir: str | Path | None, progress: bool) -> Any:
    root = resolve_data_dir(data_dir)
    key = (str(Path(root).resolve()), split, task.name, float(scale),
           str(cache_dir) if cache_dir is not None else None)
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    data = load_split(root, split, task, scale=scale, cache_dir=cache_dir, progress=progress)
    _MEMO[key] = data
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return data


def subset(data: Any, max_frames: int | None) -> Any:
    """At most ``max_frames`` frames, evenly spaced over the split (sequences stay mixed)."""
    n = len(data.images)
    if max_frames is None or max_frames >= n:
        return data
    idx = torch.linspace(0, n - 1, max_frames).round().long()
    return dataclasses.replace(
        data, images=data.images[idx], labels=data.labels[idx],
        names=[data.names[i] for i in idx.tolist()],
    )


def load_frames(data_dir: str | Path | None, split: str, task: Any, scale: float,
                max_frames: int | None, *, cache_dir: str | Path | None = None,
                progress: bool = True, tiles: int | None = None) -> Any:
    """The split's ``SplitData`` (subset), or with ``tiles`` its deterministic eval tiles."""
    data = subset(_load_split(data_dir, split, task, scale, cache_dir, progress), max_frames)
    if tiles is None:
        return data

    return eval_tiles(data, tiles)


def fold_labels(labels: torch.Tensor, r: int) -> torch.Tensor:
    """Labels ``[B, H, W]`` -> ``[B*r*r, H/r, W/r]`` in the order of the folded logits.

    Row ``b*r*r + i*r + j`` holds ``labels[b, i::r, j::r]``: the pixels whose classes the
    chip's output channels ``(i*r + j)*classes + c`` score (``nas.data.fold`` order).
    """
    if r == 1:
        return labels
    b, h, w = labels.shape
    return labels.reshape(b, h // r, r, w // r, r).permute(0, 2, 4, 1, 3).reshape(
        b * r * r, h // r, w // r)


def prepare_batch(images: torch.Tensor, labels: torch.Tensor, fold_ratio: int,
                  device: torch.device, channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 crops -> (normalised, folded float input, folded int64 labels) on ``device``.

    The labels come folded (:func:`fold_labels`) to match the trainer's folded logits.
    """
    x = fold(normalize(images), fold_ratio).to(device, non_blocking=True)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    # Fold while still uint8 (an eighth of the bytes), then widen for the loss.
    return x, fold_labels(labels, fold_ratio).to(device, torch.int64, non_blocking=True)


def clear_memo() -> None:
    """Forget the in-memory splits (tests, or to free memory)."""
    _MEMO.clear()
