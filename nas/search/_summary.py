"""What a search leaves: its reports (rewritten now and then, and at the end), the
:class:`SearchResult` and the closing summary."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pandas as pd

from nas.front import FrontQuality, front_quality, knee_points, pareto_frame
from nas.report import early_stop_summary, rung_agreement, summary_text
from nas.report import trial_counts as table_counts
from nas.search._config import SearchConfig
from nas.search._outputs import N_KNEES, settings_of, write_reports
from nas.search._progress import study_stats
from nas.search._rung_studies import study_frame
from nas.search._storage import display_url
from nas.search._study import trial_counts

# During a search the reports are rewritten at most this often (seconds); always at the end.
REPORT_EVERY_S = 300.0


@dataclass
class SearchResult:
    """What :func:`~nas.search.run` did: counts, the front and the files written."""

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


def write_study_reports(cfg: SearchConfig, study: optuna.Study) -> dict[str, Path]:
    """The search's report files for ``cfg`` (:func:`~nas.search.write_reports`)."""
    url = display_url(cfg.storage_url)
    return write_reports(study, cfg.study_dir, objectives=cfg.objectives,
                         artifact_dir=cfg.artifact_path, settings=settings_of(cfg, url),
                         source=url, device=cfg.device)


class Reporter:
    """Rewrites the reports when ``REPORT_EVERY_S`` passed since the last time."""

    def __init__(self, cfg: SearchConfig) -> None:
        self.cfg, self.last = cfg, time.monotonic()

    def __call__(self, study: optuna.Study) -> None:
        if time.monotonic() - self.last < REPORT_EVERY_S:
            return
        self.last = time.monotonic()
        write_study_reports(self.cfg, study)


def finish(cfg: SearchConfig, study: optuna.Study, interrupted: bool = False,
           errors: list[str] | None = None) -> SearchResult:
    """Write the reports and return the result (also used after an interrupt)."""
    paths = write_study_reports(cfg, study)
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
