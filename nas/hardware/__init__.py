"""MAX78000 / MAX78002 hardware model: what izer (ai8x-synthesis) would say, in milliseconds.

No torch here: everything is computed from the :class:`~nas.spec.ArchSpec`.

- :func:`check` -> :class:`HardwareReport` (violations, weight/bias memory, kernel layout,
  latency, memory plan; ``constraints()`` for Optuna).
- :func:`izer_layers`: the izer layer list (incl. the copy layers of > 64-channel concats).
- :func:`plan_memory` -> :class:`MemoryPlan` (processors, offsets, write gaps per layer);
  :func:`verify_plan` re-proves that no tensor is overwritten before its last read.
  When the greedy planner fails, :func:`plan_exact` (CP-SAT) finds a plan or proves none exists.
- :data:`DEVICES` / :func:`get_device`.
"""

from nas.hardware._check import check, check_layers
from nas.hardware._device import DEVICES, Device, get_device, list_devices
from nas.hardware._kernels import kernel_length, place_kernels
from nas.hardware._layers import PASSTHROUGH_MODES, IzerLayer, izer_layers
from nas.hardware._plan import (
    MemoryPlan,
    PlanError,
    PlannedLayer,
    exact_budget_ms,
    in_place_shift,
    plan_layers,
    plan_memory,
    processor_masks,
    verify_plan,
)
from nas.hardware._plan_exact import ExactResult, plan_exact
from nas.hardware._report import HardwareReport, LayerFigures, Violation

__all__ = [
    "DEVICES",
    "Device",
    "ExactResult",
    "HardwareReport",
    "IzerLayer",
    "LayerFigures",
    "MemoryPlan",
    "PASSTHROUGH_MODES",
    "PlanError",
    "PlannedLayer",
    "Violation",
    "check",
    "check_layers",
    "exact_budget_ms",
    "get_device",
    "in_place_shift",
    "izer_layers",
    "kernel_length",
    "list_devices",
    "place_kernels",
    "plan_exact",
    "plan_layers",
    "plan_memory",
    "processor_masks",
    "verify_plan",
]
