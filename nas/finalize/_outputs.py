"""The finalize summary: mean ± std over seeds (``finalists.md``), the plot, the preview's
link."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from nas._atomic import atomic_open
from nas.finalize._compare import BUDGETS_8_BIT, comparison_frame, comparison_markdown
from nas.front import pareto_frame
from nas.report import legend_below, write_figure
from nas.studyio import FINALISTS_CSV, FINALISTS_MD, FINALISTS_PLOT

FIGURE_WIDTH_PX = 1000
FIGURE_HEIGHT_PX = 600
_FIRST = ["name", "role", "trial", "weight_bytes", "bias_bytes", "latency_cycles",
          "latency_ms", "fits", "search_miou", "search_rung"]


def summary_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per model: seeds, mean and std (ddof 1; 0 for one seed) of val / test mIoU."""
    out = []
    for _, g in rows.groupby("name", sort=False):
        first = g.iloc[0]
        rec = {c: first.get(c) for c in _FIRST if c in g.columns}
        rec["seeds"] = len(g)
        for m in ("val_miou", "test_miou"):
            rec[f"{m}_mean"] = float(g[m].mean())
            rec[f"{m}_std"] = float(g[m].std(ddof=1)) if len(g) > 1 else 0.0
        out.append(rec)
    return pd.DataFrame(out).reset_index(drop=True)


def _pm(mean: float, std: float, n: int) -> str:
    return f"{mean:.3f} ± {std:.3f}" if n > 1 else f"{mean:.3f}"


def markdown(summary: pd.DataFrame, preset: str = "", preview: str = "",
             compared: str = "") -> str:
    """The table of :func:`summary_frame`, the goal lines against each 8-bit reference, the
    seed-by-seed comparison ``compared`` (:func:`nas.finalize._compare.comparison_markdown`)
    and, with ``preview`` (a file name beside the page), the picture of the test tiles."""
    head = ["model", "role", "trial", "seeds", "search mIoU", "val mIoU", "**test mIoU**",
            "weight B", "bias B", "latency cycles", "fits"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    # a budget net no promotion reached is scored at a lower rung: then name each cell's rung
    rungs = summary.get("search_rung", pd.Series(dtype=object)).dropna().astype(str)
    several = rungs[rungs != ""].nunique() > 1
    for r in summary.to_dict("records"):
        n = int(r["seeds"])
        lat = r.get("latency_cycles")
        rung = str(r.get("search_rung") or "") if several else ""
        cells = [str(r["name"]), str(r["role"]), str(r["trial"]), str(n),
                 (f"{r['search_miou']:.3f}" + (f" ({rung})" if rung and rung != "nan" else ""))
                 if pd.notna(r.get("search_miou")) else "-",
                 _pm(r["val_miou_mean"], r["val_miou_std"], n),
                 f"**{_pm(r['test_miou_mean'], r['test_miou_std'], n)}**",
                 f"{int(r['weight_bytes']):,}", f"{int(r['bias_bytes']):,}",
                 f"{int(lat):,}" if pd.notna(lat) else "-", "yes" if r["fits"] else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    title = f"Finalists{f' ({preset} preset)' if preset else ''}: mean ± std over seeds\n\n"
    goals = goal_lines(summary)
    text = title + "\n".join(lines) + "\n" + ("\n" + "\n".join(f"- {g}" for g in goals) + "\n"
                                              if goals else "")
    text += compared
    if preview:
        text += (f"\n![Test tiles: input, ground truth, then each model's prediction]({preview})"
                 "\n\nThe same test tiles segmented by each model (its best-val seed's "
                 "checkpoint), after the input and the ground truth.\n")
    return text


def goal_lines(summary: pd.DataFrame) -> list[str]:
    """For each 8-bit reference and each budget share (:data:`BUDGETS_8_BIT`: 1/4 and 1/2 of
    its weight bytes), the smallest searched finalist that fits the chip with at least the
    reference's mean test mIoU within that budget, or that none does."""
    out: list[str] = []
    searched = summary[summary["role"] != "reference"]
    if searched.empty:  # a study of the references alone: nothing to compare
        return out
    if "fits" in searched.columns:
        searched = searched[searched["fits"].astype(bool)]
    refs = summary[summary["role"] == "reference"]
    for r in refs.to_dict("records"):
        if str(r["name"]).endswith("-w4"):  # compared at all of its bytes, in the table below
            continue
        for share in BUDGETS_8_BIT:
            limit = r["weight_bytes"] * share
            what = f"{r['name']}'s test mIoU {r['test_miou_mean']:.3f}"
            frac = {0.25: "1/4", 0.5: "1/2"}.get(share, f"{share:g}")
            ok = searched[(searched["test_miou_mean"] >= r["test_miou_mean"])
                          & (searched["weight_bytes"] <= limit)]
            if ok.empty:
                out.append(f"no searched finalist reaches {what} at <= {frac} of its "
                           f"{int(r['weight_bytes']):,} weight bytes ({int(limit):,})")
                continue
            b = ok.sort_values("weight_bytes").iloc[0]
            out.append(f"{b['name']} reaches {what} ({b['test_miou_mean']:.3f}) at "
                       f"{int(b['weight_bytes']):,} weight bytes, <= {frac} of its "
                       f"{int(r['weight_bytes']):,} ({b['weight_bytes'] / r['weight_bytes']:.0%})")
    return out


def figure(summary: pd.DataFrame, trials: pd.DataFrame | None = None,
           title: str = "Finalists: test mIoU vs weight bytes") -> go.Figure:
    """Mean test mIoU (error bars: std over seeds) against weight bytes, log axis; the
    search's front (its own mIoU) in grey for context; the legend under the x-axis title."""
    fig = go.Figure()
    if trials is not None and len(trials):
        searched = trials[trials["reference"].fillna("") == ""]
        front = pareto_frame(searched)
        if len(front):
            front = front.merge(trials[["number", "weight_bytes"]], on="number")
            fig.add_scatter(x=front["weight_bytes"], y=front["miou"], mode="lines+markers",
                            line={"shape": "hv", "color": "lightgrey"}, marker={"size": 5},
                            name="search front (search mIoU, val)")
    for role, sym, colour in (("knee", "circle", "#1f77b4"), ("chosen", "circle", "#1f77b4"),
                              ("budget", "square", "#9467bd"),
                              ("reference", "diamond", "#d62728")):
        d = summary[summary["role"] == role]
        if d.empty:
            continue
        labels = [f"{n}{'' if fits else ' (does not fit)'}"
                  for n, fits in zip(d["name"], d["fits"], strict=True)]
        fig.add_scatter(x=d["weight_bytes"], y=d["test_miou_mean"], mode="markers+text",
                        text=labels, textposition="top center",
                        error_y={"type": "data", "array": d["test_miou_std"], "visible": True},
                        marker={"symbol": sym, "size": 12, "color": colour},
                        name=f"{role}s: test mIoU (mean ± std over seeds)")
    fig.update_layout(title=title, xaxis={"title": "weight bytes (log)", "type": "log"},
                      yaxis={"title": "mIoU"}, width=FIGURE_WIDTH_PX, template="plotly_white")
    legend_below(fig, width_px=FIGURE_WIDTH_PX, height_px=FIGURE_HEIGHT_PX,
                 margin={"l": 70, "r": 30, "t": 60})
    return fig


def write_outputs(rows: pd.DataFrame, trials: pd.DataFrame | None, folder: Path,
                  study_name: str, preview: Path | None = None) -> dict[str, Path]:
    """``finalists.md`` (linking ``preview``, a picture in ``folder``, when given) and the
    plot in ``folder``; returns their paths (CSV and preview included)."""
    summary = summary_frame(rows)
    presets = sorted(set(rows["preset"].astype(str))) if "preset" in rows.columns else []
    md = folder / FINALISTS_MD
    with atomic_open(md, "w", encoding="utf-8") as fh:
        fh.write(f"# Study {study_name}: " + markdown(
            summary, ", ".join(presets), preview.name if preview else "",
            comparison_markdown(comparison_frame(rows))))
    plot = write_figure(figure(summary, trials, f"Study {study_name}: finalists, test mIoU vs "
                                                f"weight bytes"), folder / FINALISTS_PLOT)
    paths = {"csv": folder / FINALISTS_CSV, "md": md, "plot": plot}
    return paths | ({"preview": preview} if preview else {})
