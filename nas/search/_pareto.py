"""Pareto maths on the trials table: non-dominated rows, the front, knees, hypervolume.

Works on the frame of :func:`nas.report.trials_frame` (columns ``state``, ``feasible``,
``miou``, ``param_bytes``, ``latency_ms``, ...), whether built from a study or read from a
``trials.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nas.search._config import HV_REFERENCE_BYTES, HV_REFERENCE_MIOU

FRONT_COLUMNS = ["number", "reference", "miou", "param_bytes", "latency_ms", "arch",
                 "checkpoint_artifact_id"]


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


def feasible_complete(df: pd.DataFrame) -> pd.DataFrame:
    """The COMPLETE trials that fit the device and every budget."""
    if df.empty:
        return df
    return df[(df["state"] == "COMPLETE") & (df["feasible"] == True)]  # noqa: E712


def pareto_frame(df: pd.DataFrame, objectives: Sequence[str] = ("miou", "bytes")) -> pd.DataFrame:
    """The feasible, complete, non-dominated trials, sorted by bytes (early-stopped trials,
    whose mIoU is partial, left out)."""
    ok = feasible_complete(df)
    if "early_stopped" in ok.columns:
        ok = ok[ok["early_stopped"] != True]  # noqa: E712
    if ok.empty:
        return pd.DataFrame(columns=FRONT_COLUMNS)
    if "spec" in ok.columns:  # a re-sampled architecture appears once (its first trial)
        spec = ok["spec"].fillna("")
        ok = ok[(spec == "") | ~spec.duplicated()]
    cost_cols = ["param_bytes"] + (["latency_ms"] if "latency" in objectives else [])
    mask = pareto_mask(ok["miou"].to_numpy(float), ok[cost_cols].to_numpy(float))
    front = ok[mask].sort_values(["param_bytes", "miou"])
    return front[[c for c in FRONT_COLUMNS if c in front.columns]].reset_index(drop=True)


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


def hypervolume_2d(miou: np.ndarray, param_bytes: np.ndarray,
                   ref_miou: float = HV_REFERENCE_MIOU,
                   ref_bytes: float = HV_REFERENCE_BYTES) -> float:
    """Area dominated by the points in (mIoU up, bytes down) space, bounded by the reference."""
    pairs = zip(miou, param_bytes, strict=True)
    pts = [(m, b) for m, b in pairs if m > ref_miou and b < ref_bytes]
    hv, best = 0.0, ref_miou
    for m, b in sorted(pts, key=lambda p: p[1]):  # sweep by bytes, ascending
        if m > best:
            hv += (m - best) * (ref_bytes - b)
            best = m
    return hv


def hypervolume_frame(df: pd.DataFrame, ref_miou: float = HV_REFERENCE_MIOU,
                      ref_bytes: float = HV_REFERENCE_BYTES) -> pd.DataFrame:
    """Hypervolume (mIoU x bytes) of the feasible trials up to each trial number."""
    if df.empty:
        return pd.DataFrame(columns=["number", "hypervolume"])
    ok = feasible_complete(df)
    rows = []
    for n in df["number"]:
        sub = ok[ok["number"] <= n]
        rows.append({"number": n, "hypervolume": hypervolume_2d(
            sub["miou"].to_numpy(float), sub["param_bytes"].to_numpy(float),
            ref_miou, ref_bytes)})
    return pd.DataFrame(rows)
