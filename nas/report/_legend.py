"""A horizontal legend under a figure's x-axis title, and the bottom margin it needs.

A legend inside the plot covers points wherever it goes (the top-left corner of a front holds
its smallest good nets), so the front figures put theirs below the x-axis title. plotly.js
does not make room for a legend placed in the margin, so the bottom margin is sized here, in
pixels: the tick labels and axis title, then the legend's rows at the width the figure is
laid out for. The legend is anchored in container pixels, so it stays under the axis title
whatever the height of the plot area.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

AXIS_TITLE_PX = 55  # x tick labels and the x-axis title under the plot area
LEGEND_ROW_PX = 20  # one row of 12 px legend text (plotly.js: 19 px)
LEGEND_PAD_PX = 12  # the legend's padding and border, top and bottom
# An entry's width: plotly.js's 40 px (symbol and gaps) + its text. Measured in Chromium, the
# front figure's entries are 99 to 181 px wide (4.9 to 5.9 px per character); these constants
# give 99 to 198 px for them: never narrower, so the margin never holds too few rows.
ENTRY_PX = 44
CHAR_PX = 5.5
ENTRY_GAP_PX = 5


def legend_names(fig: go.Figure) -> list[str]:
    """The names of the traces ``fig`` shows in its legend, in order."""
    return [str(t.name) for t in fig.data if t.name and t.showlegend is not False]


def legend_rows(names: Sequence[str], plot_width_px: float) -> int:
    """Rows a horizontal legend of ``names`` takes across ``plot_width_px`` (plotly.js's rule).

    All entries in one row if they fit; else a grid whose columns are as wide as the widest
    entry (plotly.js ``legend/draw.js``).
    """
    if plot_width_px <= 0:
        raise ValueError(f"plot_width_px must be > 0, but got {plot_width_px}")
    if not names:
        return 0
    widths = [ENTRY_PX + CHAR_PX * len(n) for n in names]
    if sum(widths) + ENTRY_GAP_PX * (len(widths) - 1) < plot_width_px:
        return 1
    columns = max(1, int((plot_width_px + ENTRY_GAP_PX) // (max(widths) + ENTRY_GAP_PX)))
    return math.ceil(len(names) / columns)


def legend_below(fig: go.Figure, *, width_px: float, height_px: int,
                 margin: dict[str, int]) -> None:
    """Lay ``fig``'s legend out horizontally under its x-axis title; set height and margins.

    Args:
        width_px: the narrowest width the figure is shown at; the bottom margin holds as many
            legend rows as plotly.js needs there (wider, it needs no more).
        height_px: the figure's height.
        margin: left, right and top margins in pixels (``l``, ``r``, ``t``); the bottom one
            is computed.
    """
    plot_w = width_px - margin["l"] - margin["r"]
    rows = legend_rows(legend_names(fig), plot_w)
    legend_px = rows * LEGEND_ROW_PX + LEGEND_PAD_PX if rows else 0
    bottom = AXIS_TITLE_PX + legend_px
    if height_px - margin["t"] - bottom < 100:
        raise ValueError(f"height_px={height_px} leaves under 100 px for the plot with a "
                         f"{rows}-row legend and margins {margin}")
    fig.update_layout(
        height=height_px, margin={**margin, "b": bottom},
        legend=dict(orientation="h", xref="container", x=0.5, xanchor="center",
                    yref="container", y=legend_px / height_px, yanchor="top",
                    bgcolor="rgba(0,0,0,0)", borderwidth=0))
