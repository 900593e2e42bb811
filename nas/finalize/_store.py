"""``finalists.csv``: one row per (finalist, seed), merged in under a file lock.

Each finished (model, seed) is merged into the CSV at once (read, replace its key, write
atomically), so a crash loses at most the trainings still running, and processes on one host
(``--jobs``) or on several hosts sharing the folder never overwrite each other's rows.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from nas._atomic import atomic_open

# The columns the issue fixes, first; the rest (per-class IoU, timings, ...) follow.
KEY_COLUMNS = ["name", "role", "trial", "seed", "val_miou", "test_miou", "weight_bytes",
               "bias_bytes", "latency_cycles", "fits"]


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``<path>.lock`` for the block."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_rows(path: Path) -> pd.DataFrame:
    """The rows written so far (an empty frame with :data:`KEY_COLUMNS` if none)."""
    if not Path(path).is_file():
        return pd.DataFrame(columns=KEY_COLUMNS)
    return pd.read_csv(path)


def done_keys(path: Path) -> set[tuple[str, int]]:
    """``(name, seed)`` of every row already in the CSV."""
    df = read_rows(path)
    return {(str(n), int(s)) for n, s in zip(df["name"], df["seed"], strict=True)}


def merge_row(path: Path, row: dict) -> pd.DataFrame:
    """Add ``row`` (replacing any row of the same name and seed); returns the whole table."""
    with locked(path):
        df = read_rows(path)
        if len(df):
            df = df[~((df["name"].astype(str) == str(row["name"]))
                      & (df["seed"].astype(int) == int(row["seed"])))]
        new = pd.DataFrame([row])
        df = new if df.empty else pd.concat([df, new], ignore_index=True)
        cols = KEY_COLUMNS + [c for c in df.columns if c not in KEY_COLUMNS]
        df = df[cols].sort_values(["role", "weight_bytes", "name", "seed"],
                                  key=lambda c: c.map(_role_order) if c.name == "role" else c)
        with atomic_open(path, "w", encoding="utf-8") as fh:
            df.to_csv(fh, index=False)
    return df.reset_index(drop=True)


def _role_order(role: object) -> int:
    return {"knee": 0, "chosen": 0, "budget": 0, "reference": 1}.get(str(role), 2)
