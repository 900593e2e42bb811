"""What the search shows while it runs: a status line on a terminal, one line per event.

On a terminal (``mode="bar"``) the last line is a status line redrawn in place, never wider
than the terminal: trials done / target, a bar, the ETA, front / feasible / running / failed
counts and the running trials' epoch and latest val mIoU (with ``--jobs N`` read from each
trial's ``last_epoch`` user attribute, which the objective writes every epoch); finished
trials are printed above it, one line each, wrapped rather than cut: a long reason (why a
trial is infeasible or failed) goes on indented lines below the one with the trial's time.
Elsewhere (a log file, ``--no-progress``: ``mode="lines"``) only the event lines are written.

The ETA is (trials still missing) x (mean wall time of the last completed trials, infeasible
ones included) / workers, read from the storage, so it does not jump when a study is resumed.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Sequence
from typing import TextIO

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from nas.front import pareto_mask

ETA_WINDOW = 30  # completed trials the ETA averages over
LOG_WIDTH = 100  # width of event lines when the output is not a terminal
REASON_LINES = 3  # a reason too long for the event line: at most this many indented lines
INDENT = "    "

# A running trial on the status line: (name, last epoch or None, latest val mIoU or None)
Running = tuple[str, int | None, float | None]


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


def status_line(stats: dict[str, float], total: int, jobs: int, detail: str | Sequence[str],
                width: int) -> str:
    """The status line, at most ``width`` characters; the least useful parts go first.

    ``detail`` (the running trials) may be several spellings, longest first: the first that
    fits is shown, after the bar and the long counts have gone."""
    options = [detail] if isinstance(detail, str) else list(detail) or [""]
    done = min(int(stats.get("complete", 0)), total)
    eta = eta_seconds(stats, total, jobs)
    eta_text = "eta ?" if eta is None else ("done" if done >= total else
                                            f"eta {format_duration(eta)}")
    counts_long = (f"front {stats.get('front', 0)} feasible {stats.get('feasible', 0)} "
                   f"running {stats.get('running', 0)} failed {stats.get('failed', 0)}")
    counts_short = (f"F{stats.get('front', 0)} ok{stats.get('feasible', 0)} "
                    f"run{stats.get('running', 0)} fail{stats.get('failed', 0)}")
    head = f"{done}/{total}"
    layouts = ((counts_long, 12), (counts_long, 0), (counts_short, 0))
    line = ""
    for det in [*options, ""]:
        for counts, bar_w in layouts:
            bar = ""
            if bar_w:
                filled = int(round(bar_w * done / max(1, total)))
                bar = " [" + "#" * filled + "." * (bar_w - filled) + "]"
            line = f"{head}{bar} {eta_text} | {counts}" + (f" | {det}" if det else "")
            if len(line) <= width:
                return line
    return fit(line, width)


def running_detail(running: Sequence[Running]) -> list[str]:
    """Spellings of the running trials for :func:`status_line`, longest first:
    ``trial 58 ep 3 mIoU 0.612, trial 59 ep 7``, then ``trials 58 ep 3 0.612, 59 ep 7``,
    then fewer trials and ``+N more``."""
    if not running:
        return [""]

    def one(name: str, epoch: int | None, miou: float | None, word: str) -> str:
        if epoch is None:
            return f"{name} started"
        return f"{name} ep {epoch}" + ("" if miou is None else f"{word} {miou:.3f}")

    full = ", ".join("trial " + one(*r, " mIoU") for r in running)
    short = [one(*r, "") for r in running]
    n = len(running)
    options = [full, ("trials " if n > 1 else "trial ") + ", ".join(short)]
    options += [f"trials {', '.join(short[:k])} +{n - k} more" for k in range(n - 1, 0, -1)]
    return options


def promotion_name(t: FrozenTrial) -> str:
    """``29 at medium`` / ``0 at medium (ai85unetlarge)``: a trial named by the search trial
    it retrains, at its rung (a search trial: its own number and reference)."""
    ua = t.user_attrs
    name = f" ({ua['reference']})" if ua.get("reference") else ""
    if ua.get("rung"):
        name = f" at {ua['rung']}{name}"
    return f"{ua.get('origin_trial', t.number)}{name}"


def wrap(text: str, width: int) -> str:
    """``text`` within ``width`` columns, continued on indented lines rather than cut."""
    if len(text) <= width:
        return text
    return "\n".join(textwrap.wrap(text, width, subsequent_indent=INDENT,
                                   break_on_hyphens=False))


def with_reason(head: str, sep: str, reason: str, width: int) -> str:
    """``head + sep + reason`` on one line if it fits, else ``head`` (wrapped) and the reason
    on indented lines below it (at most :data:`REASON_LINES`, the last cut with an ellipsis),
    so the trial and its time are never lost to a long reason."""
    one = f"{head}{sep}{reason}"
    if len(one) <= width:
        return one
    body = textwrap.wrap(reason, width, initial_indent=INDENT, subsequent_indent=INDENT,
                         max_lines=REASON_LINES, placeholder=" …", break_on_hyphens=False)
    return "\n".join([wrap(head, width), *body])


STALE_REASON = ("its worker stopped without a word (killed, or the machine went down), so its "
                "heartbeat went stale; such trials are retried")


def event_line(t: FrozenTrial, width: int) -> str | None:
    """The line(s) for a trial that finished (``None`` for trials not worth a line); lines
    longer than ``width`` are wrapped onto indented lines, never cut."""
    ua = t.user_attrs
    if ua.get("surplus") or t.state not in (TrialState.COMPLETE, TrialState.FAIL):
        return None
    secs = (t.datetime_complete - t.datetime_start).total_seconds() \
        if t.datetime_complete and t.datetime_start else None
    took = f", {format_duration(secs)}" if secs is not None else ""
    nbytes = f"{int(ua['param_bytes']):,} param B" if ua.get("param_bytes") is not None else ""
    who = promotion_name(t)
    if t.state == TrialState.FAIL:
        after = f" after {format_duration(secs)}" if secs is not None else ""
        # Only a trial failed for its stale heartbeat has no reason: its worker died unheard.
        return with_reason(f"trial {who} FAILED{after}", ": ",
                           str(ua.get("fail_reason") or STALE_REASON), width)
    if ua.get("trained") is False:
        violations = ua.get("violations") or ["infeasible"]
        why = str(violations[0]) + (f" (+{len(violations) - 1} more)"
                                    if len(violations) > 1 else "")
        return with_reason(f"trial {who} infeasible, not trained: {nbytes}{took}", "; ", why,
                           width)
    if ua.get("early_stopped"):
        return wrap(f"trial {who} stopped early at epoch {ua.get('epochs')}: val mIoU "
                    f"{t.values[0]:.3f} + margin < front, {nbytes}{took}", width)
    fits = "" if ua.get("feasible", True) else ", does not fit"
    return wrap(f"trial {who} done: val mIoU {t.values[0]:.3f}, {nbytes}{fits}{took}", width)


def running_name(t: FrozenTrial) -> str:
    """A running trial on the status line: ``58``, or ``29 at medium`` for a promotion."""
    ua = t.user_attrs
    rung = f" at {ua['rung']}" if ua.get("rung") else ""
    return f"{ua.get('origin_trial', t.number)}{rung}"


class Progress:
    """Status line and event lines; ``refresh(study)`` re-reads the storage.

    The running trials shown on the status line come from :meth:`trial_started` and
    :meth:`epoch` (the worker in this process) and from the storage on :meth:`refresh` /
    :meth:`refresh_rungs` (every worker: their ``last_epoch`` user attribute)."""

    def __init__(self, total: int, jobs: int = 1, mode: str = "bar",
                 stream: TextIO | None = None, width: int | None = None) -> None:
        if mode not in ("bar", "lines", "off"):
            raise ValueError(f"mode must be 'bar', 'lines' or 'off', but got {mode!r}")
        self.total, self.jobs, self.mode = total, jobs, mode
        self.stream = stream if stream is not None else sys.stderr
        self._width = width
        self.stats: dict[str, float] = {}
        # running trials: (study name, "" for the search's own; trial number) -> what to show
        self.running: dict[tuple[str, int], Running] = {}
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

    @property
    def detail(self) -> str:
        """The running trials, as the status line shows them when there is room."""
        return self.details()[0]

    def details(self) -> list[str]:
        return running_detail([self.running[k] for k in sorted(self.running)])

    def _track(self, key: str, trials: Sequence[FrozenTrial]) -> None:
        """The running trials of one study (``key``) as the storage has them."""
        live = {t.number: t for t in trials if t.state == TrialState.RUNNING}
        for k in [k for k in self.running if k[0] == key and k[1] not in live]:
            del self.running[k]  # finished (or failed) since
        for number, t in live.items():
            if "worker" not in t.user_attrs:
                continue  # not started by a worker yet (or just created by this one)
            last = t.user_attrs.get("last_epoch")
            _, epoch, miou = self.running.get((key, number), ("", None, None))
            if isinstance(last, dict) and (epoch is None or int(last["epoch"]) >= epoch):
                epoch = int(last["epoch"])
                miou = float(last["miou"]) if last.get("miou") is not None else miou
            self.running[(key, number)] = (running_name(t), epoch, miou)

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
        self._track("", trials)
        for number in sorted(set(finished) - self.seen):
            self.seen.add(number)
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
            self._track(study.study_name, trials)
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
                if t.state == TrialState.RUNNING and self.mode == "lines":
                    self.message(f"trial {promotion_name(t)} started", redraw=False)
            for t in finished:
                if t.number not in seen:
                    seen.add(t.number)
                    line = event_line(t, self.width)
                    if line:
                        self.message(line, redraw=False)
        self._draw()

    def trial_started(self, number: int, redraw: bool = True) -> None:
        if number in self.started:
            return
        self.started.add(number)
        if self.mode == "lines":
            self.message(f"trial {number} started", redraw=False)
        self.running.setdefault(("", number), (str(number), None, None))
        if redraw:
            self._draw()

    def epoch(self, trial_number: int, epoch: int, metrics: dict) -> None:
        """An epoch of the trial this process trains (``Objective.on_epoch``)."""
        miou = metrics.get("miou")
        name, _, last = self.running.get(("", trial_number), (str(trial_number), None, None))
        self.running[("", trial_number)] = (
            name, epoch, float(miou) if isinstance(miou, int | float) else last)
        self._draw()

    def message(self, text: str, redraw: bool = True) -> None:
        """Print a line, or lines (above the status line on a terminal)."""
        if self.mode == "off":
            return
        self._clear()
        for line in text.splitlines() or [""]:
            print(fit(line, self.width), file=self.stream, flush=True)
        if redraw:
            self._draw()

    def line(self) -> str:
        return status_line(self.stats, self.total, self.jobs, self.details(), self.width)

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
