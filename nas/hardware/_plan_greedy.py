"""The greedy planner: processors by a strategy, then offsets one tensor at a time.

Offsets are chosen greedily from the top of the instance down (the input ends at the top of
memory, full-resolution in-place chains then walk down), which reproduces the shipped layout's
structure. A greedy failure is not a proof that no layout exists:
:func:`~nas.hardware.plan_memory` then asks the exact planner (:mod:`nas.hardware._plan_exact`).
"""

from __future__ import annotations

from nas.hardware._device import Device
from nas.hardware._layers import IzerLayer
from nas.hardware._plan_processors import assign_processors
from nas.hardware._plan_tensors import (
    PlanTensor,
    PlanTensors,
    emit_plan,
    in_place_shift_of,
    plan_tensors,
)
from nas.hardware._plan_types import INPUT, MemoryPlan, PlanError


def plan_greedy(layers: list[IzerLayer], device: Device, input_channels: int,
                strategy: str) -> MemoryPlan:
    """One greedy plan: processors by ``strategy``, then offsets top-down in birth order."""
    structure = assign_processors(layers, input_channels, strategy, device.instance_bytes)
    ts = plan_tensors(layers, input_channels, device.shared, structure["ranges"],
                      structure["wide"])
    _place_offsets(layers, ts, device.instance_bytes)
    return emit_plan(layers, ts, device, strategy)



def _place_offsets(layers: list[IzerLayer], ts: PlanTensors, cap: int) -> None:
    """Greedy offsets, in order of birth, each as high in the instance as the tensors it may
    not overlap allow; raises :class:`PlanError` at the first tensor with no room."""
    placed: list[PlanTensor] = []

    def forbidden(t: PlanTensor) -> list[tuple[int, int, PlanTensor]]:
        out = []
        for q in placed:
            if not (q.inst & t.inst) or q.birth > t.death or t.birth > q.death:
                continue
            assert q.offset is not None
            shift = in_place_shift_of(layers, ts, q, t)
            if shift is None:
                shift = in_place_shift_of(layers, ts, t, q)
                if shift is not None:  # q writes over t in place: q.offset <= o - shift
                    out.append((q.offset - t.size + 1, q.offset + shift - 1, q))
                    continue
                out.append((q.offset - t.size + 1, q.offset + q.size - 1, q))
            else:
                out.append((q.offset - shift + 1, q.offset + q.size - 1, q))
        return out

    order = sorted(ts.by_name.values(), key=lambda t: (t.birth, t.name != INPUT))
    for t in order:
        if t.offset is not None:
            continue
        group = [t] + ([t.link] if t.link is not None else [])
        limit = min(cap - g.size for g in group)
        bad = [iv for g in group for iv in forbidden(g)]
        o = limit & ~3
        moved = True
        while moved and o >= 0:
            moved = False
            for a, b, _ in bad:
                if a <= o <= b:
                    o = (a - 1) & ~3 if a >= 1 else -4
                    moved = True
        if o < 0:
            raise _no_offset(layers, t, bad, cap)
        for g in group:
            g.offset = o
            placed.append(g)


def _no_offset(layers: list[IzerLayer], t: PlanTensor,
               bad: list[tuple[int, int, PlanTensor]], cap: int) -> PlanError:
    """The error for tensor ``t`` finding no offset beside the tensors in ``bad``."""
    who = layers[t.birth].name if t.birth >= 0 else INPUT
    live = sorted({q.name for _, _, q in bad})
    # largest free range left by the tensors it may not overlap
    taken = sorted((q.offset or 0, (q.offset or 0) + q.size) for _, _, q in bad)
    gap, cursor = 0, 0
    for a, b in taken:
        gap = max(gap, a - cursor)
        cursor = max(cursor, b)
    gap = max(gap, cap - cursor)
    return PlanError(
        f"layer {who}: no data-memory offset for its output ({t.size:,} B per "
        f"instance in instances {_inst_str(t.inst)}"
        + (f", plus {t.link.name} at the same offset" if t.link is not None else "")
        + f"); the tensors still live there ({', '.join(live) or 'none'}) leave at "
        f"most {gap:,} B free of {cap:,}",
        who, needed=t.size, available=gap, step=t.birth,
    )


def _inst_str(inst: int) -> str:
    idx = [i for i in range(16) if inst >> i & 1]
    return f"{idx[0]}-{idx[-1]}" if len(idx) > 1 else str(idx[0])
