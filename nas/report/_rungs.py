"""The rungs of a search (``--rungs``): each rung's front, and how promotion reordered nets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nas.front import staircase
from nas.report._legend import legend_below
from nas.report._tables import PARAM_BYTES
from nas.studyio import miou_key

RUNG_PREFIX = miou_key("")  # miou@<preset>: one column per rung
_PALETTE = ("#6b8fc7", "#d62728", "#9467bd", "#8c564b")


def rung_names(df: pd.DataFrame) -> list[str]:
    """The rung presets of a trials frame, lowest first (its ``miou@<preset>`` columns)."""
    return [c[len(RUNG_PREFIX):] for c in df.columns if c.startswith(RUNG_PREFIX)]


def _front(d: pd.DataFrame, col: str) -> pd.DataFrame:
    """Non-dominated (max ``col``, min bytes) rows of the searched feasible trials."""
    searched = d[(d["reference"].fillna("") == "") & (d["feasible"] == True)]  # noqa: E712
    return staircase(searched, col)


def rung_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per promoted trial: its mIoU and rank (1 = best among the promoted) at each
    rung, and its bytes. Empty when the study has fewer than two rungs."""
    rungs = rung_names(df)
    if len(rungs) < 2:
        return pd.DataFrame()
    cols = [RUNG_PREFIX + r for r in rungs]
    d = df.dropna(subset=cols[1:2]).copy()
    out = pd.DataFrame({"trial": d["number"].astype(int),
                        "name": d["reference"].fillna("").replace("", np.nan)
                        .fillna("trial" + d["number"].astype(str)),
                        "param_bytes": d["param_bytes"].astype(int)})
    for r, c in zip(rungs, cols, strict=True):
        out[f"mIoU {r}"] = d[c].round(4)
        out[f"rank {r}"] = d[c].rank(ascending=False, method="min").astype("Int64")
    return out.sort_values(f"mIoU {rungs[-1]}", ascending=False, na_position="last"
                           ).reset_index(drop=True)


def rung_agreement(df: pd.DataFrame) -> pd.DataFrame:
    """Kendall tau between consecutive rungs over the trials that reached both."""
    rungs = rung_names(df)
    rows = []
    for lo, hi in zip(rungs, rungs[1:], strict=False):
        d = df.dropna(subset=[RUNG_PREFIX + lo, RUNG_PREFIX + hi])
        tau = (d[RUNG_PREFIX + lo].corr(d[RUNG_PREFIX + hi], method="kendall")  # tau-b
               if len(d) >= 2 else float("nan"))
        rows.append({"from": lo, "to": hi, "n": len(d), "kendall_tau": float(tau)})
    return pd.DataFrame(rows)


RUNG_HEIGHT_PX = 500


def rung_figure(df: pd.DataFrame, title: str = "Rungs", *, width_px: int = 720,
                height_px: int = RUNG_HEIGHT_PX) -> go.Figure:
    """Left: each rung's trained nets and front (val mIoU vs log bytes). Right: each promoted
    net's mIoU at every rung, one line per net (crossing lines = promotion changed the order).

    The legend is under the x-axis titles, its rows laid out for ``width_px`` (the narrowest
    width in pixels the figure is shown at); ``height_px`` is the figure's height.
    """
    rungs = rung_names(df)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.08,
                        subplot_titles=("front of each rung", "promoted nets, rung by rung"))
    for i, r in enumerate(rungs):
        col, color = RUNG_PREFIX + r, _PALETTE[i % len(_PALETTE)]
        d = df.dropna(subset=[col])
        names = [f"{n}" + (f" ({ref})" if ref else "")
                 for n, ref in zip(d["number"], d["reference"].fillna(""), strict=True)]
        fig.add_trace(go.Scatter(
            x=d["param_bytes"], y=d[col], mode="markers", name=f"{r} ({len(d)} nets)",
            marker=dict(color=color, size=6 if i == 0 else 9, opacity=0.55 if i == 0 else 0.9,
                        symbol=["star" if ref else "circle" for ref in d["reference"].fillna("")]),
            text=[f"trial {n}<br>{r} mIoU {v:.4f}" for n, v in zip(names, d[col], strict=True)],
            hoverinfo="text", legendgroup=r), row=1, col=1)
        f = _front(df, col)
        if len(f):
            fig.add_trace(go.Scatter(x=f["param_bytes"], y=f[col], mode="lines",
                                     line=dict(color=color, shape="hv", width=2),
                                     name=f"{r} front", legendgroup=r, showlegend=False),
                          row=1, col=1)
    table = rung_table(df)
    for _, row in table.iterrows():
        ys = [row[f"mIoU {r}"] for r in rungs]
        ref = not str(row["name"]).startswith("trial")
        fig.add_trace(go.Scatter(
            x=rungs, y=ys, mode="lines+markers", showlegend=False,
            line=dict(color="#2ca02c" if ref else "#7f7f7f", width=2 if ref else 1),
            text=[f"{row['name']}, {row['param_bytes']:,} B"] * len(rungs), hoverinfo="text+y"),
            row=1, col=2)
    agree = rung_agreement(df)
    taus = ", ".join(f"{a.to} vs {a['from']}: Kendall tau {a.kendall_tau:.2f} (n={a.n})"
                     for _, a in agree.iterrows())
    fig.update_xaxes(type="log", title_text=PARAM_BYTES, row=1, col=1)
    fig.update_yaxes(title_text="val mIoU (at each rung's preset)", row=1, col=1)
    fig.update_xaxes(title_text="rung (training preset)", row=1, col=2)
    fig.update_layout(title=f"{title}<br><sup>{taus}</sup>", template="plotly_white")
    legend_below(fig, width_px=width_px, height_px=height_px, margin=dict(l=70, r=30, t=90))
    return fig
