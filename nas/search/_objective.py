"""The objective: thin glue from a trial to (hardware check -> train -> metrics).

An infeasible architecture is never trained. It is completed with the objective values
``(mIoU 0, its real bytes[, its latency])`` and constraint values > 0, so that

- it counts as a finished trial (a rerun does not draw it again to reach ``--trials``);
- every sampler (TPE, NSGA-II, GP) sees it as infeasible through ``trial.constraints`` and
  learns to avoid its region, which a FAIL or PRUNED trial would not teach;
- ``study.best_trials``, our fronts and optuna-dashboard's front leave it out (they filter on
  constraints), and mIoU 0 keeps it off any front built from raw values as well.

Early stop (``--early-stop``, off by default): a searched trial whose val mIoU plus a margin
cannot reach the current front at its byte count stops (:mod:`nas.search._early_stop`). It is
completed, not PRUNED, with its partial mIoU and ``early_stopped=True``:

- multi-objective Optuna has no pruners, and NSGA-II and GP ignore PRUNED trials, so a pruned
  trial would teach those samplers nothing about its (bad) region, whereas a COMPLETE one with
  a dominated value tells every sampler the region is worse than the front, which is true by
  the stop rule (its mIoU is below the front by more than the margin);
- it counts towards ``--trials`` like an infeasible trial, so the budget stays a count of
  architectures judged, and a resumed study does not redraw it;
- the fronts, knees and finalize leave it out (its mIoU is partial), and the points an early
  stop is judged against exclude it too, so a partial mIoU never lowers the bar.

Constraint values are written twice: named, with Optuna 5's ``trial.set_constraint``, and as the
list under the system attribute ``"constraints"``, the only form optuna-dashboard 0.21 reads
(``_serializer.CONSTRAINTS_KEY``). Optuna merges both forms, so each value appears twice in
``trial.constraints``; feasibility and the samplers' ordering of violations are unchanged.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.artifacts import upload_artifact
from optuna.trial import TrialState

from nas.front import front_miou_at
from nas.search._config import SearchConfig
from nas.search._early_stop import cannot_reach_front, front_points
from nas.search._protocols import (
    ArtifactStore,
    CheckFn,
    HardwareReportLike,
    Interrupts,
    SpaceFn,
    TaskLike,
    TrainFn,
)
from nas.search._rungs import miou_key
from nas.search._storage import trial_storage
from nas.spec import ArchSpec, get_reference
from nas.train import get_preset

CONSTRAINTS_KEY = "constraints"  # optuna_dashboard._serializer.CONSTRAINTS_KEY
CONSTRAINT_NAMES = ("hardware", "weight_budget", "latency_budget")


def set_dashboard_constraints(trial: optuna.Trial, constraints: list[float]) -> None:
    """The list form of the constraints that optuna-dashboard reads to draw infeasible trials
    apart. Optuna 5 has no public setter for system attributes: this writes through its
    storage API (:func:`~nas.search._storage.trial_storage`)."""
    storage, trial_id = trial_storage(trial.study, trial)
    storage.set_trial_system_attr(trial_id, CONSTRAINTS_KEY, constraints)


def arch_summary(spec: ArchSpec) -> str:
    """One line describing a spec, for hover texts and tables."""
    enc = "-".join(str(lvl.width) for lvl in spec.encoder)
    dec = "-".join(str(lvl.width) for lvl in spec.decoder)
    convs = [c for lvl in spec.encoder for c in lvl.convs]
    convs += [c for lvl in spec.decoder for c in lvl.convs] + list(spec.prep) + list(spec.head)
    bits = sorted({c.bits for c in convs} | {lvl.up_bits for lvl in spec.decoder}
                  | {spec.classifier_bits})
    sep = sum(c.separable for c in convs)
    skips = sum(lvl.skip for lvl in spec.decoder)
    return (
        f"depth {spec.depth}, fold {spec.fold_ratio}, enc {enc}, dec {dec}, "
        f"prep {len(spec.prep)}, head {len(spec.head)}, skips {skips}, "
        f"separable {sep}, bits {'/'.join(map(str, bits))}"
    )


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def surplus(trial: optuna.Trial, n_trials: int) -> str | None:
    """Why this trial should not run, or ``None``.

    - ``n_trials`` older trials are already done, running or queued: trial numbers are assigned
      atomically by the storage, so among workers that race past the budget check only the
      oldest trials go on, and the study never holds more than ``n_trials`` COMPLETE trials.
    - it is a reference that an older trial already covers (two workers that start at the same
      moment may both enqueue the references).
    """
    states = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
    older = [t for t in trial.study.get_trials(deepcopy=False, states=states)
             if t.number < trial.number]
    if len(older) >= n_trials:
        return f"the study already has {n_trials} trials done, running or queued"
    ref = trial.user_attrs.get("reference")
    if ref is not None and any(t.user_attrs.get("reference") == ref for t in older):
        return f"reference {ref} is already covered by an older trial"
    src = trial.user_attrs.get("promotion_of")
    if src is not None and any(t.user_attrs.get("promotion_of") == src for t in older):
        return f"the promotion of trial {src} is already covered by an older trial"
    return None


@dataclass
class Objective:
    """``objective(trial) -> (mIoU, bytes[, latency ms])`` for ``study.optimize``.

    Attributes:
        cfg: the search.
        space: ``trial -> ArchSpec`` (a ``search_spaces`` space).
        task: the ``nas.data.Task``.
        check: ``nas.hardware.check``, called at ``cfg.device`` and ``cfg.input_size``.
        train: ``nas.train.train`` (or a test fake with its signature).
        data_dir: resolved CamVid folder.
        store: the Optuna artifact store for checkpoints.
        on_epoch: ``(trial number, epoch, metrics)`` hook for the progress bar.
        rung: the objective of a rung study (:mod:`nas.search._rungs`): each trial retrains
            the architecture a promotion enqueued, with ``cfg.preset``.
        interrupts: the worker's signal handling: a SIGINT / SIGTERM stops the training at
            once, but never in the middle of a storage write (those are ``protected``, and
            outside training a signal waits for the worker loop). ``None``: not interruptible.
    """

    cfg: SearchConfig
    space: SpaceFn
    task: TaskLike
    check: CheckFn
    train: TrainFn
    data_dir: Path | None
    store: ArtifactStore
    on_epoch: Callable[[int, int, dict], None] | None = None
    rung: bool = False
    interrupts: Interrupts | None = None

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        reason = surplus(trial, self.cfg.n_trials)
        if reason is not None:
            trial.set_user_attr("surplus", reason)
            raise optuna.TrialPruned(reason)
        if self.rung and trial.user_attrs.get("promotion_of") is None:
            # another worker took the promotion this one was started for
            reason = "no promotion waiting"
            trial.set_user_attr("surplus", reason)
            raise optuna.TrialPruned(reason)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        try:
            return self._run(trial)
        except KeyboardInterrupt:
            trial.set_user_attr("fail_reason", "interrupted (Ctrl-C / SIGTERM)")
            raise
        except optuna.TrialPruned:
            raise
        except Exception as e:
            trial.set_user_attr("fail_reason", f"{type(e).__name__}: {e}"[:1000])
            raise

    # -- steps --------------------------------------------------------------------------
    def _spec(self, trial: optuna.Trial) -> ArchSpec:
        ref = trial.user_attrs.get("reference")
        if self.rung and ref is None:  # a promotion: the architecture one rung below trained
            return ArchSpec.from_json(trial.user_attrs["spec"])
        if ref is None:
            return self.space(trial)
        # References train their own spec; their enqueued params (if the space can express
        # them) are still suggested so the sampler learns from them.
        if trial.user_attrs.get("reference_params") and not self.rung:
            with warnings.catch_warnings():  # a reference may lie outside the space's ranges
                warnings.filterwarnings("ignore", message="Fixed parameter .* out of range")
                self.space(trial)
        return get_reference(ref, self.task.num_classes)

    def _run(self, trial: optuna.Trial) -> tuple[float, ...]:
        cfg = self.cfg
        spec = self._spec(trial)
        hw = self.check(spec, cfg.device, input_size=cfg.input_size)
        param_bytes, latency = self._record_hardware(trial, spec, hw)
        feasible = self._constrain(trial, hw)
        latency_value = latency if latency is not None else math.inf
        is_reference = trial.user_attrs.get("reference") is not None
        if not feasible and not is_reference:
            trial.set_user_attr("trained", False)
            return self._values(0.0, param_bytes, latency_value)
        # References are trained even when they do not fit the device: they are the yardstick
        # every front is read against. Their constraints still keep them off the feasible front.
        if cfg.latency_objective and latency is None:
            raise ValueError("the hardware model gave no latency for a feasible spec")

        tmp = cfg.study_dir / "tmp" / f"trial{trial.number}-{uuid.uuid4().hex[:8]}.pt"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        # crops follow the deployment input, so training sees what check() checked
        preset = get_preset(cfg.preset).at_input_size(cfg.input_size, spec.fold_ratio)
        can_stop = cfg.early_stop and not is_reference  # references are the yardstick
        stop = cfg.early_stopping()
        if can_stop:
            preset = preset.replace(eval_every=min(preset.eval_every, cfg.early_stop_every))

        def callback(epoch: int, metrics: dict) -> bool:
            with self._protected():  # storage writes: a signal now raises right after them
                return record_epoch(epoch, metrics)

        latest: dict[str, float] = {}  # the last evaluated val mIoU

        def record_epoch(epoch: int, metrics: dict) -> bool:
            if "miou" in metrics:
                latest["miou"] = float(metrics["miou"])
            # every epoch: the status line of a --jobs N search reads it from the storage
            trial.set_user_attr("last_epoch", {"epoch": epoch, "miou": latest.get("miou")})
            if self.on_epoch is not None:
                self.on_epoch(trial.number, epoch, metrics)
            if not can_stop or "miou" not in metrics:
                return False
            done = trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            points = front_points(done)
            if cannot_reach_front(float(metrics["miou"]), param_bytes, points,
                                  stop.margin_at(epoch)):
                trial.set_user_attr("early_stop_front_miou", front_miou_at(points, param_bytes))
                return True
            return False

        start = time.monotonic()
        try:
            with self._raising():
                result = self.train(
                    spec, self.task, preset, self.data_dir, seed=cfg.seed,
                    device=cfg.torch_device, callback=callback, checkpoint_path=tmp,
                    progress=False, threads=cfg.threads_per_job,
                )
            trial.set_user_attr("trained", True)
            trial.set_user_attr("miou", float(result.miou))
            trial.set_user_attr(miou_key(cfg.preset), float(result.miou))
            if result.low_bit_penalty is not None:  # trained in float, priced as `full` does
                trial.set_user_attr("low_bit_penalty", float(result.low_bit_penalty))
                trial.set_user_attr("measured_miou", float(result.measured_miou or 0.0))
            trial.set_user_attr("per_class_iou",
                                {k: _finite(v) for k, v in result.per_class_iou.items()})
            trial.set_user_attr("pixel_accuracy", float(result.pixel_accuracy))
            trial.set_user_attr("train_seconds", float(result.seconds))
            trial.set_user_attr("epochs", int(result.epochs))
            # per-epoch training loss: the material of loss-based rankings (BENCHMARKS.md)
            trial.set_user_attr("train_losses", [round(float(h["loss"]), 5) for h in
                                                 getattr(result, "history", None) or []])
            if cfg.early_stop and not is_reference:
                stopped = bool(getattr(result, "stopped_early", False))
                trial.set_user_attr("early_stopped", stopped)
                trial.set_user_attr("early_stop_margin", stop.margin)
                trial.set_user_attr("preset_epochs", int(preset.epochs))
            artifact_id = upload_artifact(
                artifact_store=self.store, file_path=str(tmp), study_or_trial=trial,
                mimetype="application/octet-stream",
            )
            trial.set_user_attr("checkpoint_artifact_id", artifact_id)
        finally:
            tmp.unlink(missing_ok=True)
            trial.set_user_attr("wall_seconds", time.monotonic() - start)
        return self._values(float(result.miou), param_bytes, latency_value)

    def _record_hardware(self, trial: optuna.Trial, spec: ArchSpec,
                         hw: HardwareReportLike) -> tuple[int, float | None]:
        """The hardware model's figures as user attributes; (param bytes, latency ms)."""
        param_bytes = int(hw.weight_bytes) + int(hw.bias_bytes)
        latency = _finite(hw.latency_ms)
        ends = [o + n for o, n in zip(hw.kernel_offsets, hw.kernel_lengths, strict=True)]
        # kernel_words_used: highest kernel-memory column used + 1 (izer's map width needed)
        trial.set_user_attr("spec", spec.to_json(indent=None))
        trial.set_user_attr("arch", arch_summary(spec))
        trial.set_user_attr("weight_bytes", int(hw.weight_bytes))
        trial.set_user_attr("bias_bytes", int(hw.bias_bytes))
        trial.set_user_attr("param_bytes", param_bytes)
        trial.set_user_attr("latency_ms", latency)
        trial.set_user_attr("kernel_words_used", max(ends, default=0))
        trial.set_user_attr("kernel_offsets", list(map(int, hw.kernel_offsets)))
        trial.set_user_attr("kernel_lengths", list(map(int, hw.kernel_lengths)))
        return param_bytes, latency

    def _constrain(self, trial: optuna.Trial, hw: HardwareReportLike) -> bool:
        """Set the trial's constraints (chip limits, budgets) and violations; feasible?"""
        cfg = self.cfg
        constraints = [float(c) for c in hw.constraints(cfg.max_weight_bytes, cfg.max_latency_ms)]
        violations = [v.message for v in hw.violations]
        names = self._constraint_names(len(constraints))
        for name, value in zip(names, constraints, strict=True):
            trial.set_constraint(name, value)
            if value > 0 and name != "hardware":  # budgets are value / budget - 1
                violations.append(f"{name} exceeded by {value:.1%}")
        set_dashboard_constraints(trial, constraints)
        feasible = all(c <= 0 for c in constraints)
        trial.set_user_attr("feasible", feasible)
        trial.set_user_attr("violations", violations)
        return feasible

    def _raising(self) -> AbstractContextManager[None]:
        return self.interrupts.raising() if self.interrupts else contextlib.nullcontext()

    def _protected(self) -> AbstractContextManager[None]:
        return self.interrupts.protected() if self.interrupts else contextlib.nullcontext()

    def _constraint_names(self, n: int) -> tuple[str, ...]:
        if n == len(CONSTRAINT_NAMES):
            return CONSTRAINT_NAMES
        return tuple(f"c{i}" for i in range(n))

    def _values(self, miou: float, param_bytes: int, latency: float) -> tuple[float, ...]:
        values = (miou, float(param_bytes))
        return values + (latency,) if self.cfg.latency_objective else values
