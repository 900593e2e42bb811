"""Non-dominated points: the mask over k costs, the 2-D staircase and its height at some bytes.

mIoU is maximised, bytes (and latency) minimised. Pure functions of numbers and frames: no
Optuna, no study.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd


def pareto_mask(miou: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Non-dominated rows for maximised ``miou`` [N] and minimised ``costs`` [N, k]."""
    points = np.column_stack([-np.asarray(miou, float), np.asarray(costs, float)])
    n = len(points)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        le = np.all(points <= points[i], axis=1)
        lt = np.any(points < points[i], axis=1)
        if np.any(le & lt):
            mask[i] = False
    return mask


def staircase(d: pd.DataFrame, col: str) -> pd.DataFrame:
    """The rows of ``d`` on the (max ``col``, min ``param_bytes``) staircase, by bytes: each
    scores strictly more than every row with no more bytes (of tied rows, the first stays;
    rows without ``col`` are left out)."""
    d = d.dropna(subset=[col]).sort_values(["param_bytes", col], ascending=[True, False])
    keep, best = [], -np.inf
    for i, v in zip(d.index, d[col], strict=True):
        if v > best:
            keep.append(i)
            best = v
    return d.loc[keep]


class Point(Protocol):
    """A trained net on the (mIoU, bytes) plane: :class:`FrontPoint`, a rung's point."""

    @property
    def miou(self) -> float: ...

    @property
    def param_bytes(self) -> int: ...


@dataclass(frozen=True)
class FrontPoint:
    """A finished, trained, feasible trial: its final mIoU and its param bytes."""

    miou: float
    param_bytes: int


def front_miou_at(points: Sequence[Point], param_bytes: int) -> float | None:
    """The front's mIoU at ``param_bytes``: the best mIoU of a point with no more bytes."""
    best = [p.miou for p in points if p.param_bytes <= param_bytes]
    return max(best) if best else None
