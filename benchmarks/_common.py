"""What the benchmark scripts share: their results folder, resumable CSV rows, Kendall tau.

A benchmark that trains writes one CSV row per finished unit of work (a training, a trial) as
soon as it exists, and a rerun of the same command skips the units already there, so a script
can be stopped at any time and loses at most the unit in progress::

    write_header(out, FIELDS)              # before parallel parts start appending
    done = done_keys(out, ("name", "seed"))
    if (name, seed) not in done:
        append_row(out, {"name": name, "seed": seed, "val_miou": 0.61}, FIELDS)

The scripts import this module as ``benchmarks._common``: run them from the repository root
as ``python -m benchmarks.NAME``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import kendalltau

RESULTS = Path(__file__).parent / "results"
"""The committed results of the benchmark scripts (``benchmarks/results/``)."""


def write_header(path: Path, fields: Sequence[str]) -> None:
    """Start the CSV at ``path`` with its header line, unless the file exists.

    Done once before processes that split the work (``--part i/n``) append rows, so that two
    of them never both find the file missing and write the header twice.
    """
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        csv.DictWriter(f, fieldnames=fields).writeheader()


def append_row(path: Path, row: Mapping[str, Any], fields: Sequence[str]) -> None:
    """Append ``row`` to the CSV at ``path``, its ``fields`` in that order (other keys are left
    out, missing ones written empty); a new file gets the header line first."""
    append_rows(path, [row], fields)


def append_rows(path: Path, rows: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> None:
    """:func:`append_row` for several rows at once, written together (one unit of work that
    yields several rows, such as one learning curve)."""
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerows(rows)


def read_rows(path: Path, fields: Iterable[str] = ()) -> pd.DataFrame:
    """The rows of the CSV at ``path``; without the file, an empty frame with ``fields`` as its
    columns."""
    if not path.exists():
        return pd.DataFrame(columns=list(fields))
    return pd.read_csv(path)


def done_keys(path: Path, columns: Sequence[str],
              defaults: Mapping[str, Any] | None = None) -> set[tuple]:
    """The ``columns`` of every row of the CSV at ``path``, one tuple per row (Python ints,
    floats and strings as pandas reads them): the work a rerun skips. Empty without the file.

    Args:
        path: the CSV.
        columns: the columns that name one unit of work, in the order of the tuples.
        defaults: the value of a column that an older file lacks, or of its empty cells.
    """
    if not path.exists():
        return set()
    df = pd.read_csv(path)
    defaults = defaults or {}
    values = []
    for c in columns:
        col = df[c] if c in df else pd.Series(defaults[c], index=df.index)
        values.append((col.fillna(defaults[c]) if c in defaults else col).tolist())
    return set(zip(*values, strict=True))


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b (corrected for ties) between two equally long sequences of scores:
    1 when they rank the items alike, -1 when in reverse; nan when either side is constant."""
    return float(kendalltau(a, b).statistic)
