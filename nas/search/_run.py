"""``run(cfg)``: open the study, run workers until it holds ``n_trials`` COMPLETE trials, report.

Budget rule (exact under any number of workers and hosts): a worker starts a trial only while
``COMPLETE + RUNNING < n_trials`` and otherwise waits for the running ones (which may fail);
inside the trial, :func:`nas.search._objective.surplus` prunes the rare trial that lost a race.

Fault handling:
- SIGINT (Ctrl-C) and SIGTERM (``timeout``, a batch scheduler, systemd), the same in every mode
  (one worker, ``--jobs N``, any storage): inside a trial's training the signal stops it at
  once and Optuna marks the trial FAIL (``fail_reason`` names the signal); elsewhere it is
  noted and acted on at the next safe point, so no storage write is cut in half. The reports
  are then written from what is stored, a short summary is printed and the exit status is
  128 + the signal number (130, 143). Completed trials are in the storage the moment they
  finish, so nothing completed is lost, and no trial of this run stays RUNNING.
- A killed worker (``kill -9``, power loss): its trial stops sending heartbeats; after the grace
  period any worker marks it FAIL and ``RetryHeartbeatStaleTrialCallback`` enqueues a copy.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import optuna
import pandas as pd

import nas.data
from nas.front import FrontQuality, front_quality, knee_points, pareto_frame
from nas.hardware import get_device
from nas.report import early_stop_summary, rung_agreement, summary_text
from nas.report import trial_counts as table_counts
from nas.search._config import SearchConfig
from nas.search._objective import Objective
from nas.search._outputs import N_KNEES, settings_of, write_reports
from nas.search._progress import Progress, study_stats
from nas.search._protocols import Components, TrainFn
from nas.search._rung_studies import RungWork, open_rung_study, study_frame
from nas.search._storage import artifact_store, display_url, open_storage, trial_storage
from nas.search._study import create_or_load_study, make_sampler, trial_counts, worker_seed
from nas.spec import REFERENCES
from nas.studyio import rung_studies, study_storage

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
    signal: int | None = None  # the signal that stopped the run
    knees: pd.DataFrame | None = None
    table_counts: dict[str, int] = field(default_factory=dict)  # nas.report.trial_counts
    quality: FrontQuality | None = None  # log-bytes hypervolume, bytes to reach an mIoU
    rung_lines: list[str] = field(default_factory=list)  # --rungs: one line per rung
    early_stop_line: str = ""  # --early-stop: how many it stopped, the epochs saved

    @property
    def exit_status(self) -> int:
        """0 done, 1 a worker failed, 128 + signal when stopped by one (130 Ctrl-C, 143 TERM)."""
        if self.interrupted:
            return 128 + (self.signal or signal.SIGINT)
        return 1 if self.worker_errors else 0


# -- signals ---------------------------------------------------------------------------------
class Interrupted(KeyboardInterrupt):
    """A SIGINT or SIGTERM asked the search to stop (``signum`` says which)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


def signal_of(exc: BaseException) -> int:
    """The signal behind an interrupt (a plain KeyboardInterrupt is Ctrl-C)."""
    return getattr(exc, "signum", signal.SIGINT)


class StopSignals:
    """SIGINT and SIGTERM turned into a clean stop (installed in the main thread only).

    Inside :meth:`raising` (a trial's training) the first signal raises :class:`Interrupted`
    at once, except within :meth:`protected` (the training's own storage writes); elsewhere
    (sampling a trial, recording it, the worker loop) it is only noted and :meth:`check`
    raises at the next safe point, so Optuna's and SQLAlchemy's storage writes are never cut
    in half (a cut PostgreSQL commit would fail the trial with StorageInternalError). Later
    signals are ignored: marking the trial FAIL and writing the reports are not themselves
    interrupted.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.immediate = True
        self._old: dict[int, Any] = {}

    def install(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            return
        self.signum = signum
        if self.immediate:
            raise Interrupted(signum)

    def check(self) -> None:
        if self.signum is not None:
            raise Interrupted(self.signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Note signals instead of raising (the loop calls :meth:`check`)."""
        before, self.immediate = self.immediate, False
        try:
            yield
        finally:
            self.immediate = before

    @contextlib.contextmanager
    def protected(self) -> Iterator[None]:
        """Inside :meth:`raising`: note a signal during a storage write, raise right after it."""
        with self.deferred():
            yield
        if self.immediate:  # back in raising mode: the noted signal stops the training now
            self.check()

    @contextlib.contextmanager
    def raising(self) -> Iterator[None]:
        """Raise at once on a signal (and now, if one came already)."""
        before, self.immediate = self.immediate, True
        try:
            self.check()
            yield
        finally:
            self.immediate = before


class _QuietInterrupts(logging.Filter):
    """Drop Optuna's warnings about a trial failed by an interrupt: the parameter dict and the
    KeyboardInterrupt traceback say nothing the trial's ``fail_reason`` does not."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, KeyboardInterrupt):
            return False
        msg = record.getMessage()
        return not ("failed with value None" in msg or "KeyboardInterrupt" in msg
                    or "Interrupted(" in msg)


def quiet_optuna() -> None:
    """Optuna logs warnings only, without the interrupt noise (our own lines say the rest)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logger = logging.getLogger("optuna")
    for handler in logger.handlers:
        if not any(isinstance(f, _QuietInterrupts) for f in handler.filters):
            handler.addFilter(_QuietInterrupts())


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


def resolve_data_dir(data_dir: Path | None) -> Path:
    """CamVid folder from the flag, ``$CAMVID_DIR`` or ``data/CamVid`` (ValueError if none)."""
    return Path(nas.data.resolve_data_dir(data_dir))


def _validate_references(cfg: SearchConfig) -> None:
    bad = [r for r in cfg.references if r not in REFERENCES]
    if bad:
        raise ValueError(f"unknown reference(s) {bad}; available: {sorted(REFERENCES)}")


def prepare(cfg: SearchConfig) -> tuple[SearchConfig, optuna.Study, Components]:
    """Everything that can fail on bad input, before any trial: names, data, storage, study."""
    _validate_references(cfg)
    comps = _components(cfg)
    if cfg.latency_objective or cfg.max_latency_ms is not None:
        if not get_device(cfg.device).latency_model:
            raise ValueError(f"--objectives latency / --max-latency-ms need a latency model, "
                             f"which the hardware model does not have for {cfg.device}")
    cfg = cfg.replace(data_dir=resolve_data_dir(cfg.data_dir))
    storage = open_storage(cfg)
    study = create_or_load_study(cfg, storage, comps.params_for)
    return cfg, study, comps


# -- one worker ---------------------------------------------------------------------------------
def work(cfg: SearchConfig, study: optuna.Study, objective: Objective, deadline: float | None,
         progress: Progress | None = None, reporter: Any = None,
         signals: StopSignals | None = None, rungs: RungWork | None = None) -> str:
    """Run trials until the study holds ``cfg.n_trials`` COMPLETE ones (or the deadline).

    ``reporter(study)``, if given, is called after each trial. With ``signals``, a SIGINT /
    SIGTERM interrupts the training of the running trial and is otherwise acted on between
    storage operations. With ``rungs`` (``--rungs``), promotions are enqueued as trials
    complete and run before new trials, and the worker stops only when none is left.

    Returns:
        ``"done"`` or ``"timeout"``. Raises ``KeyboardInterrupt`` when interrupted and
        ``RuntimeError`` after :data:`MAX_CONSECUTIVE_FAILURES` failed trials in a row.
    """
    poll = max(0.2, min(1.0, cfg.heartbeat_interval / 2))  # a cheap query
    failures: list[str] = []
    outcome: dict[str, Any] = {}
    signals = signals or StopSignals()  # not installed: never fires

    def guarded(fn: Callable[[optuna.Trial], tuple[float, ...]]
                ) -> Callable[[optuna.Trial], tuple[float, ...]]:
        def run(trial: optuna.Trial) -> tuple[float, ...]:
            try:  # the objective's training raises at once (Objective.interrupts)
                signals.check()
                return fn(trial)
            except KeyboardInterrupt as e:
                name = signal.Signals(signal_of(e)).name
                trial.set_user_attr("fail_reason", f"interrupted by {name}")
                raise
        return run

    def run_trial(trial: optuna.Trial) -> tuple[float, ...]:
        if progress is not None:  # the status line shows it running from its first second
            progress.trial_started(trial.number)
            progress.refresh(trial.study)
        return guarded(objective)(trial)

    def on_trial(done_in: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        outcome["state"], outcome["reason"] = trial.state, trial.user_attrs.get("fail_reason")
        if progress is not None:
            progress.refresh(study)
            if rungs is not None:
                progress.refresh_rungs(rungs.studies)
        if reporter is not None:
            reporter(study)

    def count_failure() -> None:
        if outcome.get("state") == optuna.trial.TrialState.FAIL:
            failures.append(str(outcome.get("reason")))
            if len(failures) >= MAX_CONSECUTIVE_FAILURES:
                raise RuntimeError(
                    f"{len(failures)} trials in a row failed; last: {failures[-1]}")
        elif outcome:
            failures.clear()

    if progress is not None and rungs is not None:
        progress.refresh_rungs(rungs.studies)  # what finished before this run is not news
    with signals.deferred():
        while True:
            signals.check()
            if deadline is not None and time.time() >= deadline:
                return "timeout"
            if rungs is not None:  # promotions first, as in ASHA
                rungs.promote()
                outcome.clear()
                if rungs.run_one(guarded, [on_trial]):
                    count_failure()
                    continue
            counts = trial_counts(study)
            if counts["COMPLETE"] >= cfg.n_trials:
                if rungs is not None and rungs.busy():  # running elsewhere, or just retried
                    time.sleep(poll)
                    continue
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
            study.optimize(run_trial, n_trials=1, catch=(Exception,), callbacks=[on_trial],
                           gc_after_trial=False)
            count_failure()


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


def _write_reports(cfg: SearchConfig, study: optuna.Study) -> dict[str, Path]:
    url = display_url(cfg.storage_url)
    return write_reports(study, cfg.study_dir, objectives=cfg.objectives,
                         artifact_dir=cfg.artifact_path, settings=settings_of(cfg, url),
                         source=url, device=cfg.device)


class _Reporter:
    """Rewrites the reports when ``REPORT_EVERY_S`` passed since the last time."""

    def __init__(self, cfg: SearchConfig) -> None:
        self.cfg, self.last = cfg, time.monotonic()

    def __call__(self, study: optuna.Study) -> None:
        if time.monotonic() - self.last < REPORT_EVERY_S:
            return
        self.last = time.monotonic()
        _write_reports(self.cfg, study)


def _components(cfg: SearchConfig) -> Components:
    """``cfg.components(cfg)``; SearchConfig has imported a ``"module:function"`` already."""
    return cast("Callable[[SearchConfig], Components]", cfg.components)(cfg)


def _trainer(cfg: SearchConfig) -> TrainFn:
    """``cfg.trainer``; SearchConfig has imported a ``"module:function"`` already."""
    return cast(TrainFn, cfg.trainer)


def _make_objective(cfg: SearchConfig, comps: Components, signals: StopSignals,
                    progress: Progress | None = None, rung: bool = False) -> Objective:
    return Objective(
        cfg=cfg, space=comps.space, task=comps.task, check=comps.check,
        train=_trainer(cfg), data_dir=cfg.data_dir, store=artifact_store(cfg),
        on_epoch=progress.epoch if progress is not None and not rung else None, rung=rung,
        interrupts=signals,
    )


def _rung_work(cfg: SearchConfig, study: optuna.Study, comps: Components,
               signals: StopSignals) -> RungWork | None:
    """The worker's :class:`RungWork` with ``--rungs``, else ``None``."""
    if not cfg.upper_rungs:
        return None
    return RungWork(cfg, study, lambda c: _make_objective(c, comps, signals, rung=True))


def _set_threads(cfg: SearchConfig) -> None:
    import torch

    torch.set_num_threads(cfg.threads_per_job)


def worker_main(cfg: SearchConfig, worker: int, n_existing: int,
                deadline: float | None) -> None:
    """Entry point of a ``--jobs`` worker process (spawned: nothing inherited but ``cfg``).

    Exits 128 + signal when stopped by SIGINT / SIGTERM (its trial marked FAIL first).
    """
    signals = StopSignals().install()
    try:
        quiet_optuna()
        _set_threads(cfg)
        comps = _components(cfg)
        storage = open_storage(cfg)
        seed = worker_seed(cfg, worker, n_existing)
        study = optuna.load_study(study_name=cfg.study_name, storage=storage,
                                  sampler=make_sampler(cfg, seed))
        work(cfg, study, _make_objective(cfg, comps, signals), deadline, signals=signals,
             rungs=_rung_work(cfg, study, comps, signals))
    except KeyboardInterrupt as e:
        sys.exit(128 + signal_of(e))


# -- the whole search ------------------------------------------------------------------------
def _run_parallel(cfg: SearchConfig, study: optuna.Study, n_existing: int,
                  deadline: float | None, progress: Progress,
                  signals: StopSignals) -> list[str]:
    ctx = mp.get_context("spawn")  # no forked torch/OpenMP or database state
    procs = [ctx.Process(target=worker_main, args=(cfg, i, n_existing, deadline),
                         name=f"maxnas-worker-{i}", daemon=False) for i in range(cfg.jobs)]
    reporter = _Reporter(cfg)
    storage = study_storage(study)
    upper = [open_rung_study(cfg, storage, i) for i in range(1, len(cfg.rungs))]
    try:
        for p in procs:  # inside the try: a Ctrl-C while spawning stops the ones started
            p.start()
        with signals.deferred():
            while any(p.is_alive() for p in procs):
                signals.check()
                progress.refresh(study)
                progress.refresh_rungs(upper)
                reporter(study)
                for p in procs:
                    p.join(timeout=2.0 / len(procs))
    except KeyboardInterrupt as e:
        # Ctrl-C in a terminal reached the workers too: give them a moment to mark their
        # trials. A SIGTERM (or a SIGINT sent to this process alone) came to us only: pass
        # the same signal on, so each trial's fail_reason names it. Then make sure, then kill.
        got = signal_of(e)
        first = (None, 5.0) if got == signal.SIGINT else (signal.SIGTERM, 30.0)
        for sig, wait in (first, (got, 30.0), (signal.SIGKILL, 5.0)):
            alive = [p for p in procs if p.is_alive() and p.pid is not None]
            if not alive:
                break
            if sig is not None:
                for pid in (p.pid for p in alive if p.pid is not None):
                    os.kill(pid, sig)
            end = time.time() + wait
            for p in alive:
                p.join(timeout=max(0.0, end - time.time()))
        # A worker killed before it could mark its trial leaves it RUNNING: fail it here.
        for s in [study, *rung_studies(study)]:
            fail_running(s, {worker_id(p.pid) for p in procs if p.pid is not None},
                         f"interrupted by {signal.Signals(signal_of(e)).name}; its worker "
                         "was stopped")
        raise
    return [f"{p.name} exited with code {p.exitcode}" for p in procs
            if p.exitcode not in (0, None)]


def _progress_mode(cfg: SearchConfig) -> str:
    if not cfg.progress:
        return "lines"
    return "bar" if sys.stderr.isatty() else "lines"


def run(cfg: SearchConfig) -> SearchResult:
    """Run (or resume) the search described by ``cfg``; see the module docstring.

    Raises:
        Interrupted: a signal came before the first trial (nothing to save yet).
    """
    signals = StopSignals().install()
    try:
        return _run(cfg, signals)
    finally:
        signals.restore()


def _run(cfg: SearchConfig, signals: StopSignals) -> SearchResult:
    cfg, study, comps = prepare(cfg)
    quiet_optuna()
    n_existing = len(study.get_trials(deepcopy=False))
    progress = Progress(cfg.n_trials, cfg.jobs, _progress_mode(cfg))
    deadline = time.time() + cfg.timeout if cfg.timeout is not None else None
    interrupted, errors, signum = False, [], None
    try:
        with signals.deferred():
            progress.refresh(study)
        if cfg.jobs == 1:
            _set_threads(cfg)
            if n_existing:  # resumed: reseed so a RandomSampler does not replay old draws
                study.sampler = make_sampler(cfg, worker_seed(cfg, 0, n_existing))
            try:
                work(cfg, study, _make_objective(cfg, comps, signals, progress), deadline,
                     progress, _Reporter(cfg), signals, _rung_work(cfg, study, comps, signals))
            except RuntimeError as e:
                errors.append(str(e))
        else:
            errors = _run_parallel(cfg, study, n_existing, deadline, progress, signals)
    except KeyboardInterrupt as e:
        interrupted, signum = True, signal_of(e)
        signals.signum = signals.signum or signum  # later signals are ignored from now on
        for s in [study, *rung_studies(study)]:
            fail_running(s, {worker_id()}, f"interrupted by {signal.Signals(signum).name}")
        with contextlib.suppress(Exception):
            progress.refresh(study)  # the failed trial's line
    finally:
        progress.close()
    result = finish(cfg, study, interrupted, errors)
    result.signal = signum
    return result


def finish(cfg: SearchConfig, study: optuna.Study, interrupted: bool = False,
           errors: list[str] | None = None) -> SearchResult:
    """Write the reports and return the result (also used after an interrupt)."""
    paths = _write_reports(cfg, study)
    df = study_frame(study, cfg.preset, cfg.artifact_path)
    stats = study_stats(study)
    front = pareto_frame(df, cfg.objectives)
    return SearchResult(
        study_name=cfg.study_name, storage=display_url(cfg.storage_url),
        counts=trial_counts(study),
        n_feasible=int(stats["feasible"]), front=front, paths=paths,
        interrupted=interrupted, worker_errors=list(errors or []),
        knees=knee_points(front, N_KNEES), table_counts=table_counts(df),
        quality=front_quality(df, cfg.device),
        rung_lines=[f"rung {a.to}: {a.n} nets trained at both; Kendall tau vs {a['from']} "
                    f"{a.kendall_tau:.2f}" for _, a in rung_agreement(df).iterrows()],
        early_stop_line=stopped.line() if (stopped := early_stop_summary(df)) else "",
    )


def summary(result: SearchResult) -> str:
    """The closing screen (80 columns): what happened, the front, the files."""
    if result.interrupted:
        name = signal.Signals(result.signal or signal.SIGINT).name
        head = f"stopped by {name}; rerun the same command to resume.\n"
    else:
        head = ""
    text = f"{head}study {result.study_name!r} in {result.storage}\n" + summary_text(
        result.front, result.paths, result.table_counts, result.knees,
        quality=[*(result.quality.lines() if result.quality is not None else ()),
                 *result.rung_lines,
                 *([result.early_stop_line] if result.early_stop_line else [])])
    if result.worker_errors:
        text += "\nworker errors:\n" + "\n".join(f"  {e}" for e in result.worker_errors)
    return text
