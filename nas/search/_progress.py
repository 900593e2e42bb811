"""Progress bar: complete trials / target, ETA, front size, feasible count."""

from __future__ import annotations

import sys

import numpy as np
import optuna
from optuna.trial import TrialState
from tqdm import tqdm

from nas.search._report import pareto_mask


def study_stats(study: optuna.Study) -> dict[str, int]:
    """``complete``, ``feasible``, ``front``, ``running``, ``failed`` counts from the storage."""
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    ok = [t for t in done if t.user_attrs.get("feasible") and not t.user_attrs.get("surplus")]
    front = 0
    if ok:
        miou = np.array([t.values[0] for t in ok])
        costs = np.array([t.values[1:] for t in ok], dtype=float)
        front = int(pareto_mask(miou, costs).sum())
    return {
        "complete": len(done),
        "feasible": len(ok),
        "front": front,
        "running": sum(t.state == TrialState.RUNNING for t in trials),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
    }


class Progress:
    """A tqdm bar over COMPLETE trials; ``refresh(study)`` re-reads the storage."""

    def __init__(self, total: int, initial: int, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar = tqdm(total=total, initial=initial, desc="trials", unit="trial",
                        file=sys.stderr, disable=not enabled, dynamic_ncols=True,
                        smoothing=0.1)
        self.stats: dict[str, int] = {}
        self.detail = ""

    def refresh(self, study: optuna.Study) -> dict[str, int]:
        self.stats = study_stats(study)
        done = min(self.stats["complete"], self.bar.total)
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)
        self._postfix()
        return self.stats

    def epoch(self, trial_number: int, epoch: int, metrics: dict) -> None:
        miou = metrics.get("miou")
        self.detail = f"trial {trial_number} ep {epoch}" + (
            f" mIoU {miou:.3f}" if isinstance(miou, float) else "")
        self._postfix()

    def _postfix(self) -> None:
        s = self.stats
        self.bar.set_postfix_str(
            f"front {s.get('front', 0)}, feasible {s.get('feasible', 0)}, "
            f"running {s.get('running', 0)}, failed {s.get('failed', 0)}"
            + (f" | {self.detail}" if self.detail else ""), refresh=True)

    def close(self) -> None:
        self.bar.close()
