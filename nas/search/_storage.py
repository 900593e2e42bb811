"""Opening the study's storage: checked up front, safe for several processes and hosts.

Why SQLite (and not JournalStorage) for local workers: the dashboard reads it directly, and
Optuna's heartbeat (stale RUNNING trials -> FAIL -> retried) exists for RDB storages. Several
processes on one SQLite file are safe when every connection waits for the write lock instead of
failing at once: we give each connection a long busy timeout and switch the file to WAL mode,
so readers (the dashboard, the progress bar) never block the writers. For many hosts, use a
PostgreSQL URL: the same code path, with the server handling concurrency.
"""

from __future__ import annotations

import copy
import random
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, RDBStorage, RetryHeartbeatStaleTrialCallback

from nas.search._config import SearchConfig
from nas.studyio import study_storage

# Seconds a SQLite connection waits for the write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_S = 600


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparsable: show as given, it is what the user typed
        return url


def check_storage_url(url: str) -> None:
    """Raise ``ValueError`` if ``url`` is not an Optuna RDB URL we can open.

    Creates the folder of a SQLite file (``studies/``) if needed.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as e:
        raise ValueError(
            f"--storage {url!r} is not a database URL ({e}); use e.g. "
            "sqlite:///studies/maxnas.db or postgresql://user:pass@host:5432/db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if not db or db == ":memory:":
            raise ValueError(
                f"--storage {url!r}: an in-memory SQLite database cannot be shared or resumed; "
                "give a file, e.g. sqlite:///studies/maxnas.db"
            )
        path = Path(db)
        if path.is_dir():
            raise ValueError(f"--storage {url!r}: {path} is a directory, not a database file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(
                f"--storage {url!r}: cannot create folder {path.parent}: {e.strerror}"
            ) from None


def _enable_wal(url: str) -> None:
    from sqlalchemy.engine import make_url

    path = make_url(url).database
    if not path:
        raise ValueError(f"SQLite URL {url!r} names no database file")
    try:
        with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as con:
            con.execute("PRAGMA journal_mode=WAL")  # persistent: set once per file
    except sqlite3.DatabaseError as e:
        raise ValueError(
            f"--storage sqlite:///{path}: not a usable SQLite database ({e})"
        ) from None


def _serialize_sqlite_transactions(storage: RDBStorage) -> None:
    """Make every transaction ``BEGIN IMMEDIATE`` (take the write lock up front).

    Optuna pops a WAITING trial with a read-then-update that relies on ``SELECT ... FOR
    UPDATE``, which SQLite ignores; with pysqlite's deferred transactions two workers can both
    read WAITING and both run the same trial. Taking the lock at BEGIN makes read-then-update
    atomic across processes; waiting for it is bounded by the busy timeout.
    """
    from sqlalchemy import event

    engine = storage.engine

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections made before the listeners existed are dropped


def _create(url: str, engine_kwargs: dict, kwargs: dict, attempts: int = 5) -> RDBStorage:
    """RDBStorage, retrying the race of workers that create the tables at the same moment
    (PostgreSQL answers the loser with a unique-key violation on its catalog)."""
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():  # heartbeat API is "experimental" since Optuna 2.8
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
        except Exception as e:
            text = str(e).lower()
            racing = "duplicate key" in text or "already exists" in text or "locked" in text
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(0.5 + random.random())
    raise AssertionError("unreachable")


class RetryStaleTrial(RetryHeartbeatStaleTrialCallback):
    """Optuna's retry of a trial whose worker died, without the dead trial's constraints.

    Optuna copies every system attribute into the retry, the constraint values too; the retry
    then computes its own, and Optuna would keep the old ones (a changed ``--max-weight-bytes``
    would be ignored) and warn "constraint value is ignored" for each.
    """

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        clean = copy.deepcopy(trial)
        clean.system_attrs = {k: v for k, v in trial.system_attrs.items()
                              if not k.startswith("constraints")}
        super().__call__(study, clean)


def open_storage(cfg: SearchConfig, *, heartbeat: bool = True) -> RDBStorage:
    """The study's storage, with heartbeat and stale-trial retry; ``ValueError`` if unusable.

    Args:
        cfg: the search; its ``storage_url``, ``heartbeat_interval``, ``grace_period`` and
            ``max_retry`` are used.
        heartbeat: ``False`` for read-only use (reports), which must not fail trials.
    """
    url = cfg.storage_url
    check_storage_url(url)
    is_sqlite = url.startswith("sqlite")
    if is_sqlite:
        _enable_wal(url)
    engine_kwargs: dict = {}
    if is_sqlite:
        engine_kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    else:
        engine_kwargs["pool_pre_ping"] = True  # survive server restarts between trials
    kwargs: dict = {}
    if heartbeat:
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning,
                                message="RetryHeartbeatStaleTrialCallback")
        kwargs = {
            "heartbeat_interval": cfg.heartbeat_interval,
            "grace_period": cfg.grace_period,
            "heartbeat_stale_trial_callback": RetryStaleTrial(
                max_retry=cfg.max_retry
            ),
        }
    try:
        storage = _create(url, engine_kwargs, kwargs)
        if is_sqlite:
            _serialize_sqlite_transactions(storage)
        return storage
    except ImportError as e:  # Optuna wraps the driver's ModuleNotFoundError
        cause = e.__cause__ if isinstance(e.__cause__, ImportError) else e
        raise ValueError(
            f"--storage {display_url(url)}: the database driver "
            f"{getattr(cause, 'name', None) or ''} is not installed ({cause}); for PostgreSQL "
            "pip install 'psycopg[binary]' (or name a driver: postgresql+psycopg2://...)"
        ) from None
    except Exception as e:  # sqlalchemy/driver errors: connection refused, auth, bad db name
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"cannot open --storage {display_url(url)}: {first}") from None


def artifact_store(cfg: SearchConfig) -> optuna.artifacts.FileSystemArtifactStore:
    """The checkpoint store under ``studies/<name>/artifacts`` (created if missing)."""
    path = cfg.artifact_path
    path.mkdir(parents=True, exist_ok=True)
    return optuna.artifacts.FileSystemArtifactStore(str(path))


def trial_storage(study: optuna.Study,
                  trial: optuna.Trial | optuna.trial.FrozenTrial) -> tuple[BaseStorage, int]:
    """The study's storage and ``trial``'s id in it.

    Optuna's public API cannot write a system attribute (optuna-dashboard's constraints list)
    nor FAIL, with a reason, a trial another process runs; its storage API can, given the
    trial's id. Optuna exposes neither publicly: :func:`nas.studyio.study_storage` reads the
    storage, and this is the one place that reads a trial's id.
    """
    return study_storage(study), trial._trial_id
