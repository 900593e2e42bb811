"""What the search shows while it runs: a status line on a terminal, one line per event.

On a terminal (``mode="bar"``) the last line is a status line redrawn in place, never wider
than the terminal: trials done / target, a bar, the ETA, front / feasible / running / failed
counts and the running trial's epoch; finished trials are printed above it, one line each.
Elsewhere (a log file, ``--no-progress``: ``mode="lines"``) only the event lines are written.

The ETA is (trials still missing) x (mean wall time of the last completed trials, infeasible
ones included) / workers, read from the storage, so it does not jump when a study is resumed.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from typing import TextIO

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from nas.search._pareto import pareto_mask

ETA_WINDOW = 30  # completed trials the ETA averages over
LOG_WIDTH = 100  # width of event lines when the output is not a terminal


def study_stats(trials: list[FrozenTrial] | optuna.Study) -> dict[str, float]:
    """``complete``, ``feasible``, ``front``, ``running``, ``failed`` counts and ``trial_s``
    (mean seconds of the last :data:`ETA_WINDOW` completed trials, 0 if none)."""
    if isinstance(trials, optuna.Study):
        trials = trials.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE
            and not t.user_attrs.get("surplus")]
    ok = [t for t in done if t.user_attrs.get("feasible")]
    front = 0
    if ok:
        miou = np.array([t.values[0] for t in ok])
        costs = np.array([t.values[1:] for t in ok], dtype=float)
        front = int(pareto_mask(miou, costs).sum())
    spans = [(t.datetime_start, t.datetime_complete) for t in done
             if t.datetime_complete and t.datetime_start]
    recent = sorted(spans, key=lambda span: span[1])[-ETA_WINDOW:]
    durations = [(end - start).total_seconds() for start, end in recent]
    return {
        "complete": len(done),
        "feasible": len(ok),
        "front": front,
        "running": sum(t.state == TrialState.RUNNING for t in trials),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
        "trial_s": float(np.mean(durations)) if durations else 0.0,
    }


def format_duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``4:30 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    hours, rest = divmod(int(round(seconds / 60)), 60)
    return f"{hours}:{rest:02d} h"


def eta_seconds(stats: dict[str, float], total: int, jobs: int) -> float | None:
    """Seconds until ``total`` complete trials, or ``None`` before the first one."""
    if not stats.get("trial_s"):
        return None
    missing = max(0, total - int(stats.get("complete", 0)))
    return missing * float(stats["trial_s"]) / max(1, jobs)


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def status_line(stats: dict[str, float], total: int, jobs: int, detail: str,
                width: int) -> str:
    """The status line, at most ``width`` characters; the least useful parts go first."""
    done = min(int(stats.get("complete", 0)), total)
    eta = eta_seconds(stats, total, jobs)
    eta_text = "eta ?" if eta is None else ("done" if done >= total else
                                            f"eta {format_duration(eta)}")
    counts_long = (f"front {stats.get('front', 0)} feasible {stats.get('feasible', 0)} "
                   f"running {stats.get('running', 0)} failed {stats.get('failed', 0)}")
    counts_short = (f"F{stats.get('front', 0)} ok{stats.get('feasible', 0)} "
                    f"run{stats.get('running', 0)} fail{stats.get('failed', 0)}")
    head = f"{done}/{total}"
    for counts, bar_w, det in ((counts_long, 12, detail), (counts_long, 0, detail),
                               (counts_short, 0, detail), (counts_short, 0, "")):
        bar = ""
        if bar_w:
            filled = int(round(bar_w * done / max(1, total)))
            bar = " [" + "#" * filled + "." * (bar_w - filled) + "]"
        line = f"{head}{bar} {eta_text} | {counts}" + (f" | {det}" if det else "")
        if len(line) <= width:
            return line
    return fit(line, width)


def promotion_name(t: FrozenTrial) -> str:
    """``29 at medium`` / ``0 at medium (ai85unetlarge)``: a trial named by the search trial
    it retrains, at its rung (a search trial: its own number and reference)."""
    ua = t.user_attrs
    name = f" ({ua['reference']})" if ua.get("reference") else ""
    if ua.get("rung"):
        name = f" at {ua['rung']}{name}"
    return f"{ua.get('origin_trial', t.number)}{name}"


def event_line(t: FrozenTrial, width: int) -> str | None:
    """One line for a trial that finished (``None`` for trials not worth a line)."""
    ua = t.user_attrs
    if ua.get("surplus") or t.state not in (TrialState.COMPLETE, TrialState.FAIL):
        return None
    secs = (t.datetime_complete - t.datetime_start).total_seconds() \
        if t.datetime_complete and t.datetime_start else None
    took = f", {format_duration(secs)}" if secs is not None else ""
    nbytes = f"{int(ua['param_bytes']):,} param B" if ua.get("param_bytes") is not None else ""
    who = promotion_name(t)
    if t.state == TrialState.FAIL:
        text = f"trial {who} FAILED: {ua.get('fail_reason') or 'no reason recorded'}"
    elif ua.get("trained") is False:
        why = (ua.get("violations") or ["infeasible"])[0]
        text = f"trial {who} infeasible, not trained: {nbytes}; {why}"
    elif ua.get("early_stopped"):
        text = (f"trial {who} stopped early at epoch {ua.get('epochs')}: val mIoU "
                f"{t.values[0]:.3f} + margin < front, {nbytes}{took}")
    else:
        fits = "" if ua.get("feasible", True) else ", does not fit"
        text = (f"trial {who} done: val mIoU {t.values[0]:.3f}, {nbytes}{fits}"
                f"{took}")
    return fit(text, width)


class Progress:
    """Status line and event lines; ``refresh(study)`` re-reads the storage."""

    def __init__(self, total: int, jobs: int = 1, mode: str = "bar",
                 stream: TextIO | None = None, width: int | None = None) -> None:
        if mode not in ("bar", "lines", "off"):
            raise ValueError(f"mode must be 'bar', 'lines' or 'off', but got {mode!r}")
        self.total, self.jobs, self.mode = total, jobs, mode
        self.stream = stream if stream is not None else sys.stderr
        self._width = width
        self.stats: dict[str, float] = {}
        self.detail = ""
        self.seen: set[int] | None = None  # trials already finished (None: not read yet)
        self.started: set[int] = set()
        self._drawn = False
        self.rung_seen: dict[str, set[int]] = {}  # rung study -> trials already reported
        self.rung_started: dict[str, set[int]] = {}  # rung study -> starts already reported

    @property
    def width(self) -> int:
        if self._width is not None:
            return self._width
        if self.mode == "bar":
            return max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        return LOG_WIDTH

    def refresh(self, study: optuna.Study) -> dict[str, float]:
        trials = study.get_trials(deepcopy=False)
        self.stats = study_stats(trials)
        finished = {t.number: t for t in trials
                    if t.state in (TrialState.COMPLETE, TrialState.FAIL)}
        if self.seen is None:  # the first read: what was there before is not news
            self.seen = set(finished)
            self.started = {t.number for t in trials if t.state == TrialState.RUNNING}
        for t in trials:  # trials other workers started
            if t.state == TrialState.RUNNING and t.number not in self.started \
                    and "worker" in t.user_attrs:
                self.trial_started(t.number, redraw=False)
        for number in sorted(set(finished) - self.seen):
            self.seen.add(number)
            if number == self._detail_trial():
                self.detail = ""
            line = event_line(finished[number], self.width)
            if line:
                self.message(line, redraw=False)
        self._draw()
        return self.stats

    def refresh_rungs(self, studies: Sequence[optuna.Study]) -> None:
        """Event lines for promotions (``--rungs``) that started or finished since the last
        call (a promotion trains for minutes: its start is news too)."""
        for study in studies:
            trials = study.get_trials(deepcopy=False)
            finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.FAIL)]
            seen = self.rung_seen.get(study.study_name)
            if seen is None:  # the first read: what was there before is not news
                self.rung_seen[study.study_name] = {t.number for t in finished}
                self.rung_started[study.study_name] = {t.number for t in trials}
                continue
            started = self.rung_started[study.study_name]
            for t in trials:
                if t.number in started or "worker" not in t.user_attrs:
                    continue
                started.add(t.number)
                if t.state == TrialState.RUNNING:
                    text = f"trial {promotion_name(t)} started"
                    self.detail = text
                    if self.mode == "lines":
                        self.message(text, redraw=False)
            for t in finished:
                if t.number not in seen:
                    seen.add(t.number)
                    line = event_line(t, self.width)
                    if line:
                        self.message(line, redraw=False)
        self._draw()

    def _detail_trial(self) -> int | None:
        parts = self.detail.split()
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None

    def trial_started(self, number: int, redraw: bool = True) -> None:
        if number in self.started:
            return
        self.started.add(number)
        if self.mode == "lines":
            self.message(f"trial {number} started", redraw=False)
        self.detail = f"trial {number} started"
        if redraw:
            self._draw()

    def epoch(self, trial_number: int, epoch: int, metrics: dict) -> None:
        miou = metrics.get("miou")
        self.detail = f"trial {trial_number} ep {epoch}" + (
            f" mIoU {miou:.3f}" if isinstance(miou, float) else "")
        self._draw()

    def message(self, text: str, redraw: bool = True) -> None:
        """Print a line (above the status line on a terminal)."""
        if self.mode == "off":
            return
        self._clear()
        print(fit(text, self.width), file=self.stream, flush=True)
        if redraw:
            self._draw()

    def line(self) -> str:
        return status_line(self.stats, self.total, self.jobs, self.detail, self.width)

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False

    def _draw(self) -> None:
        if self.mode != "bar":
            return
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
