"""On-disk integer cache of decoded (and scaled) frames: one ``.npy`` per array and split.

Files are written to a temporary name and renamed into place, so a failure or an interrupt
never leaves a half-written entry; a file that does not load is treated as a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from nas._atomic import atomic_open

# Bump when the meaning of cached arrays changes (resampling, label mapping, layout).
FORMAT_VERSION = 1


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir``, else ``$MAXNAS_CACHE``, else ``$XDG_CACHE_HOME/maxnas``.

    Without ``$XDG_CACHE_HOME`` the last is ``~/.cache/maxnas``.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get("MAXNAS_CACHE"):
        return Path(os.environ["MAXNAS_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "maxnas"


def file_stamp(path: Path) -> list:
    """What identifies a file's content cheaply: name, size and modification time."""
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns]


def make_key(**parts: object) -> str:
    """A short, stable hash of JSON-able ``parts`` (plus the format version)."""
    blob = json.dumps({"format": FORMAT_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def load_array(path: Path, shape_prefix: tuple[int, ...]) -> np.ndarray | None:
    """The cached uint8 array at ``path``, or ``None`` if absent, unreadable or not as expected."""
    if not path.is_file():
        return None
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if arr.dtype != np.uint8 or arr.shape[: len(shape_prefix)] != shape_prefix:
        return None
    return arr


def save_array(path: Path, arr: np.ndarray) -> None:
    """Write ``arr`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    with atomic_open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)
