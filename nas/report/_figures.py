"""Figures: the front (log bytes, infeasible trials in a strip below) and the hypervolume."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nas.report._labels import CHAR_PX, LABEL_H_PX, place_labels
from nas.report._legend import legend_below
from nas.report._tables import PARAM_BYTES

# 420 px of plot (front and strip) under a two-line title, above the x-axis title and a
# two-row legend (the five entries of a front take two rows at 720 px wide)
FRONT_HEIGHT_PX = 590
HV_HEIGHT_PX = 360
_MARGIN = dict(l=70, r=30, t=60, b=60)
_STRIP = 0.14  # the infeasible strip's share of the plot height
_COLORS = {"trial": "#6b8fc7", "front": "#d62728", "infeasible": "#8c8c8c",
           "reference": "#2ca02c", "knee": "#ff7f0e"}


def _hover(d: pd.DataFrame) -> list[str]:
    out = []
    for r in d.itertuples():
        name = f" ({r.reference})" if r.reference else ""
        lat = f"{r.latency_ms:.2f} ms" if pd.notna(r.latency_ms) else "n/a"
        extra = f"<br>violations: {r.violations}" if getattr(r, "violations", "") else ""
        out.append(
            f"trial {r.number}{name}<br>val mIoU {r.miou:.4f}, {int(r.param_bytes):,} "
            f"{PARAM_BYTES}, latency {lat}<br>{r.arch}{extra}")
    return out


def _short_bytes(v: float) -> str:
    """``500``, ``20k``, ``1.5M``."""
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if v >= div:
            return f"{v / div:g}{unit}"
    return f"{v:g}"


def _is(col: pd.Series, value: bool) -> pd.Series:
    return col == value if value else col != True  # noqa: E712  (None/NaN count as not True)


def front_figure(df: pd.DataFrame, front: pd.DataFrame, knees: pd.DataFrame | None = None, *,
                 title: str = "Pareto front", limit_bytes: float | None = None,
                 limit_label: str = "", width_px: int = 1200,
                 height_px: int = FRONT_HEIGHT_PX) -> go.Figure:
    """Val mIoU vs param bytes on a log axis; the infeasible trials in a strip below.

    The legend is under the x-axis title, out of the plot.

    Args:
        df: the trials (:func:`nas.report.trials_frame`).
        front: its Pareto front (drawn as a red staircase).
        knees: knee points of the front, labelled with their trial number.
        limit_bytes: a vertical line (e.g. the device's weight memory), labelled ``limit_label``.
        width_px: the width in pixels the labels and the legend are laid out for (labels are
            placed in pixels; the bottom margin holds the legend's rows at this width). A
            figure shown wider keeps them clear; give the narrowest width it is shown at.
        height_px: the figure's height in pixels.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[1 - _STRIP, _STRIP],
                        vertical_spacing=0.02)
    complete = df[df["state"] == "COMPLETE"] if not df.empty else df
    refs_mask: Any = complete["reference"].fillna("") != "" if not complete.empty else []
    refs = complete[refs_mask] if not complete.empty else complete
    plain = complete[~refs_mask] if not complete.empty else complete
    ok = plain[_is(plain["feasible"], True)] if not plain.empty else plain
    bad = plain[_is(plain["feasible"], False)] if not plain.empty else plain

    labelled = _add_traces(fig, complete, ok, bad, refs, front, knees)
    x0, x1, y0, y1 = _axis_ranges(complete, ok, refs, limit_bytes)
    if limit_bytes:
        for row in (1, 2):
            fig.add_vline(x=limit_bytes, line=dict(color="#999", dash="dot"), row=row, col=1)
        fig.add_annotation(x=math.log10(limit_bytes), y=y1, xref="x", yref="y",
                           text=limit_label, showarrow=False, xanchor="right", yanchor="top",
                           font=dict(size=11, color="#777"))
    _layout(fig, title, (x0, x1, y0, y1))
    legend_below(fig, width_px=width_px, height_px=height_px,
                 margin={k: v for k, v in _MARGIN.items() if k != "b"})
    limit = (limit_bytes, limit_label) if limit_bytes and limit_label else None
    _add_labels(fig, labelled, (x0, x1, y0, y1), width_px, limit)
    return fig


def _add_traces(fig: go.Figure, complete: pd.DataFrame, ok: pd.DataFrame, bad: pd.DataFrame,
                refs: pd.DataFrame, front: pd.DataFrame,
                knees: pd.DataFrame | None) -> list[tuple[float, float, str]]:
    """Feasible trials, front, knees and references above; infeasible trials in the strip.

    Returns the points to label: (param bytes, mIoU, text).
    """
    fig.add_trace(go.Scatter(
        x=ok.get("param_bytes", []), y=ok.get("miou", []), mode="markers",
        name="feasible trials", marker=dict(color=_COLORS["trial"], size=7, opacity=0.6),
        hovertext=_hover(ok), hoverinfo="text"), row=1, col=1)
    if not front.empty:
        f = front.sort_values("param_bytes")
        f = complete[complete["number"].isin(f["number"])].sort_values("param_bytes")
        fig.add_trace(go.Scatter(
            x=f["param_bytes"], y=f["miou"], mode="lines+markers", name="Pareto front",
            line=dict(color=_COLORS["front"], shape="hv"),
            marker=dict(size=9, color=_COLORS["front"]),
            hovertext=_hover(f), hoverinfo="text"), row=1, col=1)
    labelled: list[tuple[float, float, str]] = []
    if knees is not None and len(knees):
        k = complete[complete["number"].isin(knees["number"])]
        fig.add_trace(go.Scatter(
            x=k["param_bytes"], y=k["miou"], mode="markers", name="knees of the front",
            marker=dict(symbol="diamond", size=13, color=_COLORS["knee"],
                        line=dict(color="black", width=1)),
            hovertext=_hover(k), hoverinfo="text"), row=1, col=1)
        labelled += [(float(r.param_bytes), float(r.miou), f"knee: trial {r.number}")
                     for r in k.itertuples()]
    if not refs.empty:
        fig.add_trace(go.Scatter(
            x=refs["param_bytes"], y=refs["miou"], mode="markers", name="references",
            marker=dict(symbol="star", size=16, color=_COLORS["reference"],
                        line=dict(color="black", width=1)),
            hovertext=_hover(refs), hoverinfo="text"), row=1, col=1)
        labelled += [(float(r.param_bytes), float(r.miou),
                      r.reference if r.feasible is True else f"{r.reference} (does not fit)")
                     for r in refs.itertuples()]
    if not bad.empty:
        # A strip of its own: their mIoU is 0 (never trained), which would squash the front.
        jitter = np.random.default_rng(0).uniform(-0.3, 0.3, len(bad))
        fig.add_trace(go.Scatter(
            x=bad["param_bytes"], y=jitter, mode="markers",
            name=f"infeasible, not trained ({len(bad)})",
            marker=dict(symbol="x", color=_COLORS["infeasible"], size=7),
            hovertext=_hover(bad), hoverinfo="text"), row=2, col=1)
    return labelled


def _axis_ranges(complete: pd.DataFrame, ok: pd.DataFrame, refs: pd.DataFrame,
                 limit_bytes: float | None) -> tuple[float, float, float, float]:
    """(x0, x1) in log10 bytes and (y0, y1) in mIoU of the upper plot."""
    # Every trial's bytes on a log axis; mIoU of the trained ones only.
    all_bytes = complete["param_bytes"].dropna().astype(float) if not complete.empty else []
    all_bytes = [b for b in all_bytes if b > 0] + ([limit_bytes] if limit_bytes else [])
    x0, x1 = (math.log10(min(all_bytes)) - 0.08, math.log10(max(all_bytes)) + 0.08) \
        if all_bytes else (3.0, 6.0)
    trained = pd.concat([ok, refs]) if not complete.empty else complete
    ys = trained["miou"].dropna().astype(float) if not trained.empty else pd.Series([0.0, 1.0])
    y0, y1 = (float(ys.min()), float(ys.max())) if len(ys) else (0.0, 1.0)
    pad = max(0.02, 0.08 * (y1 - y0))
    y0, y1 = y0 - pad, y1 + 2.5 * pad  # room for labels above the top points
    return x0, x1, y0, y1


def _add_labels(fig: go.Figure, labelled: list[tuple[float, float, str]],
                ranges: tuple[float, float, float, float], width_px: int,
                limit: tuple[float, str] | None = None) -> None:
    """Labels placed in pixels of the upper plot so that none overlaps another, nor the
    ``limit`` line's (bytes, text) label at its top (``fig`` has its height and margins)."""
    x0, x1, y0, y1 = ranges
    m = fig.layout.margin
    plot_w = width_px - m.l - m.r
    plot_h = (fig.layout.height - m.t - m.b) * (1 - _STRIP)
    px = [((math.log10(x) - x0) / (x1 - x0) * plot_w, (y1 - y) / (y1 - y0) * plot_h)
          for x, y, _ in labelled]
    obstacles = []
    if limit is not None:  # right-aligned to the line, at the top (see front_figure)
        right = (math.log10(limit[0]) - x0) / (x1 - x0) * plot_w
        obstacles.append((right - CHAR_PX * len(limit[1]), 0.0, right, LABEL_H_PX))
    offsets = place_labels(px, [t for *_, t in labelled], plot_w, plot_h, obstacles)
    for (x, y, text), (dx, dy) in zip(labelled, offsets, strict=True):
        fig.add_annotation(x=math.log10(x), y=y, xref="x", yref="y", text=text, ax=dx, ay=dy,
                           showarrow=True, arrowhead=0, arrowwidth=1, arrowcolor="#555",
                           font=dict(size=12), bgcolor="rgba(255,255,255,0.8)")


def _layout(fig: go.Figure, title: str, ranges: tuple[float, float, float, float]) -> None:
    """Log byte axis with 1-2-5 ticks, the mIoU axis and the strip's axis."""
    x0, x1, y0, y1 = ranges
    ticks = [m * 10**e for e in range(0, 10) for m in (1, 2, 5)
             if x0 <= math.log10(m * 10**e) <= x1]
    fig.update_xaxes(type="log", range=[x0, x1], tickvals=ticks, row=1, col=1)
    fig.update_xaxes(type="log", range=[x0, x1], tickvals=ticks,
                     ticktext=[_short_bytes(v) for v in ticks],
                     title_text=f"{PARAM_BYTES}, log scale", row=2, col=1)
    fig.update_yaxes(title_text="val mIoU", range=[y0, y1], row=1, col=1)
    fig.update_yaxes(range=[-0.5, 0.5], showticklabels=False, title_text="infeasible",
                     title_font=dict(size=11), showgrid=False, zeroline=False, row=2, col=1)
    fig.update_layout(title=title, template="plotly_white", hovermode="closest")


def hypervolume_figure(hv: pd.DataFrame, ref_bytes: float, headline: float | None = None,
                       device: str = "") -> go.Figure:
    """Hypervolume in (mIoU, log10 bytes) of the feasible front after each trial.

    Args:
        hv: column ``number`` and one column per reference mIoU (the column name is the mIoU).
        ref_bytes: the reference bytes (the device's weight memory).
        headline: the reference mIoU drawn bold.
        device: named in the subtitle.
    """
    fig = go.Figure()
    for ref in [c for c in hv.columns if c != "number"]:
        bold = ref == headline
        fig.add_trace(go.Scatter(x=hv["number"], y=hv[ref], mode="lines",
                                 name=f"ref. mIoU {ref}" + (" (headline)" if bold else ""),
                                 line=dict(width=3 if bold else 1.5)))
    where = f"{ref_bytes:,.0f} param bytes" + (f" ({device} weight memory)" if device else "")
    fig.update_layout(
        title=f"Hypervolume after each trial, bytes on a log axis<br><sup>reference point: "
              f"the mIoU named in the legend, {where}</sup>",
        xaxis_title="trial", yaxis_title="hypervolume (mIoU x decades of bytes)",
        template="plotly_white", height=HV_HEIGHT_PX, margin=_MARGIN)
    return fig


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
