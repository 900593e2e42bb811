"""Every front figure keeps its legend out of the plot: under the x-axis title, in a bottom
margin sized for the legend's rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nas.finalize import figure as finalists_figure
from nas.front import weight_memory_bytes
from nas.report import front_figure, legend_below, legend_names, legend_rows, rung_figure
from nas.report._legend import AXIS_TITLE_PX, LEGEND_ROW_PX
from nas.search import build_report, dashboard_figures
from nas.search._outputs import DASHBOARD_HEIGHT_PX, DASHBOARD_WIDTH_PX, PAGE_WIDTH_PX
from tests.report.test_rungs import _frame as rung_frame

FRONT_NAMES = ["feasible trials", "Pareto front", "knees of the front", "references",
               "infeasible, not trained (13)"]


def _trials(n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "number": range(n), "state": ["COMPLETE"] * n,
        "reference": [""] * (n - 2) + ["unetmysmall", "ai85unetlarge"],
        "feasible": [bool(x) for x in rng.integers(0, 2, n - 2)] + [False, True],
        "trained": [True] * n,
        "param_bytes": rng.integers(2000, 400000, n).astype(float),
        "miou": rng.uniform(0.3, 0.8, n), "latency_ms": rng.uniform(1, 9, n),
        "arch": ["a"] * n, "violations": [""] * n})


def _with_weights(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(weight_bytes=df["param_bytes"] * 0.99)


def _summary() -> pd.DataFrame:
    return pd.DataFrame({
        "name": ["trial5", "ai85unetlarge"], "role": ["knee", "reference"],
        "weight_bytes": [30_000, 281_312], "test_miou_mean": [0.70, 0.75],
        "test_miou_std": [0.01, 0.0], "fits": [True, True]})


def assert_legend_under_axis_title(fig, width_px: float) -> None:
    """The legend is horizontal, anchored in the bottom margin below the tick labels and the
    x-axis title, and the margin holds as many rows as plotly.js needs at ``width_px``."""
    lay = fig.layout
    legend = lay.legend
    assert legend.orientation == "h"
    assert legend.yref == "container" and legend.yanchor == "top"
    top_px = legend.y * lay.height  # the legend's top, in pixels above the figure's bottom
    assert top_px + AXIS_TITLE_PX <= lay.margin.b  # below the axis title: out of the plot
    rows = legend_rows(legend_names(fig), width_px - lay.margin.l - lay.margin.r)
    assert rows >= 1 and top_px >= rows * LEGEND_ROW_PX  # every row above the bottom edge


def test_rows_never_fewer_than_plotly_draws():
    # rows of the front figure's legend drawn by plotly.js in Chromium, by plot width in px
    measured = {230: 5, 350: 5, 400: 3, 460: 3, 550: 2, 636: 2, 800: 1, 1116: 1}
    for width, rows in measured.items():
        assert legend_rows(FRONT_NAMES, width) >= rows, width
    assert legend_rows(FRONT_NAMES, 460) == 3 and legend_rows(FRONT_NAMES, 800) == 1
    assert legend_rows([], 500) == 0
    with pytest.raises(ValueError, match="plot_width_px"):
        legend_rows(FRONT_NAMES, 0)


@pytest.mark.parametrize("width_px", [360, 720, 1200])
def test_front_figure(width_px):
    df = _trials()
    fig = front_figure(df, df.iloc[[1, 4, 7]], df.iloc[[4]], title="t",
                       limit_bytes=float(weight_memory_bytes()), limit_label="limit",
                       width_px=width_px)
    assert_legend_under_axis_title(fig, width_px)
    assert legend_names(fig)[-1].startswith("infeasible")


def test_front_figure_of_no_trials():
    empty = _trials().iloc[:0]
    fig = front_figure(empty, empty)
    assert fig.layout.margin.b >= AXIS_TITLE_PX  # no legend, the axis title still fits


def test_report_and_dashboard_figures():
    df = _trials()
    _, figs, _ = build_report(df, title="t")
    assert_legend_under_axis_title(figs[0], PAGE_WIDTH_PX)
    dash = dashboard_figures(df, title="t")
    assert_legend_under_axis_title(dash[0], DASHBOARD_WIDTH_PX)
    # the dashboard draws into a 450 px high div: a taller figure loses its axis title
    assert all(f.layout.height <= DASHBOARD_HEIGHT_PX for f in dash)


def test_rung_figure():
    fig = rung_figure(rung_frame(), width_px=720)
    assert_legend_under_axis_title(fig, 720)
    assert rung_figure(rung_frame(), height_px=DASHBOARD_HEIGHT_PX).layout.height == 450


def test_finalists_figure():
    fig = finalists_figure(_summary(), _with_weights(_trials()))
    assert_legend_under_axis_title(fig, fig.layout.width)


def test_a_figure_too_short_for_its_legend_is_refused():
    fig = front_figure(_trials(), _trials().iloc[:0])
    with pytest.raises(ValueError, match="height_px=200"):
        legend_below(fig, width_px=300, height_px=200, margin={"l": 70, "r": 30, "t": 60})
