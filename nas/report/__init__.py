"""Reports of a study: tables, figures and the HTML page, as objects; pictures of
segmentations (tiles in class colours) for exports and finalists.

The builders return DataFrames, figures and strings; the caller decides where they go
(``nas.search`` writes ``studies/<name>/{trials.csv,pareto.csv,report.html}``). They read the
trials, not the search: a frame from :func:`trials_frame` or a ``trials.csv``
(:func:`read_trials_csv`) is enough.
"""

from nas.report._early_stop import EarlyStopSummary, early_stop_summary, early_stop_table
from nas.report._figures import front_figure, hypervolume_figure, write_figure
from nas.report._html import report_html
from nas.report._labels import place_labels
from nas.report._legend import legend_below, legend_names, legend_rows
from nas.report._rungs import rung_agreement, rung_figure, rung_names, rung_table
from nas.report._segmentation import (
    SegmentationGrid,
    class_colors,
    colorize,
    segmentation_grid,
)
from nas.report._tables import (
    PARAM_BYTES,
    TRIAL_COLUMNS,
    counts_text,
    front_table,
    read_trials_csv,
    summary_text,
    trial_counts,
    trials_frame,
)

__all__ = [
    "EarlyStopSummary",
    "SegmentationGrid",
    "PARAM_BYTES",
    "TRIAL_COLUMNS",
    "class_colors",
    "colorize",
    "counts_text",
    "early_stop_summary",
    "early_stop_table",
    "front_figure",
    "front_table",
    "hypervolume_figure",
    "legend_below",
    "legend_names",
    "legend_rows",
    "place_labels",
    "read_trials_csv",
    "report_html",
    "rung_agreement",
    "rung_figure",
    "rung_names",
    "rung_table",
    "segmentation_grid",
    "summary_text",
    "trial_counts",
    "trials_frame",
    "write_figure",
]
