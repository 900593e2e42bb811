"""One self-explanatory HTML page: when, what settings, how many trials, figures, the front."""

from __future__ import annotations

import datetime
import html
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from nas.report._tables import PARAM_BYTES, counts_text

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1em 2em; color: #222; max-width: 1300px; }
h1 { font-size: 1.5em; margin: 0 0 0.2em; }
p.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0 1em; }
th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.settings td.key { color: #666; padding-left: 1.5em; }
table.settings td.key:first-child { padding-left: 0; }
.note { color: #555; font-size: 0.9em; max-width: 70em; }
"""

_NUMERIC = ("trial", "val mIoU", PARAM_BYTES, "latency ms", "value")


def _table(df: pd.DataFrame, cls: str = "") -> str:
    head = "".join(f"<th class='{'num' if c in _NUMERIC else ''}'>{html.escape(str(c))}</th>"
                   for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cells = "".join(f"<td class='{'num' if c in _NUMERIC else ''}'>"
                        f"{html.escape(str(r[c]))}</td>" for c in df.columns)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}" \
           "</tbody></table>"


def _settings_table(settings: Mapping[str, object], per_row: int = 2) -> str:
    """Settings as name/value pairs, ``per_row`` pairs to a row (the page stays short)."""
    items = list(settings.items())
    rows = []
    for i in range(0, len(items), per_row):
        cells = "".join(f"<td class='key'>{html.escape(str(k))}</td><td>{html.escape(str(v))}"
                        "</td>" for k, v in items[i:i + per_row])
        rows.append(f"<tr>{cells}</tr>")
    return f"<table class='settings'><tbody>{''.join(rows)}</tbody></table>"


def report_html(*, title: str, figures: Sequence[go.Figure], front: pd.DataFrame,
                counts: Mapping[str, int], settings: Mapping[str, object] | None = None,
                source: str = "", generated_at: datetime.datetime | None = None,
                notes: str = "", quality: Sequence[tuple[str, str]] = (),
                tables: Sequence[tuple[str, pd.DataFrame]] = ()) -> str:
    """The report page (plotly.js inlined: works offline).

    Args:
        front: the formatted front (:func:`nas.report.front_table`).
        counts: :func:`nas.report.trial_counts` of the study.
        settings: the study's settings, shown as a two-column table.
        source: where the trials came from (a storage URL or a file), shown under the title.
        generated_at: when (default: now, UTC).
        notes: a paragraph of plain text under the figures.
        quality: (what, value) rows on the front's quality (hypervolume, bytes to reach an
            mIoU), shown as a table above the figures.
        tables: (heading, table) pairs shown after the front (e.g. the rungs' table).
    """
    # timezone.utc, not datetime.UTC: that is Python 3.11+ and the project supports 3.10
    now = generated_at or datetime.datetime.now(datetime.timezone.utc)
    when = now.strftime("%Y-%m-%d %H:%M UTC")
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p class='meta'>Generated {when}"
             + (f" from {html.escape(source)}" if source else "") + ". "
             + html.escape(counts_text(dict(counts))) + ".</p>"]
    if settings:
        parts.append(_settings_table(settings))
    if quality:
        parts.append(_table(pd.DataFrame(list(quality), columns=["front quality", "value"]),
                            "quality"))
    for i, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0),
                                 config={"displaylogo": False}))
    if notes:
        parts.append(f"<p class='note'>{html.escape(notes)}</p>")
    parts.append(f"<h2>Pareto front ({len(front)} trials)</h2>")
    parts.append(_table(front, "front") if len(front) else "<p>(empty: no feasible trial yet)</p>")
    for heading, table in tables:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(_table(table))
    parts.append("</body></html>")
    return "\n".join(parts)
