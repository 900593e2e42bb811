"""Early stop of dominated trials: after an evaluated epoch, stop a trial that cannot reach
the current front at its byte count, even if it still gains ``margin`` mIoU.

Bytes are known before training, so a trial's place on the bytes axis is fixed; only its mIoU
moves. If a finished trial with no more bytes already scores above ``mIoU now + margin``, the
trial would end dominated unless it gains more than ``margin`` in its remaining epochs.

Optuna's pruners are single-objective (``trial.should_prune`` raises in a multi-objective
study), so the decision is ours: the trial's intermediate mIoU, at its fixed bytes, against
the non-dominated set of the finished trials (:func:`nas.front.front_miou_at`). A stopped
trial stays COMPLETE with its partial mIoU and the user attribute ``early_stopped`` (see
:mod:`nas.search._objective` for why not PRUNED).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState

from nas.front import FrontPoint, front_miou_at


def front_points(trials: Iterable[FrozenTrial]) -> list[FrontPoint]:
    """The points a running trial is judged against: COMPLETE, feasible, trained to the end
    (early-stopped trials' partial mIoU would lower the bar), references included."""
    out = []
    for t in trials:
        ua = t.user_attrs
        if (t.state != TrialState.COMPLETE or not t.values or ua.get("feasible") is not True
                or ua.get("trained") is not True or ua.get("early_stopped")
                or ua.get("param_bytes") is None):
            continue
        out.append(FrontPoint(float(t.values[0]), int(ua["param_bytes"])))
    return out


def cannot_reach_front(miou: float, param_bytes: int, points: Sequence[FrontPoint],
                       margin: float) -> bool:
    """True when ``miou + margin`` is still strictly below the front at ``param_bytes``.

    Conservative on ties: a trial that would only tie the front is kept.
    """
    bar = front_miou_at(points, param_bytes)
    return bar is not None and miou + margin < bar


@dataclass(frozen=True)
class EarlyStop:
    """Settings of the early stop.

    Attributes:
        margin: mIoU a trial may still gain between an evaluated epoch and its last one; a
            trial is stopped only if even that gain leaves it below the front. One value for
            every evaluation, or one per evaluation (the last repeats): a trial gains much
            more after its first epochs than after its last ones. On the ``proxy`` preset,
            evaluated every 2 epochs, the gains still to come after epochs 2 / 4 / 6 / 8 were
            at most 0.66 / 0.39 / 0.21 / 0.15 (BENCHMARKS.md, "Rungs and early stop").
        every: evaluate val every this many epochs (the proxy evaluates once, at the end,
            without early stop), so each evaluation adds a pass over the val frames.
    """

    margin: float | tuple[float, ...] = 0.1
    every: int = 2

    def __post_init__(self) -> None:
        margins = self.margin if isinstance(self.margin, tuple) else (self.margin,)
        if not margins or not all(0 <= m <= 1 for m in margins):
            raise ValueError(f"early_stop_margin must be in [0, 1] (one value or one per "
                             f"evaluation), but got {self.margin}")
        if self.every < 1:
            raise ValueError(f"early_stop_every must be >= 1, but got {self.every}")

    def margin_at(self, epoch: int) -> float:
        """The margin after ``epoch`` (1-based): evaluation ``epoch // every``'s own value,
        the last one for any later evaluation."""
        if not isinstance(self.margin, tuple):
            return float(self.margin)
        i = max(0, epoch // self.every - 1)
        return float(self.margin[min(i, len(self.margin) - 1)])
