"""The tensors a planner places (processors, words per pixel, live interval, offset), the
in-place rule between two of them, and the plan written from placed tensors."""

from __future__ import annotations

from dataclasses import dataclass

from nas.hardware._device import Device
from nas.hardware._layers import IzerLayer, passes_and_threshold
from nas.hardware._plan_types import INPUT, MemoryPlan, PlannedLayer, in_place_shift, mask


@dataclass
class PlanTensor:
    """One tensor: processors ``lo .. lo+n-1``, live from layer ``birth`` to ``death``."""

    name: str
    lo: int
    n: int
    words: int  # words per pixel (passes, or parts of an interleaved concat)
    hw: tuple[int, int]
    birth: int
    death: int = -2
    offset: int | None = None
    joint: bool = False  # interleaved concat region
    link: PlanTensor | None = None  # partner that must share the offset (<= 64-ch concat)
    inst: int = 0  # bitmask of data-memory instances
    size: int = 0

    def finish(self, shared: int) -> None:
        first, last = self.lo // shared, (self.lo + self.n - 1) // shared
        self.inst = ((1 << (last - first + 1)) - 1) << first
        self.size = 4 * self.hw[0] * self.hw[1] * self.words


@dataclass
class PlanTensors:
    """The tensors of a layer list as the planner sees them.

    Attributes:
        by_name: tensor name -> tensor (wide-concat parts share one ``cat:<consumer>`` tensor).
        part_of: wide-concat part -> (consumer, slot, number of parts).
        inputs_of: per layer, its distinct input tensors.
    """

    by_name: dict[str, PlanTensor]
    part_of: dict[str, tuple[str, int, int]]
    inputs_of: list[list[PlanTensor]]

    def of(self, name: str) -> PlanTensor:
        """The tensor a layer output ``name`` is written into."""
        if name in self.part_of:
            return self.by_name[f"cat:{self.part_of[name][0]}"]
        return self.by_name[name if name else INPUT]


def plan_tensors(layers: list[IzerLayer], input_channels: int, shared: int,
                 ranges: dict[str, tuple[int, int]],
                 wide: dict[str, tuple[str, ...]]) -> PlanTensors:
    """Build every tensor with its processors, words per pixel and live interval, and link
    each narrow concat's two inputs (they must share an offset)."""
    index = {layer.name: i for i, layer in enumerate(layers)}
    part_of: dict[str, tuple[str, int, int]] = {}
    for consumer, parts in wide.items():
        for slot, part in enumerate(parts):
            part_of[part] = (consumer, slot, len(parts))

    in_passes, _ = passes_and_threshold(input_channels)
    h0, w0 = layers[0].in_hw
    tensors: dict[str, PlanTensor] = {
        INPUT: PlanTensor(INPUT, *ranges[INPUT], in_passes, (h0, w0), -1)
    }
    for i, layer in enumerate(layers):
        if layer.name in part_of:
            consumer, _, n_parts = part_of[layer.name]
            key = f"cat:{consumer}"
            if key not in tensors:
                births = [index[p] for p in wide[consumer]]
                lo, n = ranges[layer.name]
                tensors[key] = PlanTensor(key, lo, n, n_parts, layer.out_hw, min(births),
                                          joint=True)
            continue
        lo, n = ranges[layer.name]
        tensors[layer.name] = PlanTensor(layer.name, lo, n, layer.out_passes, layer.out_hw, i)
    out = PlanTensors(tensors, part_of, [])

    # live intervals from the layer order
    for i, layer in enumerate(layers):
        ins = [out.of(n) for n in layer.inputs] if layer.inputs else [tensors[INPUT]]
        uniq = list({id(t): t for t in ins}.values())
        out.inputs_of.append(uniq)
        for t in uniq:
            t.death = max(t.death, i)
    tensors[layers[-1].name].death = len(layers)
    for t in tensors.values():
        t.finish(shared)
        if t.death == -2:  # never read (cannot happen for spec-derived lists)
            t.death = t.birth
    for layer in layers:
        if len(layer.inputs) > 1 and layer.in_channels <= 64:
            up, skip = tensors[layer.inputs[0]], tensors[layer.inputs[-1]]
            first, second = (skip, up) if skip.birth < up.birth else (up, skip)
            first.link = second
    return out


def in_place_shift_of(layers: list[IzerLayer], ts: PlanTensors, x: PlanTensor,
                      t: PlanTensor) -> int | None:
    """Allowed shift (bytes) if ``t``'s producer may overwrite its input ``x`` in place."""
    if t.joint or x.joint or x.death != t.birth or t.birth < 0:
        return None
    layer = layers[t.birth]
    if layer.op != "conv2d" or layer.pool or x.words != t.words:
        return None
    if x not in ts.inputs_of[t.birth]:
        return None
    return in_place_shift(layer.kernel, layer.pad, layer.in_hw[1], x.words)


def emit_plan(layers: list[IzerLayer], ts: PlanTensors, device: Device,
              strategy: str) -> MemoryPlan:
    """The plan's izer fields from placed tensors (every tensor has its offset)."""
    index = {layer.name: i for i, layer in enumerate(layers)}
    tensors = ts.by_name
    planned: list[PlannedLayer] = []
    for i, layer in enumerate(layers):
        ins = ts.inputs_of[i]
        if layer.inputs:
            in_mask = 0
            for t in ins:
                in_mask |= mask(t.lo, t.n)
            in_seq = tuple(index[n] for n in layer.inputs)
        else:
            in_mask = mask(tensors[INPUT].lo, tensors[INPUT].n)
            in_seq = (-1,)
        in_offset = ins[0].offset
        out_offset: int | None
        if layer.name in ts.part_of:
            consumer, slot, n_parts = ts.part_of[layer.name]
            out_t = tensors[f"cat:{consumer}"]
            assert out_t.offset is not None
            out_offset, gap = out_t.offset + 4 * slot, n_parts - 1
        else:
            out_t = tensors[layer.name]
            out_offset, gap = out_t.offset, 0
        assert in_offset is not None and out_offset is not None
        op = {"passthrough": "none"}.get(layer.op, layer.op)
        planned.append(PlannedLayer(
            index=i, name=layer.name, operation=op, kernel=layer.kernel or 1, pad=layer.pad,
            pool=layer.pool, relu=layer.relu, processors=in_mask,
            output_processors=mask(out_t.lo, out_t.n), in_offset=in_offset,
            out_offset=out_offset, write_gap=gap, in_sequences=in_seq,
            in_channels=layer.in_channels, out_channels=layer.out_channels,
            in_dim=layer.in_hw, out_dim=layer.out_hw, in_passes=layer.in_passes,
            out_passes=layer.out_passes, groups=layer.groups, bits=layer.bits,
            bias=layer.bias,
        ))
    return MemoryPlan(device.name, device.instance_bytes,
                      mask(tensors[INPUT].lo, tensors[INPUT].n),
                      tensors[INPUT].offset or 0, tuple(planned), strategy)
