"""Knees of a front: the points that give the most mIoU beyond the straight trade-off."""

from __future__ import annotations

import numpy as np
import pandas as pd


def knee_points(front: pd.DataFrame, k: int) -> pd.DataFrame:
    """``k`` knee points of a front, spread over its byte range.

    The front (``miou``, ``param_bytes``) is normalised to [0, 1] in mIoU and in log10 bytes;
    a point's knee score is its height above the chord joining the two ends (how much mIoU it
    gives beyond the straight trade-off). The log-byte range is cut into ``k`` equal bins and
    the best-scoring interior point of each bin is kept, so the knees are not all small nets.
    The two ends are extremes, not knees (their score is 0 by construction), so a bin holding
    only an end yields nothing and fewer than ``k`` points may come back.

    Raises:
        ValueError: if ``k`` < 1.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, but got k={k}")
    f = front.sort_values("param_bytes").reset_index(drop=True)
    if len(f) < 3:
        return f.iloc[:0].assign(knee_score=[])
    x = np.log10(f["param_bytes"].to_numpy(float))
    y = f["miou"].to_numpy(float)
    xn = (x - x[0]) / max(x[-1] - x[0], 1e-12)
    yn = (y - y[0]) / max(y[-1] - y[0], 1e-12)
    score = yn - xn  # the chord runs from (0, 0) to (1, 1) after normalising
    bins = np.minimum((xn * k).astype(int), k - 1)
    bins[[0, -1]] = -1  # the ends are never knees
    keep = [int(np.flatnonzero(bins == b)[np.argmax(score[bins == b])])
            for b in range(k) if np.any(bins == b)]
    return f.assign(knee_score=score).iloc[keep].reset_index(drop=True)
