"""Pareto maths on the trials table: non-dominated rows, the front, knees, hypervolume.

Works on the frame of :func:`nas.report.trials_frame` (columns ``state``, ``feasible``,
``miou``, ``param_bytes``, ``latency_ms``, ...), whether built from a study or read from a
``trials.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nas.search._config import HV_REFERENCE_BYTES, HV_REFERENCE_MIOU
from nas.search._hypervolume import (
    HEADLINE_REF_MIOU,
    REACH_MIOUS,
    REF_MIOUS,
    bytes_to_reach,
    log_hypervolume,
    log_hypervolume_curve,
    weight_memory_bytes,
)

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


def log_hypervolume_frame(df: pd.DataFrame, device: str = "MAX78000",
                          ref_mious: Sequence[float] = REF_MIOUS) -> pd.DataFrame:
    """Hypervolume in (mIoU, log10 bytes) of the feasible complete trials up to each trial
    number: column ``number`` and one column per reference mIoU (named by the float), with the
    device's weight memory as the reference bytes. Units: mIoU x decades of bytes."""
    if df.empty:
        return pd.DataFrame(columns=["number", *ref_mious])
    d = df.sort_values("number")
    ok = (d["state"] == "COMPLETE") & (d["feasible"] == True)  # noqa: E712
    if "early_stopped" in d.columns:  # partial mIoU: left out, as from the front
        ok &= d["early_stopped"] != True  # noqa: E712
    miou = pd.to_numeric(d["miou"], errors="coerce").fillna(0.0).to_numpy(float)
    nbytes = pd.to_numeric(d["param_bytes"], errors="coerce").fillna(0.0).to_numpy(float)
    out: dict[object, np.ndarray] = {"number": d["number"].to_numpy()}
    ref_bytes = weight_memory_bytes(device)
    for ref in ref_mious:
        out[ref] = log_hypervolume_curve(miou, nbytes, ok.to_numpy(), ref, ref_bytes)
    return pd.DataFrame(out)


@dataclass(frozen=True)
class FrontQuality:
    """A study's front in the metrics that tell samplers apart (``benchmarks/sampler_seeds.py``).

    Attributes:
        device: whose weight memory bounds the hypervolume.
        ref_bytes: that weight memory, bytes.
        hypervolume: reference mIoU -> hypervolume in (mIoU, log10 bytes), mIoU x decades.
        bytes_to_reach: mIoU m -> fewest param bytes of a feasible trial with val mIoU >= m
            (``inf``: none yet).
    """

    device: str
    ref_bytes: int
    hypervolume: dict[float, float]
    bytes_to_reach: dict[float, float]

    def rows(self) -> list[tuple[str, str]]:
        """(what, value) pairs for a table; the headline reference first."""
        refs = sorted(self.hypervolume, key=lambda r: (r != HEADLINE_REF_MIOU, r))
        out = [(f"hypervolume, log10 bytes, ref. mIoU {r}"
                + (" (headline)" if r == HEADLINE_REF_MIOU else ""),
                f"{self.hypervolume[r]:.4f}") for r in refs]
        out += [(f"param bytes to reach val mIoU {m}", _bytes_text(b))
                for m, b in self.bytes_to_reach.items()]
        return out

    def lines(self) -> list[str]:
        """Three lines of at most 80 columns for the closing screen."""
        head = HEADLINE_REF_MIOU if HEADLINE_REF_MIOU in self.hypervolume else \
            next(iter(self.hypervolume))
        others = ", ".join(f"{r}: {v:.4f}" for r, v in self.hypervolume.items() if r != head)
        reach = ", ".join(f"{m}: {_bytes_text(b)}" for m, b in self.bytes_to_reach.items())
        return [f"hypervolume in (mIoU, log10 bytes) below {self.ref_bytes:,} B "
                f"({self.device}):",
                f"  ref. mIoU {head}: {self.hypervolume[head]:.4f}"
                + (f" ({others})" if others else ""),
                f"param bytes to reach val mIoU {reach}"]


def _bytes_text(b: float) -> str:
    return f"{b:,.0f}" if math.isfinite(b) else "not reached"


def front_quality(df: pd.DataFrame, device: str = "MAX78000",
                  ref_mious: Sequence[float] = REF_MIOUS,
                  reach_mious: Sequence[float] = REACH_MIOUS) -> FrontQuality:
    """:class:`FrontQuality` of the feasible complete trials of ``df`` (references included:
    every study trains the same ones; early-stopped trials, whose mIoU is partial, left out as
    from the front)."""
    ok = feasible_complete(df)
    if "early_stopped" in ok.columns:
        ok = ok[ok["early_stopped"] != True]  # noqa: E712
    miou = pd.to_numeric(ok["miou"], errors="coerce").fillna(0.0).to_numpy(float) \
        if len(ok) else np.zeros(0)
    nbytes = pd.to_numeric(ok["param_bytes"], errors="coerce").fillna(0.0).to_numpy(float) \
        if len(ok) else np.zeros(0)
    ref_bytes = weight_memory_bytes(device)
    return FrontQuality(
        device=device, ref_bytes=ref_bytes,
        hypervolume={r: log_hypervolume(miou, nbytes, r, ref_bytes) for r in ref_mious},
        bytes_to_reach={m: bytes_to_reach(miou, nbytes, m) for m in reach_mious},
    )
