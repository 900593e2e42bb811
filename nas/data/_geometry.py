"""Geometry and input scaling as ai8x-training does it: crops, tiles, fold, normalisation."""

from __future__ import annotations

import math

import torch

from nas.data._dataset import SplitData

FOLD_RATIOS = (1, 2, 4)


def _check_crop(crop: int, size: tuple[int, int]) -> None:
    if not isinstance(crop, int) or crop < 1:
        raise ValueError(f"crop must be a positive int (pixels), got crop={crop!r}")
    if crop > min(size):
        raise ValueError(
            f"crop must fit in the frame: crop={crop} but frames are {size[1]}x{size[0]} "
            "(use a smaller crop or a larger scale)"
        )


def random_crops(
    data: SplitData, crop: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One random ``crop`` x ``crop`` window per frame (training).

    Returns:
        uint8 images [N, 3, crop, crop] and uint8 labels [N, crop, crop].
    """
    h, w = data.frame_size
    _check_crop(crop, (h, w))
    n = len(data)
    ys = torch.randint(0, h - crop + 1, (n,), generator=generator).tolist()
    xs = torch.randint(0, w - crop + 1, (n,), generator=generator).tolist()
    images = torch.stack(
        [
            data.images[i, :, y : y + crop, x : x + crop]
            for i, (y, x) in enumerate(zip(ys, xs, strict=True))
        ]
    )
    labels = torch.stack(
        [
            data.labels[i, y : y + crop, x : x + crop]
            for i, (y, x) in enumerate(zip(ys, xs, strict=True))
        ]
    )
    return images, labels


def tile_origins(length: int, crop: int) -> list[int]:
    """Start offsets of the fewest ``crop``-long windows covering ``length``, evenly spread.

    The first starts at 0 and the last ends at ``length``; neighbours overlap when ``crop``
    does not divide ``length`` (e.g. 360, 352 -> [0, 8]).
    """
    n = math.ceil(length / crop)
    if n == 1:
        return [0]
    return [round(k * (length - crop) / (n - 1)) for k in range(n)]


def eval_tiles(data: SplitData, crop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic tiles covering every frame (evaluation), frame by frame, row-major.

    Returns:
        uint8 images [N * T, 3, crop, crop] and labels [N * T, crop, crop], T tiles per frame.
    """
    h, w = data.frame_size
    _check_crop(crop, (h, w))
    boxes = [(y, x) for y in tile_origins(h, crop) for x in tile_origins(w, crop)]
    images = torch.stack([data.images[:, :, y : y + crop, x : x + crop] for y, x in boxes], dim=1)
    labels = torch.stack([data.labels[:, y : y + crop, x : x + crop] for y, x in boxes], dim=1)
    return images.flatten(0, 1), labels.flatten(0, 1)


def preview_tiles(data: SplitData, crop: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` of the evaluation tiles (:func:`eval_tiles`), spread evenly over the split (first
    and last included), for pictures; all of them when there are fewer.

    Returns:
        uint8 images [n, 3, crop, crop] and labels [n, crop, crop].
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, but got n={n}")
    images, labels = eval_tiles(data, crop)
    pick = sorted({round(float(i)) for i in torch.linspace(0, len(images) - 1, n)})
    return images[pick], labels[pick]


def _check_ratio(r: int) -> None:
    if r not in FOLD_RATIOS:
        raise ValueError(f"fold ratio must be one of {FOLD_RATIOS}, got {r!r}")


def fold(x: torch.Tensor, r: int) -> torch.Tensor:
    """Space-to-depth: [B, C, H, W] -> [B, C*r*r, H/r, W/r].

    Channel ``(i*r + j)*C + c`` holds ``x[:, c, i::r, j::r]`` (ai8x's ``fold`` order).
    """
    _check_ratio(r)
    if r == 1:
        return x
    b, c, h, w = x.shape
    if h % r or w % r:
        raise ValueError(f"fold ratio {r} must divide the height and width, got {h}x{w}")
    y = x.reshape(b, c, h // r, r, w // r, r)  # b, c, h', i, w', j
    return y.permute(0, 3, 5, 1, 2, 4).reshape(b, r * r * c, h // r, w // r)


def unfold(y: torch.Tensor, r: int) -> torch.Tensor:
    """Exact inverse of ``fold``: [B, C*r*r, H, W] -> [B, C, H*r, W*r]."""
    _check_ratio(r)
    if r == 1:
        return y
    b, crr, h, w = y.shape
    if crr % (r * r):
        raise ValueError(f"channels must be a multiple of r*r={r * r}, got {crr}")
    c = crr // (r * r)
    x = y.reshape(b, r, r, c, h, w)  # b, i, j, c, h', w'
    return x.permute(0, 3, 4, 1, 5, 2).reshape(b, c, h * r, w * r)


def to_int8(x: torch.Tensor) -> torch.Tensor:
    """ai8x input scaling to the chip's int8 sample: round((x/256 - 0.5) * 256) in [-128, 127].

    For uint8 ``x`` this is exactly ``x - 128`` (0 -> -128, 128 -> 0, 255 -> 127).
    """
    if x.dtype != torch.uint8:
        raise ValueError(f"to_int8 expects a uint8 tensor, got dtype={x.dtype}")
    v = torch.round((x.to(torch.float32) / 256 - 0.5) * 256).clamp_(-128, 127)
    return v.to(torch.int16)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """ai8x input scaling for float training: ``to_int8(x) / 128`` as float32 in [-1, 127/128]."""
    return to_int8(x).to(torch.float32) / 128
