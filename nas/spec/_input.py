"""The deployment input size: the one number of pixels every tool agrees on.

The chip sees the camera crop folded ``fold_ratio x fold_ratio`` into channels: a 352x352 RGB
crop at fold 4 is a 48-channel 88x88 input. The search, the hardware check, training and export
all take the *folded* size (rows, columns) from here; crops are derived from it per spec.
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_INPUT_SIZE: tuple[int, int] = (88, 88)
"""Folded chip input (rows, columns) of the CamVid U-Nets: 352x352 crops at fold 4."""


def input_size(value: Sequence[int] | str) -> tuple[int, int]:
    """``(rows, columns)`` from a pair or from ``"HxW"`` / ``"H W"``; ``ValueError`` if bad."""
    parts: list[str] | list[int]
    if isinstance(value, str):
        parts = value.lower().replace("x", " ").split()
    else:
        parts = list(value)
    try:
        h, w = (int(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(
            f"input size must be two integers (rows, columns), e.g. 88 88, but got {value!r}"
        ) from None
    if h < 1 or w < 1:
        raise ValueError(f"input size must be positive, but got {h}x{w}")
    return h, w


def crop_size(size: Sequence[int], fold_ratio: int) -> tuple[int, int]:
    """Camera crop in pixels (rows, columns) that folds to ``size`` at ``fold_ratio``."""
    h, w = input_size(size)
    return h * fold_ratio, w * fold_ratio
