"""Where ``python -m nas finalize`` keeps its results, and the finalist checkpoint of a trial.

Layout, beside the study's reports (``<studies_dir>/<study>/``):

- ``finalists.csv``: one row per (finalist, seed), the source of truth for resuming;
- ``finalists.md`` and ``finalists.png`` (or ``.html`` without kaleido): the summary;
- ``finalists_preview.png``: a few test tiles as each finalist segments them;
- ``finalists/<name>-seed<S>.pt``: each finalist's checkpoint, named in the row's
  ``checkpoint`` column relative to the study folder.

Export reads this through :func:`finalist_checkpoint` so that it never imports the finalize
code (nor the search).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

FINALISTS_CSV = "finalists.csv"
FINALISTS_MD = "finalists.md"
FINALISTS_PLOT = "finalists.png"
FINALISTS_PREVIEW = "finalists_preview.png"
FINALISTS_DIR = "finalists"


def study_folder(studies_dir: str | Path, study_name: str) -> Path:
    """``<studies_dir>/<study_name>/``: the study's reports, artifacts and finalists."""
    return Path(studies_dir) / study_name


def finalists_csv(studies_dir: str | Path, study_name: str) -> Path:
    return study_folder(studies_dir, study_name) / FINALISTS_CSV


def finalist_checkpoint(studies_dir: str | Path, study_name: str,
                        number: int) -> tuple[Path, dict] | None:
    """The finalize checkpoint of trial ``number`` and its row, or ``None`` if it has none.

    With several seeds the one with the best **val** mIoU is chosen (never the test split's,
    which is only for reporting). Rows whose checkpoint file is gone are skipped.
    """
    import pandas as pd

    csv = finalists_csv(studies_dir, study_name)
    if not csv.is_file():
        return None
    df = pd.read_csv(csv)
    if not {"trial", "checkpoint", "val_miou"} <= set(df.columns):
        return None
    rows = df[pd.to_numeric(df["trial"], errors="coerce") == number]
    return best_val_checkpoint(rows.to_dict("records"), study_folder(studies_dir, study_name))


def best_val_checkpoint(rows: Iterable[Mapping[str, Any]],
                        folder: str | Path) -> tuple[Path, dict] | None:
    """Of one model's rows (one per seed), the checkpoint with the best **val** mIoU and its
    row, or ``None``; rows whose ``checkpoint`` (relative to ``folder``) is gone are skipped."""
    best: tuple[float, Path, dict] | None = None
    for row in rows:
        rel = row.get("checkpoint")
        if not isinstance(rel, str) or not rel:
            continue
        path = Path(folder) / rel
        val = float(row["val_miou"]) if row["val_miou"] == row["val_miou"] else -math.inf
        if path.is_file() and (best is None or val > best[0]):
            best = (val, path, dict(row))
    return None if best is None else (best[1], best[2])
