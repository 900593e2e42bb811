"""Reports: tables and figures built from the study, written atomically.

The builders return objects (``DataFrame``, ``go.Figure``); :func:`write_reports` decides what
is saved where and pushes the figures to optuna-dashboard.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import plotly.graph_objects as go
from optuna.trial import FrozenTrial

from nas._atomic import atomic_open
from nas.search._config import HV_REFERENCE_BYTES, HV_REFERENCE_MIOU

TRIAL_COLUMNS = [
    "number", "state", "reference", "feasible", "trained", "miou", "param_bytes",
    "weight_bytes", "bias_bytes", "latency_ms", "kernel_words_used", "pixel_accuracy",
    "train_seconds", "epochs", "arch", "violations", "checkpoint_artifact_id", "checkpoint",
    "fail_reason", "datetime_start", "duration_s",
]
FRONT_COLUMNS = ["number", "reference", "miou", "param_bytes", "latency_ms", "arch",
                 "checkpoint_artifact_id"]
TORCH_ZIP_MAGIC = b"PK"  # torch.save's default (zip) format


# -- atomic files ---------------------------------------------------------------------------
def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temp file and rename: readers never see half a file."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(path)


# -- checkpoints -------------------------------------------------------------------------------
def checkpoint_status(artifact_dir: Path | None, artifact_id: str | None) -> str:
    """``ok``, ``none`` (never trained), ``missing`` or ``corrupt`` for one trial's checkpoint."""
    if not artifact_id:
        return "none"
    if artifact_dir is None:
        return "unknown"
    path = Path(artifact_dir) / artifact_id
    if not path.is_file():
        return "missing"
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError:
        return "corrupt"
    return "ok" if head == TORCH_ZIP_MAGIC and path.stat().st_size > 64 else "corrupt"


def checkpoint_path(study: optuna.Study, number: int, artifact_dir: str | Path) -> Path:
    """Path of trial ``number``'s checkpoint in the artifact store, checked.

    Raises:
        ValueError: naming the trial, if it has no checkpoint or the file is missing/corrupt.
    """
    trials = [t for t in study.get_trials(deepcopy=False) if t.number == number]
    if not trials:
        raise ValueError(f"study {study.study_name!r} has no trial {number}")
    artifact_id = trials[0].user_attrs.get("checkpoint_artifact_id")
    status = checkpoint_status(Path(artifact_dir), artifact_id)
    if status == "none":
        raise ValueError(f"trial {number} has no checkpoint (it was not trained)")
    if status != "ok":
        raise ValueError(
            f"trial {number}: checkpoint artifact {artifact_id} is {status} in {artifact_dir}; "
            "retrain this trial (the other trials are unaffected)"
        )
    return Path(artifact_dir) / artifact_id


# -- tables ------------------------------------------------------------------------------------
def _row(t: FrozenTrial, n_objectives: int, artifact_dir: Path | None) -> dict:
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
        "miou": t.values[0] if t.values else ua.get("miou"),
        "param_bytes": ua.get("param_bytes"),
        "weight_bytes": ua.get("weight_bytes"),
        "bias_bytes": ua.get("bias_bytes"),
        "latency_ms": ua.get("latency_ms"),
        "kernel_words_used": ua.get("kernel_words_used"),
        "pixel_accuracy": ua.get("pixel_accuracy"),
        "train_seconds": ua.get("train_seconds"),
        "epochs": ua.get("epochs"),
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


def trials_frame(
    trials: Sequence[FrozenTrial], n_objectives: int = 2, artifact_dir: Path | None = None
) -> pd.DataFrame:
    """One row per trial (surplus trials left out), in trial order."""
    rows = [_row(t, n_objectives, artifact_dir) for t in trials
            if not t.user_attrs.get("surplus")]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=TRIAL_COLUMNS)
    return df.sort_values("number").reset_index(drop=True)


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


def _done(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    return df[(df["state"] == "COMPLETE") & (df["feasible"] == True)]  # noqa: E712


def pareto_frame(df: pd.DataFrame, objectives: Sequence[str] = ("miou", "bytes")) -> pd.DataFrame:
    """The feasible, complete, non-dominated trials, sorted by bytes."""
    ok = _done(df)
    if ok.empty:
        return pd.DataFrame(columns=FRONT_COLUMNS)
    if "spec" in ok.columns:  # a re-sampled architecture appears once (its first trial)
        ok = ok[(ok["spec"] == "") | ~ok["spec"].duplicated()]
    cost_cols = ["param_bytes"] + (["latency_ms"] if "latency" in objectives else [])
    mask = pareto_mask(ok["miou"].to_numpy(), ok[cost_cols].to_numpy(float))
    front = ok[mask].sort_values(["param_bytes", "miou"])
    return front[FRONT_COLUMNS].reset_index(drop=True)


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
    ok = _done(df)
    rows = []
    for n in df["number"]:
        sub = ok[ok["number"] <= n]
        rows.append({"number": n, "hypervolume": hypervolume_2d(
            sub["miou"].to_numpy(float), sub["param_bytes"].to_numpy(float),
            ref_miou, ref_bytes)})
    return pd.DataFrame(rows)


def write_figure(fig: go.Figure, path: str | Path) -> Path:
    """Save ``fig`` as an image at ``path`` (PNG etc.), or as HTML beside it without kaleido.

    Static images need the optional ``kaleido`` package (``pip install .[plots]``) and a
    Chrome/Chromium for it; without them the figure is still kept, as ``path`` with ``.html``.
    Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.write_image(path)
        return path
    except Exception:  # kaleido missing, or no browser for it: keep the figure as HTML
        html = path.with_suffix(".html")
        fig.write_html(html, include_plotlyjs="cdn")
        return html


# -- figures -----------------------------------------------------------------------------------
def _hover(d: pd.DataFrame) -> list[str]:
    out = []
    for r in d.itertuples():
        name = f" ({r.reference})" if r.reference else ""
        lat = f"{r.latency_ms:.2f} ms" if pd.notna(r.latency_ms) else "n/a"
        extra = f"<br>violations: {r.violations}" if r.violations else ""
        out.append(
            f"trial {r.number}{name}<br>mIoU {r.miou:.4f}, {int(r.param_bytes):,} bytes, "
            f"latency {lat}<br>{r.arch}{extra}"
        )
    return out


def front_figure(df: pd.DataFrame, objectives: Sequence[str] = ("miou", "bytes"),
                 title: str = "Pareto front") -> go.Figure:
    """mIoU vs parameter bytes: trials, the front, references (labelled), infeasible (x)."""
    fig = go.Figure()
    complete = df[df["state"] == "COMPLETE"] if not df.empty else df
    ok = _done(df)
    infeasible = complete[complete["feasible"] != True] if not df.empty else df  # noqa: E712
    if not infeasible.empty:  # references are drawn (and trained) apart, feasible or not
        infeasible = infeasible[infeasible["reference"] == ""]
    front = pareto_frame(df, objectives)
    plain = ok[ok["reference"] == ""] if not ok.empty else ok
    fig.add_trace(go.Scatter(
        x=plain.get("param_bytes", []), y=plain.get("miou", []), mode="markers",
        name="feasible trials", marker=dict(color="#6b8fc7", size=8, opacity=0.7),
        hovertext=_hover(plain), hoverinfo="text"))
    if not front.empty:
        f = ok[ok["number"].isin(front["number"])].sort_values("param_bytes")
        fig.add_trace(go.Scatter(
            x=f["param_bytes"], y=f["miou"], mode="lines+markers", name="Pareto front",
            line=dict(color="#d62728", shape="hv"), marker=dict(size=10, color="#d62728"),
            hovertext=_hover(f), hoverinfo="text"))
    if not infeasible.empty:
        fig.add_trace(go.Scatter(
            x=infeasible["param_bytes"], y=infeasible["miou"], mode="markers",
            name="infeasible (not trained)",
            marker=dict(symbol="x", color="#999999", size=8),
            hovertext=_hover(infeasible), hoverinfo="text"))
    refs = complete[complete["reference"] != ""] if not complete.empty else complete
    if not refs.empty:
        fig.add_trace(go.Scatter(
            x=refs["param_bytes"], y=refs["miou"], mode="markers+text", name="references",
            text=[r if f is True else f"{r} (does not fit)"
                  for r, f in zip(refs["reference"], refs["feasible"], strict=True)],
            textposition="top center",
            marker=dict(symbol="star", size=16, color="#2ca02c",
                        line=dict(color="black", width=1)),
            hovertext=_hover(refs), hoverinfo="text"))
    fig.add_vline(x=HV_REFERENCE_BYTES, line=dict(color="#999", dash="dot"),
                  annotation_text="MAX78000 weight memory")
    fig.update_layout(title=title, xaxis_title="parameter bytes (weights + biases)",
                      yaxis_title="val mIoU", template="plotly_white", hovermode="closest")
    return fig


def hypervolume_figure(df: pd.DataFrame) -> go.Figure:
    """Hypervolume of the feasible front after each trial."""
    hv = hypervolume_frame(df)
    fig = go.Figure(go.Scatter(x=hv["number"], y=hv["hypervolume"], mode="lines+markers",
                               name="hypervolume"))
    fig.update_layout(
        title=f"Hypervolume (reference: mIoU {HV_REFERENCE_MIOU}, {HV_REFERENCE_BYTES:,} bytes)",
        xaxis_title="trial", yaxis_title="hypervolume (mIoU x bytes)", template="plotly_white")
    return fig


def report_html(figures: Sequence[go.Figure], title: str, tables: Sequence[pd.DataFrame]) -> str:
    """One self-contained HTML page (plotly.js inlined: works offline)."""
    parts = [f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>",
             f"<h1>{title}</h1>"]
    for i, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    for table in tables:
        parts.append(table.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}"))
    parts.append("</body></html>")
    return "\n".join(parts)


# -- everything at once -----------------------------------------------------------------------
def write_reports(study: optuna.Study, out_dir: str | Path, *,
                  objectives: Sequence[str] = ("miou", "bytes"),
                  artifact_dir: Path | None = None, dashboard: bool = True) -> dict[str, Path]:
    """Write ``trials.csv``, ``pareto.csv`` and ``report.html``; push figures to the dashboard.

    Returns:
        name -> path written.
    """
    out_dir = Path(out_dir)
    df = trials_frame(study.get_trials(deepcopy=False), len(objectives), artifact_dir)
    front = pareto_frame(df, objectives)
    figs = [front_figure(df, objectives, title=f"{study.study_name}: mIoU vs parameter bytes"),
            hypervolume_figure(df)]
    paths = {
        "trials": atomic_write_text(out_dir / "trials.csv", df.to_csv(index=False)),
        "pareto": atomic_write_text(out_dir / "pareto.csv", front.to_csv(index=False)),
        "report": atomic_write_text(out_dir / "report.html", report_html(
            figs, f"maxnas study {study.study_name}", [front])),
    }
    if dashboard:
        push_to_dashboard(study, figs)
    return paths


def push_to_dashboard(study: optuna.Study, figures: Sequence[go.Figure]) -> None:
    """Store the figures in the study so ``optuna-dashboard`` shows them (fixed ids: updated)."""
    from optuna_dashboard import save_plotly_graph_object

    for gid, fig in zip(("maxnas-front", "maxnas-hypervolume"), figures, strict=False):
        save_plotly_graph_object(study, fig, graph_object_id=gid)


def summary_text(front: pd.DataFrame, paths: dict[str, Path], counts: dict[str, int],
                 n_feasible: int, max_rows: int = 12) -> str:
    """The closing screen: counts, the front as a table, the files written."""
    lines = [
        f"trials: {counts.get('COMPLETE', 0)} complete ({n_feasible} feasible), "
        f"{counts.get('FAIL', 0)} failed, {counts.get('RUNNING', 0)} running",
        f"Pareto front ({len(front)} trials):",
    ]
    if front.empty:
        lines.append("  (empty)")
    else:
        show = front[["number", "reference", "miou", "param_bytes", "latency_ms", "arch"]]
        if len(show) > max_rows:  # one screen: spread the rows over the front
            show = show.iloc[np.linspace(0, len(show) - 1, max_rows).round().astype(int)]
        lines.append(show.to_string(index=False, max_colwidth=70,
                                    float_format=lambda v: f"{v:.4f}"))
        if len(show) < len(front):
            lines.append(f"  ({len(front) - len(show)} more in pareto.csv)")
    lines += [f"{name:>8}: {path}" for name, path in paths.items()]
    return "\n".join(lines)


def front_json(front: pd.DataFrame) -> str:
    return json.dumps(front.to_dict(orient="records"), default=str)
