"""Rungs: the top of the front promoted to longer training, asynchronously (ASHA-like).

``--rungs proxy,medium`` trains every sampled trial with ``proxy`` (the study itself, rung 0)
and retrains the most promising ones with ``medium`` (rung 1), and so on up the list.

**One study per rung.** Rung ``k > 0`` is the Optuna study ``<name>@<preset>`` in the same
storage. A promotion is a trial *enqueued* there, carrying the architecture and where it came
from (user attributes ``promotion_of``: the trial number one rung below; ``origin_trial``: the
trial number in the search study; ``miou@<preset>`` of every rung below). So:

- the sampler of the search study only ever sees rung-0 (proxy) values: a medium mIoU is never
  compared with a proxy one as if they were the same thing. Each rung study's values are at
  its own preset, its own front is comparable within it, and nothing samples there (every
  trial is enqueued);
- promotions get heartbeats, the stale-trial retry after ``kill -9`` and resume for free,
  with ``--jobs N`` and PostgreSQL alike, because they are ordinary trials;
- optuna-dashboard shows each rung as a study of its own, with its own front.

**Who is promoted** (:func:`select_promotions`), each time a worker looks for work:

- every reference trained one rung below (they are the yardstick on every front);
- searched trials on the *margin front*: no trial with no more bytes scores more than
  ``margin`` above them (``margin`` covers the proxy's seed noise, see BENCHMARKS.md), closest
  to the front first, while the promoted searched trials are fewer than
  ``share x (searched trials trained one rung below)``. As in ASHA, the quota grows as trials
  complete, a promotion is never taken back, and promoted trials run before new ones.

The search is done when the search study holds ``--trials`` trials and no rung has work left.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from nas.front import front_miou_at
from nas.studyio import RUNG_SEP, miou_key

LIVE = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
# What a promotion copies from the trial one rung below (besides its miou@<preset> values).
CARRIED_ATTRS = ("spec", "reference", "arch", "param_bytes")


def rung_study_name(study_name: str, preset: str) -> str:
    """The study that holds rung ``preset`` of the search ``study_name``."""
    return f"{study_name}{RUNG_SEP}{preset}"


@dataclass(frozen=True)
class RungPoint:
    """A trial trained to the end at one rung.

    Attributes:
        number: its trial number in that rung's study.
        miou: val mIoU at that rung's preset.
        param_bytes: weights + biases (the same at every rung).
        reference: the reference's name, or ``""`` for a searched trial.
    """

    number: int
    miou: float
    param_bytes: int
    reference: str = ""


def rung_points(trials: Iterable[FrozenTrial]) -> list[RungPoint]:
    """The trials of one rung that can be promoted: COMPLETE, trained to the end and
    feasible (references also when they do not fit: they are trained as the yardstick)."""
    out = []
    for t in trials:
        ua = t.user_attrs
        ref = str(ua.get("reference") or "")
        if (t.state != TrialState.COMPLETE or not t.values or ua.get("trained") is not True
                or ua.get("early_stopped") or ua.get("param_bytes") is None
                or (not ref and ua.get("feasible") is not True)):
            continue
        out.append(RungPoint(t.number, float(t.values[0]), int(ua["param_bytes"]), ref))
    return out


def front_gap(point: RungPoint, searched: Sequence[RungPoint]) -> float:
    """How far ``point`` is below the front of ``searched`` at its bytes (0 on the front)."""
    best = front_miou_at(searched, point.param_bytes)
    return 0.0 if best is None else max(0.0, best - point.miou)


def select_promotions(points: Sequence[RungPoint], promoted: Iterable[int], share: float,
                      margin: float) -> list[int]:
    """Trial numbers to promote now, in order: new references, then the margin front.

    Args:
        points: one rung's :func:`rung_points`.
        promoted: trial numbers of that rung already promoted (never taken back).
        share: at most this share of the rung's searched points is promoted, all told.
        margin: mIoU below the front a searched trial may be and still be promoted.
    """
    if not 0 < share <= 1:
        raise ValueError(f"promote share must be in (0, 1], but got {share}")
    if margin < 0:
        raise ValueError(f"promote margin must be >= 0, but got {margin}")
    done = set(promoted)
    refs = sorted((p for p in points if p.reference and p.number not in done),
                  key=lambda p: p.number)
    searched = [p for p in points if not p.reference]
    room = math.floor(share * len(searched) + 1e-9) - sum(p.number in done for p in searched)
    gaps = {p.number: front_gap(p, searched) for p in searched}
    candidates = sorted(
        (p for p in searched if p.number not in done and gaps[p.number] <= margin + 1e-12),
        key=lambda p: (gaps[p.number], -p.miou, p.param_bytes, p.number))
    return [p.number for p in refs] + [p.number for p in candidates[:max(0, room)]]


def promotion_attrs(trial: FrozenTrial, rung: str) -> dict[str, object]:
    """The user attributes a promotion of ``trial`` to ``rung`` starts with."""
    ua = trial.user_attrs
    attrs: dict[str, object] = {k: ua[k] for k in CARRIED_ATTRS if ua.get(k) is not None}
    attrs.update({k: v for k, v in ua.items() if k.startswith(miou_key(""))})
    attrs.update(promotion_of=trial.number, origin_trial=ua.get("origin_trial", trial.number),
                 rung=rung)
    return attrs


def promoted_numbers(study: optuna.Study) -> set[int]:
    """Trial numbers one rung below that ``study`` (a rung study) holds, ran or will run.

    A promotion that failed with an error counts (retraining it would fail again and stop
    the worker after five failures in a row); one that was interrupted (Ctrl-C, SIGTERM) does
    not, so a rerun promotes it again. A killed worker's promotion is retried by the
    heartbeat, as a WAITING copy.
    """
    out = set()
    for t in study.get_trials(deepcopy=False):
        src, ua = t.user_attrs.get("promotion_of"), t.user_attrs
        if src is None:
            continue
        failed_for_good = (t.state == TrialState.FAIL and ua.get("fail_reason")
                           and not str(ua["fail_reason"]).startswith("interrupted"))
        if t.state in LIVE or failed_for_good:
            out.add(int(src))
    return out


def promote(lower: optuna.Study, upper: optuna.Study, rung: str, share: float,
            margin: float) -> list[int]:
    """Enqueue in ``upper`` (rung ``rung``) the trials of ``lower`` that :func:`select_promotions`
    picks; returns their numbers in ``lower``.

    Two workers promoting at the same moment may enqueue one trial twice; the objective runs
    only the oldest copy (:func:`nas.search._objective.surplus`).
    """
    trials = {t.number: t for t in lower.get_trials(deepcopy=False,
                                                     states=(TrialState.COMPLETE,))}
    picked = select_promotions(rung_points(trials.values()), promoted_numbers(upper), share,
                               margin)
    for number in picked:
        upper.enqueue_trial({}, user_attrs=promotion_attrs(trials[number], rung))
    return picked


def pending(study: optuna.Study) -> dict[str, int]:
    """WAITING and RUNNING trial counts of a rung study."""
    counts = {"WAITING": 0, "RUNNING": 0}
    for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING)):
        counts[t.state.name] += 1
    return counts
