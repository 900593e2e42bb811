"""The search's outputs: ``trials.csv``, ``pareto.csv``, ``report.html`` and the dashboard's
figures, built with :mod:`nas.report` and written atomically."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from pathlib import Path

import optuna
import pandas as pd
import plotly.graph_objects as go

from nas._atomic import atomic_open
from nas.front import (
    HEADLINE_REF_MIOU,
    front_quality,
    knee_points,
    log_hypervolume_frame,
    pareto_frame,
    weight_memory_bytes,
)
from nas.hardware import DEFAULT_DEVICE
from nas.report import (
    PARAM_BYTES,
    early_stop_summary,
    early_stop_table,
    front_figure,
    front_table,
    hypervolume_figure,
    report_html,
    rung_figure,
    rung_names,
    rung_table,
    trial_counts,
)
from nas.search._config import SearchConfig
from nas.search._rung_studies import study_frame
from nas.search._rungs import miou_key
from nas.studyio import RUNG_SEP

N_KNEES = 4  # knees labelled in the report (the finalists benchmark retrains 4)
NOTES = (
    f"Bytes are {PARAM_BYTES} from the hardware model, the search's second objective: izer's "
    "Weight memory (weights x bits / 8, the copy layers izer inserts for concatenations of "
    "more than 64 channels included) plus its Bias memory. mIoU is the training preset's val "
    "mIoU (a short proxy training unless the preset is 'full'). Stars are the hand-crafted "
    "references, trained with the same preset; diamonds the knees of the front; grey crosses "
    "(bottom strip) the architectures the hardware model rejected, which are never trained."
)


def settings_of(cfg: SearchConfig, storage: str | None = None) -> dict[str, object]:
    """The settings a report shows for ``cfg`` (``storage``: a URL fit to show)."""
    budgets = [f"{cfg.max_weight_bytes:,} param bytes" if cfg.max_weight_bytes else "",
               f"{cfg.max_latency_ms} ms latency" if cfg.max_latency_ms else ""]
    return {
        "study": cfg.study_name,
        "storage": storage or cfg.storage_url,
        "space / task / device": f"{cfg.space} / {cfg.task} / {cfg.device}",
        "training preset": cfg.preset,
        "sampler / seed": f"{cfg.sampler} / {cfg.seed}",
        "objectives": ", ".join(cfg.objectives),
        "budgets": ", ".join(b for b in budgets if b) or "none (the device's limits only)",
        "target": f"{cfg.n_trials} complete trials, {cfg.jobs} worker(s) on this host",
        "rungs": (f"{' -> '.join(cfg.rungs)}: promote <= {cfg.promote_share:.0%} of each "
                  f"rung, within {cfg.promote_margin} mIoU of its front" if cfg.upper_rungs
                  else "none"),
        "early stop": (f"margin {cfg.early_stop_margin} mIoU, val every "
                       f"{cfg.early_stop_every} epochs" if cfg.early_stop else "off"),
    }


# Widths in pixels the figures' labels and legends are laid out for: the narrowest they are
# shown at (laid out narrow, they stay clear when shown wider).
PAGE_WIDTH_PX = 720  # report.html in an 800 px window (the page has 2em side margins)
# optuna-dashboard 0.21 draws each figure into a 450 px high div in a half-width card (about
# 560 px wide in a 1280 px window); the figure's own height is not given more room.
DASHBOARD_WIDTH_PX = 560
DASHBOARD_HEIGHT_PX = 450


def _figures(df: pd.DataFrame, front: pd.DataFrame, title: str, device: str,
             width_px: int, height_px: int | None = None) -> list[go.Figure]:
    """Front, hypervolume and (with ``--rungs``) rung figures laid out for ``width_px``;
    ``height_px`` caps their heights (None: each figure's own)."""
    knees = knee_points(front, N_KNEES)
    subtitle = f"<br><sup>val mIoU vs {PARAM_BYTES}</sup>"
    ref_bytes = weight_memory_bytes(device)
    heights = {} if height_px is None else {"height_px": height_px}
    figs = [front_figure(df, front, knees, title=title + subtitle, limit_bytes=ref_bytes,
                         limit_label=f"{device} weight memory", width_px=width_px, **heights),
            hypervolume_figure(log_hypervolume_frame(df, device), ref_bytes,
                               HEADLINE_REF_MIOU, device)]
    if len(rung_names(df)) >= 2:  # --rungs: each rung's front, and the promoted nets' ranks
        figs.append(rung_figure(df, title="Rungs: the top of the front retrained longer",
                                width_px=width_px, **heights))
    return figs


def build_report(df: pd.DataFrame, *, title: str, objectives: Sequence[str] = ("miou", "bytes"),
                 settings: Mapping[str, object] | None = None, source: str = "",
                 generated_at: datetime.datetime | None = None, device: str = DEFAULT_DEVICE
                 ) -> tuple[str, list[go.Figure], pd.DataFrame]:
    """The report of a trials frame: ``(html, [front figure, hypervolume figure], front)``.

    The hypervolume (figure and the front-quality table) is taken in (mIoU, log10 bytes) up to
    ``device``'s weight memory, as ``benchmarks/sampler_seeds.py`` compares samplers.
    """
    front = pareto_frame(df, objectives)
    figs = _figures(df, front, title, device, PAGE_WIDTH_PX)
    tables = []
    if len(rung_names(df)) >= 2:
        tables.append(("Promoted trials (mIoU and rank among them at each rung)",
                       rung_table(df)))
    if (stopped := early_stop_summary(df)) is not None:
        tables.append(("Early stop (searched trials trained with it)",
                       early_stop_table(stopped)))
    page = report_html(title=title, figures=figs,
                       front=front_table(front, knee_points(front, N_KNEES)),
                       counts=trial_counts(df), settings=settings, source=source,
                       generated_at=generated_at, notes=NOTES,
                       quality=front_quality(df, device).rows(), tables=tables)
    return page, figs, front


def dashboard_figures(df: pd.DataFrame, *, title: str,
                      objectives: Sequence[str] = ("miou", "bytes"),
                      device: str = DEFAULT_DEVICE) -> list[go.Figure]:
    """The report's figures laid out for an optuna-dashboard card (see
    :data:`DASHBOARD_WIDTH_PX`): no taller than its 450 px, labels and legend for its width."""
    return _figures(df, pareto_frame(df, objectives), title, device, DASHBOARD_WIDTH_PX,
                    DASHBOARD_HEIGHT_PX)


def _write_text(path: Path, text: str) -> Path:
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def write_reports(study: optuna.Study, out_dir: str | Path, *,
                  objectives: Sequence[str] = ("miou", "bytes"),
                  artifact_dir: Path | None = None, dashboard: bool = True,
                  settings: Mapping[str, object] | None = None,
                  source: str = "", device: str = DEFAULT_DEVICE) -> dict[str, Path]:
    """Write ``trials.csv``, ``pareto.csv`` and ``report.html``; push figures to the dashboard.

    Returns:
        name -> path written.
    """
    out_dir = Path(out_dir)
    df = study_frame(study, artifact_dir=artifact_dir)
    title = f"maxnas study {study.study_name}"
    page, _, front = build_report(df, title=title, objectives=objectives, settings=settings,
                                  source=source, device=device)
    paths = {
        "trials": _write_text(out_dir / "trials.csv", df.to_csv(index=False)),
        "pareto": _write_text(out_dir / "pareto.csv", front.to_csv(index=False)),
        "report": _write_text(out_dir / "report.html", page),
    }
    # with --rungs, each upper rung's front too, scored at that rung among the trials
    # promoted to it (what finalize picks knees from): pareto@<preset>.csv
    for rung in rung_names(df)[1:]:
        at = df[df[miou_key(rung)].notna()]
        if at.empty:  # nothing promoted there yet
            continue
        name = f"pareto{RUNG_SEP}{rung}"
        paths[name] = _write_text(out_dir / f"{name}.csv", pareto_frame(
            at.assign(miou=at[miou_key(rung)]), objectives).to_csv(index=False))
    if dashboard:
        push_to_dashboard(study, dashboard_figures(df, title=title, objectives=objectives,
                                                   device=device))
    return paths


def push_to_dashboard(study: optuna.Study, figures: Sequence[go.Figure]) -> None:
    """Store the figures in the study so ``optuna-dashboard`` shows them (fixed ids: updated)."""
    from optuna_dashboard import save_plotly_graph_object

    for gid, fig in zip(("maxnas-front", "maxnas-hypervolume", "maxnas-rungs"), figures,
                        strict=False):
        save_plotly_graph_object(study, fig, graph_object_id=gid)
