"""RUNNING trials nobody will finish: those of workers stopped by a signal, and orphans whose
worker died before it started them."""

from __future__ import annotations

import datetime
import os
import socket

import optuna

from nas.search._config import SearchConfig
from nas.search._storage import trial_storage


def worker_id(pid: int | None = None) -> str:
    """What the objective stores as ``worker``: ``host:pid``."""
    return f"{socket.gethostname()}:{pid if pid is not None else os.getpid()}"


def fail_running(study: optuna.Study, workers: set[str], reason: str) -> list[int]:
    """FAIL the RUNNING trials whose ``worker`` is in ``workers`` (after an interrupt)."""
    failed = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if t.user_attrs.get("worker") in workers and _fail(study, t, reason):
            failed.append(t.number)
    return failed


def _fail(study: optuna.Study, t: optuna.trial.FrozenTrial, reason: str,
          retry: bool = False) -> bool:
    """FAIL ``t`` with ``reason`` (and, with ``retry``, enqueue its retry as the heartbeat
    check does); False if it finished meanwhile."""
    storage, trial_id = trial_storage(study, t)
    try:
        storage.set_trial_user_attr(trial_id, "fail_reason", reason)
        if not storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False  # it finished, or another worker failed it first
    getter = getattr(storage, "get_heartbeat_stale_trial_callback", None)
    callback = getter() if retry and getter is not None else None
    if callback is not None:
        callback(study, storage.get_trial(trial_id))
    return True


def fail_orphans(study: optuna.Study, cfg: SearchConfig) -> list[int]:
    """FAIL RUNNING trials that never reached the objective and never sent a heartbeat.

    Optuna's stale check skips trials without any heartbeat; a worker killed between creating
    its trial and the first heartbeat would leave one RUNNING for ever. Our objective tags every
    trial it starts with ``worker``; an untagged trial older than the grace period plus a minute
    is such an orphan. Returns the trial numbers failed.
    """
    grace = cfg.grace_period or 2 * cfg.heartbeat_interval
    now = datetime.datetime.now()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if t.datetime_start is None:
            continue
        age = (now - t.datetime_start).total_seconds()
        worker = t.user_attrs.get("worker")
        if worker is None and age > grace + 60:
            reason = "orphaned: its worker died before starting it"
        elif worker is not None and age > grace and _dead_here(str(worker)):
            # killed before its first heartbeat: Optuna's stale check never sees it (seen once
            # under load: a rerun then waited for ever); retried like a stale trial
            reason = f"orphaned: its worker {worker} is gone"
        else:
            continue
        if _fail(study, t, reason, retry=worker is not None):
            failed.append(t.number)
    return failed


def _dead_here(worker: str) -> bool:
    """Whether ``worker`` (``host:pid``) is a process of this host that no longer runs."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (another user's): alive
        return False
    return False
