"""MAX78000 / MAX78002 hardware model: what izer (ai8x-synthesis) would say, in milliseconds.

No torch here: everything is computed from the :class:`~nas.spec.ArchSpec`.

- :func:`check` -> :class:`HardwareReport` (violations, weight/bias memory, kernel layout,
  latency, memory plan; ``constraints()`` for Optuna).
- :func:`izer_layers`: the izer layer list (incl. the copy layers of > 64-channel concats).
- :func:`plan_memory` -> :class:`MemoryPlan` (processors, offsets, write gaps per layer);
  :func:`verify_plan` re-proves that no tensor is overwritten before its last read.
  When the greedy planner fails, :func:`plan_exact` (CP-SAT) finds a plan or proves none exists.
- :func:`bias_requests` / :func:`place_biases` -> :class:`BiasPlacement`: izer's bias layout
  (used by :func:`check` and by the exporter for layers with all-zero biases).
- :data:`DEVICES` / :func:`get_device`; :data:`DEFAULT_DEVICE` (MAX78000) is every command's
  default chip.
"""

from nas.hardware._bias import (
    BiasFailure,
    BiasPlacement,
    BiasRequest,
    bias_length,
    bias_requests,
    groups_used,
    place_biases,
)
from nas.hardware._check import check, check_layers
from nas.hardware._device import DEFAULT_DEVICE, DEVICES, Device, get_device, list_devices
from nas.hardware._kernels import kernel_length, place_kernels
from nas.hardware._layers import PASSTHROUGH_MODES, IzerLayer, izer_layers
from nas.hardware._plan import exact_budget_ms, plan_memory
from nas.hardware._plan_exact import ExactResult, plan_exact
from nas.hardware._plan_processors import processor_masks
from nas.hardware._plan_types import (
    MemoryPlan,
    PlanError,
    PlannedLayer,
    in_place_shift,
    plan_layers,
)
from nas.hardware._plan_verify import verify_plan
from nas.hardware._report import HardwareReport, LayerFigures, Violation

__all__ = [
    "BiasFailure",
    "BiasPlacement",
    "BiasRequest",
    "DEFAULT_DEVICE",
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
    "bias_length",
    "bias_requests",
    "check",
    "check_layers",
    "exact_budget_ms",
    "get_device",
    "groups_used",
    "in_place_shift",
    "izer_layers",
    "kernel_length",
    "list_devices",
    "place_biases",
    "place_kernels",
    "plan_exact",
    "plan_layers",
    "plan_memory",
    "processor_masks",
    "verify_plan",
]
