"""Where a study lives by default, and opening one to read it."""

from __future__ import annotations

from pathlib import Path

import optuna


def default_storage_url(studies_dir: str | Path, study_name: str) -> str:
    """``sqlite:///<studies_dir>/<study_name>.db``: the storage when no URL is given."""
    return f"sqlite:///{Path(studies_dir) / (study_name + '.db')}"


def default_artifact_dir(studies_dir: str | Path, study_name: str) -> Path:
    """``<studies_dir>/<study_name>/artifacts``: the checkpoint store when none is given."""
    return Path(studies_dir) / study_name / "artifacts"


def study_storage(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage a study object wraps (to open other studies in it, or to write what
    Optuna's public API cannot). Optuna has no public accessor: this is the one place that
    reads it."""
    return study._storage


def _hide_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparsable: show it as typed
        return url


def load_study(study_name: str, storage: str | None = None,
               studies_dir: str | Path = "studies") -> optuna.Study:
    """The stored study, for reading (no heartbeat: reading never fails a running trial).

    Args:
        storage: Optuna storage URL; ``None`` = the default SQLite file in ``studies_dir``.

    Raises:
        ValueError: the default database does not exist, or the storage has no such study
            (the message lists the studies it holds).
    """
    if storage is None:
        db = Path(studies_dir) / f"{study_name}.db"
        if not db.is_file():
            raise ValueError(f"no study database {db}; pass --storage URL or --studies-dir, "
                             "or run the search first")
        storage = default_storage_url(studies_dir, study_name)
    try:
        store = optuna.storages.RDBStorage(storage)
    except Exception as e:  # driver missing, server down, bad URL: one line naming the URL
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"cannot open --storage {_hide_password(storage)}: {first}") from None
    try:
        return optuna.load_study(study_name=study_name, storage=store)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(store)]
        raise ValueError(f"unknown study {study_name!r}; the storage holds {names}") from None
