"""Tables: the trials of a study as a DataFrame, trial counts, and formatted front tables."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from optuna.trial import FrozenTrial

from nas.studyio import checkpoint_status

# What "bytes" means wherever the report shows one: the search's objective, izer's Weight
# memory + Bias memory from the hardware model (``param_bytes``).
PARAM_BYTES = "param bytes (weights + biases)"

TRIAL_COLUMNS = [
    "number", "state", "reference", "feasible", "trained", "early_stopped", "miou",
    "param_bytes",
    "weight_bytes", "bias_bytes", "latency_ms", "kernel_words_used", "pixel_accuracy",
    "train_seconds", "epochs", "preset_epochs", "arch", "violations", "checkpoint_artifact_id",
    "checkpoint",
    "fail_reason", "datetime_start", "duration_s",
]


def _row(t: FrozenTrial, artifact_dir: Path | None) -> dict:
    ua = t.user_attrs
    feasible = ua.get("feasible")
    if feasible is None and t.constraints:
        feasible = all(c <= 0 for c in t.constraints.values())
    row = {
        "number": t.number,
        "state": t.state.name,
        "reference": ua.get("reference", ""),
        "feasible": feasible,
        "trained": ua.get("trained", False),
        "early_stopped": bool(ua.get("early_stopped", False)),
        "miou": t.values[0] if t.values else ua.get("miou"),
        "param_bytes": ua.get("param_bytes"),
        "weight_bytes": ua.get("weight_bytes"),
        "bias_bytes": ua.get("bias_bytes"),
        "latency_ms": ua.get("latency_ms"),
        "kernel_words_used": ua.get("kernel_words_used"),
        "pixel_accuracy": ua.get("pixel_accuracy"),
        "train_seconds": ua.get("train_seconds"),
        "epochs": ua.get("epochs"),
        "preset_epochs": ua.get("preset_epochs"),  # set only when early stop was on
        "arch": ua.get("arch", ""),
        "violations": "; ".join(ua.get("violations", [])),
        "checkpoint_artifact_id": ua.get("checkpoint_artifact_id"),
        "checkpoint": checkpoint_status(artifact_dir, ua.get("checkpoint_artifact_id")),
        "fail_reason": ua.get("fail_reason", ""),
        "datetime_start": t.datetime_start,
        "duration_s": t.duration.total_seconds() if t.duration else None,
    }
    for name, iou in (ua.get("per_class_iou") or {}).items():
        row[f"iou_{name}"] = iou
    for name, value in t.params.items():
        row[f"param_{name}"] = value
    row["spec"] = ua.get("spec", "")
    return row


def trials_frame(trials: Sequence[FrozenTrial], artifact_dir: Path | None = None) -> pd.DataFrame:
    """One row per trial (surplus trials left out), in trial order."""
    rows = [_row(t, artifact_dir) for t in trials if not t.user_attrs.get("surplus")]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=TRIAL_COLUMNS)
    return df.sort_values("number").reset_index(drop=True)


def read_trials_csv(path: str | Path) -> pd.DataFrame:
    """A ``trials.csv`` written by the search, with the types :func:`trials_frame` gives."""
    df = pd.read_csv(path)
    for col in ("reference", "arch", "violations", "fail_reason", "spec"):
        if col in df.columns:
            df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    for col in ("feasible", "trained", "early_stopped"):
        if col in df.columns:
            df[col] = df[col].map({True: True, False: False, "True": True, "False": False})
    return df


def trial_counts(df: pd.DataFrame) -> dict[str, int]:
    """``total``, ``complete``, ``feasible``, ``infeasible`` (not trained), ``references``,
    ``failed``, ``running`` and ``trained`` trials of a trials frame. Feasible and infeasible
    count searched trials only, so complete = feasible + infeasible + references."""
    if df.empty:
        return dict.fromkeys(("total", "complete", "feasible", "infeasible", "references",
                              "failed", "running", "trained"), 0)
    complete = df[df["state"] == "COMPLETE"]
    refs = complete["reference"].fillna("") != ""
    return {
        "total": len(df),
        "complete": len(complete),
        "feasible": int(((complete["feasible"] == True) & ~refs).sum()),  # noqa: E712
        "infeasible": int(((complete["feasible"] != True) & ~refs).sum()),  # noqa: E712
        "references": int(refs.sum()),
        "failed": int((df["state"] == "FAIL").sum()),
        "running": int((df["state"] == "RUNNING").sum()),
        "trained": int((complete["trained"] == True).sum()),  # noqa: E712
    }


def counts_text(c: dict[str, int]) -> str:
    """One sentence of :func:`trial_counts`."""
    return (f"{c['complete']} complete trials ({c['feasible']} feasible, {c['infeasible']} "
            f"infeasible and not trained, {c['references']} references), {c['failed']} failed, "
            f"{c['running']} running")


def _role(row: pd.Series, knees: set[int]) -> str:
    ref = row.get("reference") or ""
    if ref:
        return ref
    return "knee" if int(row["number"]) in knees else ""


def front_table(front: pd.DataFrame, knees: pd.DataFrame | None = None,
                arch: bool = True) -> pd.DataFrame:
    """The front for people: trial, role (reference / knee), mIoU to 3 places, bytes with
    thousands separators, latency in ms, the architecture; no ids."""
    knee_set = set(knees["number"].astype(int)) if knees is not None and len(knees) else set()
    rows = []
    for _, r in front.iterrows():
        lat = r.get("latency_ms")
        row = {
            "trial": int(r["number"]),
            "role": _role(r, knee_set),
            "val mIoU": f"{float(r['miou']):.3f}",
            PARAM_BYTES: f"{int(r['param_bytes']):,}",
            "latency ms": f"{float(lat):.1f}" if lat is not None and pd.notna(lat) else "",
        }
        if arch:
            row["architecture"] = r.get("arch", "")
        rows.append(row)
    columns = ["trial", "role", "val mIoU", PARAM_BYTES, "latency ms"] + (
        ["architecture"] if arch else [])
    return pd.DataFrame(rows, columns=columns)


def summary_text(front: pd.DataFrame, paths: dict[str, Path], counts: dict[str, int],
                 knees: pd.DataFrame | None = None, max_rows: int = 12,
                 quality: Sequence[str] = ()) -> str:
    """The closing screen (fits 80 columns): counts, the front as a table, its quality
    (``quality``: lines of at most 80 columns), the files written.

    ``counts`` is :func:`trial_counts`'s dict.
    """
    c = counts
    lines = [f"trials: {c['complete']} complete, {c['failed']} failed, {c['running']} running",
             f"  complete: {c['feasible']} feasible, {c['infeasible']} infeasible (not "
             f"trained), {c['references']} references",
             f"Pareto front: {len(front)} trials (val mIoU up, {PARAM_BYTES} down)"]
    if front.empty:
        lines.append("  (empty)")
    else:
        show = front
        if len(show) > max_rows:  # one screen: spread the rows over the front
            show = show.iloc[np.linspace(0, len(show) - 1, max_rows).round().astype(int)]
        table = front_table(show, knees, arch=False).rename(
            columns={PARAM_BYTES: "param bytes"})
        lines.append(table.to_string(index=False))
        if len(show) < len(front):
            lines.append(f"  ({len(front) - len(show)} more in pareto.csv)")
    lines += list(quality)
    lines += [f"{name:>8}: {path}" for name, path in paths.items()]
    return "\n".join(lines)
