"""The front and the hypervolume of a trials table, as frames.

Works on the frame of :func:`nas.report.trials_frame` (columns ``state``, ``feasible``,
``miou``, ``param_bytes``, ``latency_ms``, ...), whether built from a study or read from a
``trials.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nas.front._dominance import pareto_mask
from nas.front._hypervolume import (
    HV_REFERENCE_BYTES,
    HV_REFERENCE_MIOU,
    REF_MIOUS,
    hypervolume_2d,
    log_hypervolume_curve,
    weight_memory_bytes,
)
from nas.hardware import DEFAULT_DEVICE

FRONT_COLUMNS = ["number", "reference", "miou", "param_bytes", "latency_ms", "arch",
                 "checkpoint_artifact_id"]


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


def log_hypervolume_frame(df: pd.DataFrame, device: str = DEFAULT_DEVICE,
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
