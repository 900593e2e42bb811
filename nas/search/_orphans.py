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
        if t.user_attrs.get("worker") not in workers:
            continue
        storage, trial_id = trial_storage(study, t)
        try:
            storage.set_trial_user_attr(trial_id, "fail_reason", reason)
            if storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL):
                failed.append(t.number)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # it finished meanwhile
    return failed


def fail_orphans(study: optuna.Study, cfg: SearchConfig) -> list[int]:
    """FAIL RUNNING trials that never reached the objective and never sent a heartbeat.

    Optuna's stale check skips trials without any heartbeat; a worker killed between creating
    its trial and the first heartbeat would leave one RUNNING for ever. Our objective tags every
    trial it starts with ``worker``; an untagged trial older than the grace period plus a minute
    is such an orphan. Returns the trial numbers failed.
    """
    grace = cfg.grace_period or 2 * cfg.heartbeat_interval
    limit = datetime.datetime.now() - datetime.timedelta(seconds=grace + 60)
    failed = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if "worker" in t.user_attrs or t.datetime_start is None or t.datetime_start > limit:
            continue
        storage, trial_id = trial_storage(study, t)
        try:
            storage.set_trial_user_attr(trial_id, "fail_reason",
                                        "orphaned: its worker died before starting it")
            if storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL):
                failed.append(t.number)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another worker got there first
    return failed
