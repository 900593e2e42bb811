"""The result of a hardware check: violations, figures, and Optuna constraints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nas.hardware._layers import IzerLayer
from nas.hardware._plan_types import MemoryPlan


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes:
        layer: the izer layer it concerns (``None`` for whole-network rules).
        limit: short rule id, e.g. ``"kernel_memory"``, ``"data_memory_input"``.
        value: what the network needs (units in ``message``).
        allowed: the device limit in the same units.
        over: ``value - allowed`` (> 0).
        message: one line naming the layer, the limit, the value and the excess.
    """

    layer: str | None
    limit: str
    value: float
    allowed: float
    message: str

    @property
    def over(self) -> float:
        return self.value - self.allowed

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "limit": self.limit, "value": self.value,
                "allowed": self.allowed, "over": self.over, "message": self.message}


@dataclass(frozen=True)
class LayerFigures:
    """Per-layer figures for the table (izer order)."""

    name: str
    kernel_offset: int
    kernel_length: int
    bias_group: int | None  # None = no bias, -1 = spread over groups (depthwise)
    bias_bytes: int
    in_bytes: int  # input bytes per instance (izer's check, before pooling)
    out_bytes: int  # output bytes per instance (izer's check, write gap not counted)
    cycles: int | None
    processors: int
    output_processors: int
    # izer's "Bias offset" row: byte offset in each group's bias memory (None = not there)
    bias_offsets: tuple[int | None, ...] = ()


@dataclass(frozen=True)
class HardwareReport:
    """What izer would say about a network, computed without running it.

    ``weight_bytes`` is izer's "Weight memory" figure (sum of weights x bits / 8, copy layers
    included, biases excluded); ``bias_bytes`` its "Bias memory" (sum of group fills).
    ``latency_cycles`` is izer's estimate incl. the 1 startup cycle (``None`` where izer has no
    latency model, i.e. MAX78002, or when the network is structurally invalid).
    """

    device: str
    input_size: tuple[int, int]
    passthrough: str
    violations: list[Violation]
    weight_bytes: int
    weight_bytes_total: int
    bias_bytes: int
    bias_bytes_total: int
    bias_groups: list[int]
    kernel_offsets: list[int]
    kernel_lengths: list[int]
    kernel_words: int  # words per processor (small processors) on this device
    latency_cycles: int | None
    layer_cycles: list[int]
    cnn_clock_hz: float
    layers: list[IzerLayer]
    figures: list[LayerFigures] = field(default_factory=list)
    plan: MemoryPlan | None = None

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def latency_ms(self) -> float | None:
        if self.latency_cycles is None:
            return None
        return self.latency_cycles / self.cnn_clock_hz * 1e3

    @property
    def kernel_peak(self) -> int:
        """Highest kernel column used + 1 (izer's map width actually needed)."""
        return max((o + n for o, n in zip(self.kernel_offsets, self.kernel_lengths,
                                          strict=True)), default=0)

    @property
    def param_bytes(self) -> int:
        return self.weight_bytes + self.bias_bytes

    def constraints(
        self, max_weight_bytes: int | None = None, max_latency_ms: float | None = None
    ) -> list[float]:
        """``[hardware, weight_budget, latency_budget]`` for Optuna; each <= 0 when satisfied.

        Args:
            max_weight_bytes: budget on weight + bias bytes (``param_bytes``), or None.
            max_latency_ms: budget on the latency estimate in ms, or None.

        ``hardware`` is the largest violation's excess relative to its limit (0 if feasible);
        budgets are ``value / budget - 1`` (0 when no budget is given).
        """
        hw = max((v.over / max(abs(v.allowed), 1.0) for v in self.violations), default=0.0)
        weight = 0.0
        if max_weight_bytes is not None:
            if max_weight_bytes <= 0:
                raise ValueError(f"max_weight_bytes must be > 0, but got {max_weight_bytes}")
            weight = self.param_bytes / max_weight_bytes - 1.0
        latency = 0.0
        if max_latency_ms is not None:
            if max_latency_ms <= 0:
                raise ValueError(f"max_latency_ms must be > 0, but got {max_latency_ms}")
            if self.latency_ms is None and not self.violations:
                raise ValueError(f"max_latency_ms needs a latency estimate, which izer "
                                 f"does not give for {self.device}")
            if self.latency_ms is None:
                latency = 0.0  # invalid network: the hardware constraint already fails
            else:
                latency = self.latency_ms / max_latency_ms - 1.0
        return [float(hw), float(weight), float(latency)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (what ``python -m nas check --json`` prints)."""
        return {
            "feasible": self.feasible,
            "device": self.device,
            "input_size": list(self.input_size),
            "passthrough": self.passthrough,
            "violations": [v.to_dict() for v in self.violations],
            "weight_bytes": self.weight_bytes,
            "weight_bytes_total": self.weight_bytes_total,
            "bias_bytes": self.bias_bytes,
            "bias_bytes_total": self.bias_bytes_total,
            "bias_groups": list(self.bias_groups),
            "kernel_offsets": list(self.kernel_offsets),
            "kernel_lengths": list(self.kernel_lengths),
            "kernel_peak": self.kernel_peak,
            "latency_cycles": self.latency_cycles,
            "layer_cycles": list(self.layer_cycles),
            "latency_ms": self.latency_ms,
            "layers": [
                {
                    "name": f.name,
                    "op": layer.op,
                    "in_channels": layer.in_channels,
                    "out_channels": layer.out_channels,
                    "in_hw": list(layer.in_hw),
                    "out_hw": list(layer.out_hw),
                    "processors": f"0x{f.processors:016x}",
                    "output_processors": f"0x{f.output_processors:016x}",
                    "kernel_offset": f.kernel_offset,
                    "kernel_length": f.kernel_length,
                    "bias_group": f.bias_group,
                    "bias_bytes": f.bias_bytes,
                    "bias_offsets": list(f.bias_offsets),
                    "in_bytes": f.in_bytes,
                    "out_bytes": f.out_bytes,
                    "cycles": f.cycles,
                }
                for f, layer in zip(self.figures, self.layers, strict=True)
            ],
            "plan": self.plan.yaml_layers() if self.plan is not None else None,
        }
