"""A data-memory plan: its layers' izer fields, and the layout rules every planner keeps.

izer only checks that each layer's input and output fit one data-memory instance; it does not
check that a tensor survives until its last reader (with ``--overlap-data`` it checks nothing).
The planners (:func:`~nas.hardware.plan_memory`) build a plan in which no live tensor is
overwritten, and :func:`~nas.hardware.verify_plan` re-proves that from the plan alone.

Model (per 32-bit word; 4 processors share one instance, offsets are bytes in each instance):

- A tensor of ``C`` channels uses ``passes = ceil(C/64)`` words per pixel in every instance its
  output processors touch; pixel ``i``, pass ``p`` sits at
  ``offset + 4 * (i * passes * (gap + 1) + p * (gap + 1))`` (izer's write pointer with
  ``write_gap = gap``).
- Processor ranges follow ai8x's CamVid U-Net (:mod:`nas.hardware._plan_processors`).
- A layer may overwrite its own input in place (izer ``--overlap-data``) only when it is that
  input's last reader, is a Conv2d without pooling, reads and writes un-gapped data with the same
  number of passes, and writes at least :func:`in_place_shift` bytes *below* the input offset, so
  the write pointer trails the read pointer. The shifts ai8x's U-Net uses on silicon (0x100 for
  1x1, 0x1B0 for 3x3 at W=88) satisfy this rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INPUT = "input"  # name of the network-input tensor
MIN_IN_PLACE_SHIFT = 256  # bytes; smallest shift the shipped U-Net uses (1x1 layers)
IN_PLACE_GUARD = 64  # bytes of margin on top of one padded row + 1 pixel


def mask(lo: int, n: int) -> int:
    """64-bit processor mask of processors ``lo .. lo+n-1``."""
    return ((1 << n) - 1) << lo


def in_place_shift(kernel: int, pad: int, width: int, passes: int) -> int:
    """Smallest ``in_offset - out_offset`` (bytes) for a layer that writes over its own input.

    A 3x3 pad-1 conv still needs one input row plus one pixel after it has written a pixel.
    """
    return max(MIN_IN_PLACE_SHIFT, 4 * passes * pad * (width + 1) + IN_PLACE_GUARD)


@dataclass(frozen=True)
class PlannedLayer:
    """One izer layer with everything the izer YAML needs (and the geometry to verify it).

    Attributes:
        index: position in the izer layer list (YAML sequence number).
        name: layer name (YAML ``name``).
        operation: ``conv2d``, ``convtranspose2d`` or ``none`` (passthrough).
        kernel: 1 or 3 (``kernel_size: 1x1 / 3x3``; 1 for passthrough).
        pad: PyTorch padding (YAML ``pad``).
        pool: 0 or 2 (YAML ``max_pool`` and ``pool_stride``).
        relu: YAML ``activate: ReLU`` (else ``None``).
        processors: 64-bit input processor mask (YAML ``processors``).
        output_processors: 64-bit output processor mask (YAML ``output_processors``).
        in_offset: byte offset of the input in each data-memory instance.
        out_offset: byte offset of the output (for an interleaved part: slot of its first word).
        write_gap: words skipped after each written word (1 for parts of a >64-channel concat).
        in_sequences: izer indices of the inputs in concat order (-1 = network input).
        in_channels, out_channels: channels.
        in_dim: input (H, W) before pooling; out_dim: output (H, W).
        in_passes, out_passes: words per pixel read / written (``ceil(C/64)``).
        groups: conv groups (in_channels for depthwise; YAML ``groups``).
        bits: weight bits (YAML ``quantization``).
        bias: the layer has biases.
    """

    index: int
    name: str
    operation: str
    kernel: int
    pad: int
    pool: int
    relu: bool
    processors: int
    output_processors: int
    in_offset: int
    out_offset: int
    write_gap: int
    in_sequences: tuple[int, ...]
    in_channels: int
    out_channels: int
    in_dim: tuple[int, int]
    out_dim: tuple[int, int]
    in_passes: int
    out_passes: int
    groups: int = 1
    bits: int = 8
    bias: bool = True

    def yaml_dict(self) -> dict[str, Any]:
        """This layer as an izer YAML ``layers`` entry (keys in izer's spelling)."""
        d: dict[str, Any] = {
            "name": self.name,
            "processors": f"0x{self.processors:016x}",
            "output_processors": f"0x{self.output_processors:016x}",
            "in_offset": f"0x{self.in_offset:04x}",
            "out_offset": f"0x{self.out_offset:04x}",
            "operation": self.operation,
            "kernel_size": f"{self.kernel}x{self.kernel}",
            "pad": self.pad,
            "activate": "ReLU" if self.relu else "None",
        }
        if self.pool:
            d["max_pool"] = self.pool
            d["pool_stride"] = self.pool
        if self.write_gap:
            d["write_gap"] = self.write_gap
        if self.in_sequences != (self.index - 1,) and not (
            self.index == 0 and self.in_sequences == (-1,)
        ):
            d["in_sequences"] = list(self.in_sequences)
        if self.groups > 1:
            d["groups"] = self.groups
        if self.bits != 8:
            d["quantization"] = self.bits
        return d


@dataclass(frozen=True)
class MemoryPlan:
    """A data-memory plan for one network at one input size.

    Attributes:
        device: device name.
        instance_bytes: size of one data-memory instance.
        input_processors: processors holding the network input (= layer 0 ``processors``).
        input_offset: offset of the network input (= layer 0 ``in_offset``).
        layers: one :class:`PlannedLayer` per izer layer, in execution order.
        strategy: the processor strategy that produced it (``"ai8x"`` or ``"spread"``).
    """

    device: str
    instance_bytes: int
    input_processors: int
    input_offset: int
    layers: tuple[PlannedLayer, ...]
    strategy: str = "ai8x"

    def masks(self) -> list[tuple[int, int]]:
        """``(processors, output_processors)`` per layer."""
        return [(p.processors, p.output_processors) for p in self.layers]

    def yaml_layers(self) -> list[dict[str, Any]]:
        """The plan as izer YAML ``layers`` entries (plain dicts, ready to dump)."""
        return [layer.yaml_dict() for layer in self.layers]

    def by_name(self, name: str) -> PlannedLayer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer {name!r} in the plan; layers: "
                         f"{[p.name for p in self.layers]}")


def plan_layers(plan: MemoryPlan) -> list[dict[str, Any]]:
    """``plan.yaml_layers()``: the plan as a list of dicts keyed like izer's YAML."""
    return plan.yaml_layers()


class PlanError(ValueError):
    """No memory plan was found; ``layer`` names where it failed.

    Attributes:
        layer: where the greedy planner found no offset.
        needed, available: bytes the tensor needs and the largest free range beside it.
        step: index of the failing layer (how far the greedy planner got).
        kind: ``"greedy"`` (only the greedy planner ran), ``"proven"`` (the exact planner
            proved that no layout exists) or ``"undecided"`` (it ran out of time).
    """

    def __init__(self, message: str, layer: str, needed: int = 0, available: int = 0,
                 step: int = -1, kind: str = "greedy"):
        super().__init__(message)
        self.layer = layer
        self.needed = needed
        self.available = available
        self.step = step
        self.kind = kind

    @property
    def limit(self) -> str:
        """Violation kind: ``data_memory_undecided`` for a time-out, else ``data_memory_plan``."""
        return "data_memory_undecided" if self.kind == "undecided" else "data_memory_plan"

    @property
    def report(self) -> str:
        """One line for the violation list (with the excess, unless undecided)."""
        if self.kind == "undecided":
            return str(self)
        return f"{self} (over by {self.needed - self.available:,} B)"
