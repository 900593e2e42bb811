"""The workers: one worker's trial loop (:func:`work`), in this process or in ``--jobs``
worker processes (:func:`run_parallel`), each with its objective."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, cast

import optuna

from nas.search._config import SearchConfig
from nas.search._logging import quiet_optuna
from nas.search._objective import Objective
from nas.search._orphans import fail_orphans, fail_running, worker_id
from nas.search._progress import Progress
from nas.search._protocols import Components, TrainFn
from nas.search._rung_studies import RungWork, open_rung_study
from nas.search._signals import StopSignals, signal_of
from nas.search._storage import artifact_store, open_storage
from nas.search._study import make_sampler, trial_counts, worker_seed
from nas.search._summary import Reporter
from nas.studyio import rung_studies, study_storage

# A worker gives up after this many failed trials in a row (a broken setup, not bad luck).
MAX_CONSECUTIVE_FAILURES = 5


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


def components_of(cfg: SearchConfig) -> Components:
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
        comps = components_of(cfg)
        storage = open_storage(cfg)
        seed = worker_seed(cfg, worker, n_existing)
        study = optuna.load_study(study_name=cfg.study_name, storage=storage,
                                  sampler=make_sampler(cfg, seed))
        work(cfg, study, _make_objective(cfg, comps, signals), deadline, signals=signals,
             rungs=_rung_work(cfg, study, comps, signals))
    except KeyboardInterrupt as e:
        sys.exit(128 + signal_of(e))


def run_in_process(cfg: SearchConfig, study: optuna.Study, comps: Components, n_existing: int,
                   deadline: float | None, progress: Progress,
                   signals: StopSignals) -> list[str]:
    """One worker in this process (``--jobs 1``); returns its error, if it gave up."""
    errors: list[str] = []
    _set_threads(cfg)
    if n_existing:  # resumed: reseed so a RandomSampler does not replay old draws
        study.sampler = make_sampler(cfg, worker_seed(cfg, 0, n_existing))
    try:
        work(cfg, study, _make_objective(cfg, comps, signals, progress), deadline,
             progress, Reporter(cfg), signals, _rung_work(cfg, study, comps, signals))
    except RuntimeError as e:
        errors.append(str(e))
    return errors


def watch(procs: Sequence[Any], signals: StopSignals, tick: Callable[[], None],
          poll_s: float = 2.0) -> None:
    """Until every worker process has exited, call ``tick`` (progress, reports) every
    ``poll_s`` seconds; raises :class:`~nas.search._signals.Interrupted` on a noted signal."""
    with signals.deferred():
        while any(p.is_alive() for p in procs):
            signals.check()
            tick()
            for p in procs:
                p.join(timeout=poll_s / len(procs))
        # A terminal's Ctrl-C reaches the workers too: they may all have exited (130)
        # before the loop looked at the signal noted here. It is a stop, not a failure.
        signals.check()


def run_parallel(cfg: SearchConfig, study: optuna.Study, n_existing: int,
                 deadline: float | None, progress: Progress,
                 signals: StopSignals) -> list[str]:
    """``cfg.jobs`` worker processes (:func:`worker_main`) until all exit; returns one line
    per worker that failed. On a signal: stop them, FAIL their RUNNING trials, re-raise."""
    ctx = mp.get_context("spawn")  # no forked torch/OpenMP or database state
    procs = [ctx.Process(target=worker_main, args=(cfg, i, n_existing, deadline),
                         name=f"maxnas-worker-{i}", daemon=False) for i in range(cfg.jobs)]
    reporter = Reporter(cfg)
    storage = study_storage(study)
    upper = [open_rung_study(cfg, storage, i) for i in range(1, len(cfg.rungs))]
    try:
        for p in procs:  # inside the try: a Ctrl-C while spawning stops the ones started
            p.start()

        def tick() -> None:
            progress.refresh(study)
            progress.refresh_rungs(upper)
            reporter(study)

        watch(procs, signals, tick)
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
