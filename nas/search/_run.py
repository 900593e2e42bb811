"""``run(cfg)``: open the study, run workers until it holds ``n_trials`` COMPLETE trials, report.

Budget rule (exact under any number of workers and hosts): a worker starts a trial only while
``COMPLETE + RUNNING < n_trials`` and otherwise waits for the running ones (which may fail);
inside the trial, :func:`nas.search._objective.surplus` prunes the rare trial that lost a race.

Fault handling:
- Ctrl-C / SIGTERM: Optuna marks the running trial FAIL (we add ``fail_reason``), the reports
  are written from what is stored, and the exit is clean. Completed trials are in the storage
  the moment they finish, so nothing completed is lost.
- A killed worker (``kill -9``, power loss): its trial stops sending heartbeats; after the grace
  period any worker marks it FAIL and ``RetryHeartbeatStaleTrialCallback`` enqueues a copy.
"""

from __future__ import annotations

import datetime
import multiprocessing as mp
import os
import signal
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from nas.search._config import SearchConfig
from nas.search._objective import Objective
from nas.search._progress import Progress, study_stats
from nas.search._protocols import Components
from nas.search._report import pareto_frame, summary_text, trials_frame, write_reports
from nas.search._storage import artifact_store, display_url, open_storage
from nas.search._study import create_or_load_study, make_sampler, trial_counts, worker_seed

# A worker gives up after this many failed trials in a row (a broken setup, not bad luck).
MAX_CONSECUTIVE_FAILURES = 5
# During a search the reports are rewritten at most this often (seconds); always at the end.
REPORT_EVERY_S = 300.0


@dataclass
class SearchResult:
    """What :func:`run` did: counts, the front and the files written."""

    study_name: str
    storage: str
    counts: dict[str, int]
    n_feasible: int
    front: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)
    interrupted: bool = False
    worker_errors: list[str] = field(default_factory=list)


def resolve_data_dir(data_dir: Path | None) -> Path:
    """CamVid folder from the flag, ``$CAMVID_DIR`` or ``data/CamVid`` (ValueError if none)."""
    from nas.data import resolve_data_dir as resolve

    return Path(resolve(data_dir))


def _validate_references(cfg: SearchConfig) -> None:
    from nas.spec import REFERENCES

    bad = [r for r in cfg.references if r not in REFERENCES]
    if bad:
        raise ValueError(f"unknown reference(s) {bad}; available: {sorted(REFERENCES)}")


def prepare(cfg: SearchConfig) -> tuple[SearchConfig, optuna.Study, Components]:
    """Everything that can fail on bad input, before any trial: names, data, storage, study."""
    _validate_references(cfg)
    comps = cfg.components(cfg)
    if cfg.latency_objective or cfg.max_latency_ms is not None:
        from nas.spec import get_reference

        probe = comps.check(get_reference(cfg.references[0] if cfg.references else
                                          "unetmysmall", comps.task.num_classes), cfg.device)
        if probe.latency_ms is None:
            raise ValueError(f"--objectives latency / --max-latency-ms need a latency model, "
                             f"which the hardware model does not have for {cfg.device}")
    cfg = cfg.replace(data_dir=resolve_data_dir(cfg.data_dir))
    storage = open_storage(cfg)
    study = create_or_load_study(cfg, storage, comps.params_for)
    return cfg, study, comps


# -- one worker ---------------------------------------------------------------------------------
def work(cfg: SearchConfig, study: optuna.Study, objective: Objective, deadline: float | None,
         progress: Progress | None = None, reporter: Any = None) -> str:
    """Run trials until the study holds ``cfg.n_trials`` COMPLETE ones (or the deadline).

    ``reporter(study)``, if given, is called after each trial.

    Returns:
        ``"done"`` or ``"timeout"``. Raises ``KeyboardInterrupt`` when interrupted and
        ``RuntimeError`` after :data:`MAX_CONSECUTIVE_FAILURES` failed trials in a row.
    """
    poll = max(0.2, min(1.0, cfg.heartbeat_interval / 2))  # a cheap query
    failures: list[str] = []
    outcome: dict[str, Any] = {}

    def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        outcome["state"], outcome["reason"] = trial.state, trial.user_attrs.get("fail_reason")
        if progress is not None:
            progress.refresh(study)
        if reporter is not None:
            reporter(study)

    while True:
        if deadline is not None and time.time() >= deadline:
            return "timeout"
        counts = trial_counts(study)
        if counts["COMPLETE"] >= cfg.n_trials:
            return "done"
        if counts["COMPLETE"] + counts["RUNNING"] >= cfg.n_trials:
            # The rest is running elsewhere; wait, and fail trials whose worker died.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
            fail_orphans(study, cfg)
            if progress is not None:
                progress.refresh(study)
            time.sleep(poll)
            continue
        outcome.clear()
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[on_trial],
                       gc_after_trial=False)
        if outcome.get("state") == optuna.trial.TrialState.FAIL:
            failures.append(str(outcome.get("reason")))
            if len(failures) >= MAX_CONSECUTIVE_FAILURES:
                raise RuntimeError(
                    f"{len(failures)} trials in a row failed; last: {failures[-1]}")
        else:
            failures.clear()


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
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if "worker" in t.user_attrs or t.datetime_start is None or t.datetime_start > limit:
            continue
        try:
            storage.set_trial_user_attr(t._trial_id, "fail_reason",
                                        "orphaned: its worker died before starting it")
            if storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL):
                failed.append(t.number)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another worker got there first
    return failed


class _Reporter:
    """Rewrites the reports when ``REPORT_EVERY_S`` passed since the last time."""

    def __init__(self, cfg: SearchConfig) -> None:
        self.cfg, self.last = cfg, time.monotonic()

    def __call__(self, study: optuna.Study) -> None:
        if time.monotonic() - self.last < REPORT_EVERY_S:
            return
        self.last = time.monotonic()
        write_reports(study, self.cfg.study_dir, objectives=self.cfg.objectives,
                      artifact_dir=self.cfg.artifact_path)


def _make_objective(cfg: SearchConfig, comps: Components,
                    progress: Progress | None = None) -> Objective:
    return Objective(
        cfg=cfg, space=comps.space, task=comps.task, check=comps.check,
        train=cfg.trainer, data_dir=cfg.data_dir, store=artifact_store(cfg),
        on_epoch=progress.epoch if progress is not None else None,
    )


def _set_threads(cfg: SearchConfig) -> None:
    import torch

    torch.set_num_threads(cfg.threads_per_job)


def _interrupt_once(signum: int, frame: Any) -> None:
    """First SIGINT/SIGTERM: KeyboardInterrupt; later ones are ignored so that marking the
    running trial FAIL and exiting are not themselves interrupted."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def worker_main(cfg: SearchConfig, worker: int, n_existing: int,
                deadline: float | None) -> None:
    """Entry point of a ``--jobs`` worker process (spawned: nothing inherited but ``cfg``)."""
    signal.signal(signal.SIGINT, _interrupt_once)
    signal.signal(signal.SIGTERM, _interrupt_once)
    try:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        _set_threads(cfg)
        comps = cfg.components(cfg)
        storage = open_storage(cfg)
        seed = worker_seed(cfg, worker, n_existing)
        study = optuna.load_study(study_name=cfg.study_name, storage=storage,
                                  sampler=make_sampler(cfg, seed))
        work(cfg, study, _make_objective(cfg, comps), deadline)
    except KeyboardInterrupt:
        sys.exit(130)


# -- the whole search ------------------------------------------------------------------------
def _run_parallel(cfg: SearchConfig, study: optuna.Study, n_existing: int,
                  deadline: float | None, progress: Progress) -> list[str]:
    ctx = mp.get_context("spawn")  # no forked torch/OpenMP or database state
    procs = [ctx.Process(target=worker_main, args=(cfg, i, n_existing, deadline),
                         name=f"maxnas-worker-{i}", daemon=False) for i in range(cfg.jobs)]
    for p in procs:
        p.start()
    reporter = _Reporter(cfg)
    try:
        while any(p.is_alive() for p in procs):
            progress.refresh(study)
            reporter(study)
            for p in procs:
                p.join(timeout=2.0 / len(procs))
    except KeyboardInterrupt:
        # From a terminal the workers got SIGINT too; give them a moment to mark their
        # trials, then make sure (SIGTERM acts as an interrupt in a worker), then kill.
        for sig, wait in ((None, 5.0), (signal.SIGTERM, 30.0), (signal.SIGKILL, 5.0)):
            alive = [p for p in procs if p.is_alive() and p.pid is not None]
            if not alive:
                break
            if sig is not None:
                for p in alive:
                    os.kill(p.pid, sig)
            end = time.time() + wait
            for p in alive:
                p.join(timeout=max(0.0, end - time.time()))
        raise
    return [f"{p.name} exited with code {p.exitcode}" for p in procs
            if p.exitcode not in (0, None)]


def run(cfg: SearchConfig) -> SearchResult:
    """Run (or resume) the search described by ``cfg``; see the module docstring."""
    cfg, study, comps = prepare(cfg)
    if cfg.progress:
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # the bar says it all
    n_existing = len(study.get_trials(deepcopy=False))
    counts = trial_counts(study)
    progress = Progress(cfg.n_trials, min(counts["COMPLETE"], cfg.n_trials), cfg.progress)
    progress.refresh(study)
    deadline = time.time() + cfg.timeout if cfg.timeout is not None else None
    interrupted, errors = False, []
    try:
        if cfg.jobs == 1:
            _set_threads(cfg)
            if n_existing:  # resumed: reseed so a RandomSampler does not replay old draws
                study.sampler = make_sampler(cfg, worker_seed(cfg, 0, n_existing))
            try:
                work(cfg, study, _make_objective(cfg, comps, progress), deadline, progress,
                     _Reporter(cfg))
            except RuntimeError as e:
                errors.append(str(e))
        else:
            errors = _run_parallel(cfg, study, n_existing, deadline, progress)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    return finish(cfg, study, interrupted, errors)


def finish(cfg: SearchConfig, study: optuna.Study, interrupted: bool = False,
           errors: list[str] | None = None) -> SearchResult:
    """Write the reports and return the result (also used after an interrupt)."""
    paths = write_reports(study, cfg.study_dir, objectives=cfg.objectives,
                          artifact_dir=cfg.artifact_path)
    df = trials_frame(study.get_trials(deepcopy=False), len(cfg.objectives), cfg.artifact_path)
    stats = study_stats(study)
    return SearchResult(
        study_name=cfg.study_name, storage=display_url(cfg.storage_url),
        counts=trial_counts(study),
        n_feasible=stats["feasible"], front=pareto_frame(df, cfg.objectives), paths=paths,
        interrupted=interrupted, worker_errors=list(errors or []),
    )


def summary(result: SearchResult) -> str:
    head = "interrupted; " if result.interrupted else ""
    text = f"{head}study {result.study_name!r} in {result.storage}\n" + summary_text(
        result.front, result.paths, result.counts, result.n_feasible)
    if result.worker_errors:
        text += "\nworker errors:\n" + "\n".join(f"  {e}" for e in result.worker_errors)
    return text
