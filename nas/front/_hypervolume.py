"""Hypervolumes of a front and the bytes it takes to reach an mIoU.

With bytes on a linear axis and the reference point at mIoU 0 (:func:`hypervolume_2d`, the
first sampler comparisons), any decent small net fills most of the area and every sampler
scores alike. :func:`log_hypervolume` scores the front in (mIoU up, log10 bytes down) with the
reference point at a demanding mIoU (0.6 headline; 0.5 and 0.7 beside it) and the device's
whole weight memory, so a sampler gains area by finding nets that are both accurate and small.
The reference bytes always come from the device table (:func:`weight_memory_bytes`). Pure
functions of numbers: no Optuna, no study.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nas.hardware import DEFAULT_DEVICE, get_device

HEADLINE_REF_MIOU = 0.6
REF_MIOUS = (0.5, 0.6, 0.7)
REACH_MIOUS = (0.6, 0.7, 0.75)


def weight_memory_bytes(device: str = DEFAULT_DEVICE) -> int:
    """The device's kernel memory in bytes as izer prints it (64 processors x 768 kernels x
    9 bytes on MAX78000)."""
    return get_device(device).kernel_bytes_total


# Reference point of the linear-bytes hypervolume: mIoU 0 and the default device's whole
# weight memory.
HV_REFERENCE_MIOU = 0.0
HV_REFERENCE_BYTES = weight_memory_bytes(DEFAULT_DEVICE)


def log_hypervolume(
    miou: Sequence[float] | np.ndarray,
    param_bytes: Sequence[float] | np.ndarray,
    ref_miou: float = HEADLINE_REF_MIOU,
    ref_bytes: float | None = None,
) -> float:
    """Area dominated by the points in (mIoU up, log10 bytes down), bounded by the reference
    point (``ref_miou``, log10 ``ref_bytes``; default the default device's weight memory).

    Units: mIoU x decades of bytes. Points at or below ``ref_miou``, at or above
    ``ref_bytes``, or with non-positive bytes add nothing.
    """
    ref_bytes = weight_memory_bytes() if ref_bytes is None else ref_bytes
    m = np.asarray(miou, dtype=float)
    b = np.asarray(param_bytes, dtype=float)
    if m.shape != b.shape:
        raise ValueError(f"miou and param_bytes must have one length, got {m.shape} and "
                         f"{b.shape}")
    keep = (m > ref_miou) & (b < ref_bytes) & (b > 0)
    log_ref = math.log10(ref_bytes)
    hv, best = 0.0, ref_miou
    for k in np.lexsort((-m[keep], b[keep])):  # sweep by bytes ascending, best mIoU first
        mk, bk = m[keep][k], b[keep][k]
        if mk > best:
            hv += (mk - best) * (log_ref - math.log10(bk))
            best = mk
    return float(hv)


def log_hypervolume_curve(
    miou: Sequence[float] | np.ndarray,
    param_bytes: Sequence[float] | np.ndarray,
    feasible: Sequence[bool] | np.ndarray,
    ref_miou: float = HEADLINE_REF_MIOU,
    ref_bytes: float | None = None,
) -> np.ndarray:
    """:func:`log_hypervolume` of the feasible points among the first k, for k = 1..n (points
    in trial order)."""
    m = np.asarray(miou, dtype=float)
    b = np.asarray(param_bytes, dtype=float)
    ok = np.asarray(feasible, dtype=bool)
    out = np.zeros(len(m))
    for k in range(len(m)):
        if k and not ok[k]:  # the front only changes when a feasible point arrives
            out[k] = out[k - 1]
            continue
        sel = ok[: k + 1]
        out[k] = log_hypervolume(m[: k + 1][sel], b[: k + 1][sel], ref_miou, ref_bytes)
    return out


def bytes_to_reach(
    miou: Sequence[float] | np.ndarray,
    param_bytes: Sequence[float] | np.ndarray,
    target: float,
) -> float:
    """Fewest bytes among points with mIoU >= ``target``; ``inf`` if none reaches it."""
    m = np.asarray(miou, dtype=float)
    b = np.asarray(param_bytes, dtype=float)
    hit = b[m >= target]
    return float(hit.min()) if hit.size else math.inf


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
