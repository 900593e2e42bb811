"""Independent verification of a :class:`~nas.hardware.MemoryPlan`: no tensor is overwritten
before its last read, whichever planner made the plan."""

from __future__ import annotations

from dataclasses import dataclass

from nas.hardware._plan_types import MemoryPlan, PlannedLayer, in_place_shift


@dataclass(frozen=True)
class _Footprint:
    """Words a layer writes in each instance: ``offset + stride*i + phase`` (bytes)."""

    inst: frozenset[int]
    offset: int
    stride: int
    phases: tuple[int, ...]
    count: int
    layer: int

    @property
    def end(self) -> int:
        return self.offset + self.stride * (self.count - 1) + max(self.phases) + 4


def _footprint(p: PlannedLayer, shared: int) -> _Footprint:
    m = p.output_processors
    inst = frozenset(q // shared for q in range(64) if m >> q & 1)
    g = p.write_gap + 1
    return _Footprint(inst, p.out_offset, 4 * p.out_passes * g,
                      tuple(4 * k * g for k in range(p.out_passes)),
                      p.out_dim[0] * p.out_dim[1], p.index)


def _collide(a: _Footprint, b: _Footprint) -> bool:
    if not (a.inst & b.inst) or a.end <= b.offset or b.end <= a.offset:
        return False
    if a.stride != b.stride:
        return True  # overlapping ranges with different strides: treat as a clash
    for pa in a.phases:
        for pb in b.phases:
            diff = (a.offset + pa) - (b.offset + pb)
            # word i of a equals word j of b  <=>  diff == stride * (j - i)
            if diff % a.stride == 0 and -a.count < diff // a.stride < b.count:
                return True
    return False


def verify_plan(plan: MemoryPlan, shared: int = 4) -> list[str]:
    """Walk ``plan`` layer by layer and list every way a tensor is lost before its last read.

    For each layer, in order, the words it writes are compared against every tensor that some
    later (or this) layer still reads. Writing over this layer's own input is accepted only
    under the in-place rule. Also checks each input and output fits the instance (izer's own
    check, with write gaps counted). An empty list is a proof of liveness under the
    word-addressing model (the rule and the model: :mod:`nas.hardware._plan_types`).
    """
    problems: list[str] = []
    layers = plan.layers
    n = len(layers)
    fp = [_footprint(p, shared) for p in layers]
    in_inst = frozenset(q // shared for q in range(64) if plan.input_processors >> q & 1)
    first = layers[0]
    input_fp = _Footprint(in_inst, plan.input_offset, 4 * first.in_passes,
                          tuple(4 * k for k in range(first.in_passes)),
                          first.in_dim[0] * first.in_dim[1], -1)
    last_read = {-1: -1}
    for p in layers:
        for s in p.in_sequences:
            last_read[s] = max(last_read.get(s, -1), p.index)
    last_read[n - 1] = n  # the network output is read by the CPU afterwards
    for p in layers:
        out = fp[p.index]
        if out.end > plan.instance_bytes:
            problems.append(f"layer {p.name}: output ends at byte {out.end:,} > instance "
                            f"{plan.instance_bytes:,}")
        if p.index == 0 and input_fp.end > plan.instance_bytes:
            problems.append(f"input ends at byte {input_fp.end:,} > instance "
                            f"{plan.instance_bytes:,}")
        for src in range(-1, p.index):
            if last_read.get(src, -1) < p.index:
                continue  # dead (or never read) before this layer runs
            victim = input_fp if src == -1 else fp[src]
            if not _collide(out, victim):
                continue
            own_input = src in p.in_sequences and last_read[src] == p.index
            gapped = src >= 0 and layers[src].write_gap > 0
            if own_input and not gapped and _in_place_ok(p, victim):
                continue
            vname = "the network input" if src == -1 else f"the output of {layers[src].name}"
            problems.append(
                f"layer {p.name} writes over {vname} (offset 0x{victim.offset:04x}), which "
                f"layer {layers[last_read[src]].name if last_read[src] < n else 'unload'} "
                "still reads")
    return problems


def _in_place_ok(p: PlannedLayer, victim: _Footprint) -> bool:
    if p.operation != "conv2d" or p.pool or p.write_gap or p.in_passes != p.out_passes:
        return False
    if victim.stride != 4 * p.in_passes:
        return False
    shift = in_place_shift(p.kernel, p.pad, p.in_dim[1], p.in_passes)
    return p.out_offset <= victim.offset - shift
