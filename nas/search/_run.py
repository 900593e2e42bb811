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

The parts: the signals (:mod:`nas.search._signals`), the workers and their trial loop
(:mod:`nas.search._workers`), RUNNING trials nobody will finish (:mod:`nas.search._orphans`),
the reports and the closing summary (:mod:`nas.search._summary`) and Optuna's log lines
(:mod:`nas.search._logging`).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from pathlib import Path

import optuna

import nas.data
from nas.hardware import get_device
from nas.search._config import SearchConfig
from nas.search._logging import quiet_optuna
from nas.search._orphans import fail_running, worker_id
from nas.search._progress import Progress
from nas.search._protocols import Components
from nas.search._signals import StopSignals, signal_of
from nas.search._storage import open_storage
from nas.search._study import create_or_load_study
from nas.search._summary import SearchResult, finish
from nas.search._workers import components_of, run_in_process, run_parallel
from nas.spec import REFERENCES
from nas.studyio import rung_studies


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
    comps = components_of(cfg)
    if cfg.latency_objective or cfg.max_latency_ms is not None:
        if not get_device(cfg.device).latency_model:
            raise ValueError(f"--objectives latency / --max-latency-ms need a latency model, "
                             f"which the hardware model does not have for {cfg.device}")
    cfg = cfg.replace(data_dir=resolve_data_dir(cfg.data_dir))
    storage = open_storage(cfg)
    study = create_or_load_study(cfg, storage, comps.params_for)
    return cfg, study, comps


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
            errors = run_in_process(cfg, study, comps, n_existing, deadline, progress, signals)
        else:
            errors = run_parallel(cfg, study, n_existing, deadline, progress, signals)
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
