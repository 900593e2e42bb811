"""Exact data-memory planner: a constraint model over every tensor's processors and offset.

The greedy planner (:mod:`nas.hardware._plan`) fixes each tensor's processors first and then
its offset, so its failures prove nothing. This module states the same layout rules as one
CP-SAT model (OR-Tools) and either finds a layout or proves that none exists:

- every tensor keeps the processor count and words per pixel the greedy planner gives it; its
  first processor is a free multiple of 4 (a narrow concat's skip sits right above its
  upsampling partner, both at one offset; a wide concat's parts share one interleaved region);
- the network input stays where the greedy planner puts it (processor 0, top of memory);
- offsets are free multiples of 4 bytes; each tensor lies inside one instance;
- two tensors whose live intervals (producer .. last reader) overlap and whose processors share
  a data-memory instance lie at disjoint byte ranges, except that a layer may write over its own
  input under the in-place rule (:func:`~nas.hardware.in_place_shift` bytes below it).

The answer is one of: a plan (checked with :func:`~nas.hardware.verify_plan` before it is
returned), "infeasible" (CP-SAT's proof: no layout exists under these rules), or "undecided"
(the time budget ran out first).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from nas.hardware._device import Device
from nas.hardware._layers import IzerLayer
from nas.hardware._plan import (
    INPUT,
    MemoryPlan,
    _emit,
    _in_place,
    _Tensor,
    _tensors,
    assign_processors,
    verify_plan,
)


@dataclass(frozen=True)
class ExactResult:
    """Outcome of :func:`plan_exact`.

    Attributes:
        status: ``"feasible"``, ``"infeasible"`` (proven) or ``"undecided"`` (time-out).
        plan: the plan when ``status == "feasible"``.
        wall_ms: solver wall time in milliseconds.
    """

    status: str
    plan: MemoryPlan | None
    wall_ms: float


def plan_exact(
    layers: list[IzerLayer], device: Device, input_channels: int, time_ms: float = 200.0,
    workers: int = 1,
) -> ExactResult:
    """Solve the data-memory layout of ``layers`` exactly (see the module docstring).

    Args:
        layers: the izer layer list.
        device: the target device.
        input_channels: channels of the (folded) network input.
        time_ms: wall-clock budget for the solver, milliseconds.
        workers: CP-SAT search workers (1 keeps the search reproducible on a busy machine).
    """
    if time_ms <= 0:
        raise ValueError(f"time_ms must be > 0, but got {time_ms}")
    from ortools.sat.python import cp_model  # 0.5 s to import: only when a plan needs it

    start = time.perf_counter()
    cap = device.instance_bytes
    ai8x = assign_processors(layers, input_channels, "ai8x", cap)
    ts = _tensors(layers, input_channels, device.shared, ai8x["ranges"], ai8x["wide"])
    tensors = list(ts.by_name.values())

    m = cp_model.CpModel()
    # processors: lo = 4 * a + r, with a narrow concat's skip tied to its partner's a
    a: dict[str, Any] = {}
    r: dict[str, int] = {}
    skip_of = {}  # skip tensor name -> up tensor name
    for layer in layers:
        if len(layer.inputs) > 1 and layer.in_channels <= 64:
            skip_of[layer.inputs[-1]] = layer.inputs[0]
    for t in tensors:
        if t.name == INPUT:
            a[t.name], r[t.name] = t.lo // 4, t.lo % 4
        elif t.name not in skip_of:
            a[t.name] = m.new_int_var(0, (64 - t.n) // 4, f"a_{t.name}")
            r[t.name] = 0
    for skip, up in skip_of.items():
        n_up = ts.by_name[up].n
        a[skip] = a[up] + (r[up] + n_up) // 4
        r[skip] = (r[up] + n_up) % 4
    for t in tensors:  # the last processor stays below 64
        if t.name != INPUT:
            m.add(4 * a[t.name] + r[t.name] + t.n <= 64)

    # offsets in words; a narrow concat's two inputs share one
    k: dict[str, Any] = {}
    for t in tensors:
        words = t.size // 4
        if t.name == INPUT:
            k[t.name] = ((cap - t.size) & ~3) // 4  # where the greedy planner puts it
        elif words > cap // 4:
            return ExactResult("infeasible", None, _ms(start))
        else:
            k[t.name] = m.new_int_var(0, cap // 4 - words, f"k_{t.name}")
    for skip, up in skip_of.items():
        m.add(k[skip] == k[up])

    def last(t: _Tensor) -> int:  # last instance relative to a
        return (r[t.name] + t.n - 1) // 4

    linked = {frozenset((s, u)) for s, u in skip_of.items()}
    for i, t in enumerate(tensors):
        for q in tensors[i + 1:]:
            if q.birth > t.death or t.birth > q.death:
                continue  # never live at once
            if frozenset((t.name, q.name)) in linked:
                continue  # side by side at one offset by construction
            options = []
            for x, y in ((t, q), (q, t)):
                # x's processors all below y's: no shared instance
                b = m.new_bool_var("")
                m.add(a[x.name] + last(x) + 1 <= a[y.name]).only_enforce_if(b)
                options.append(b)
                # x's words all below y's in the instance
                b = m.new_bool_var("")
                m.add(k[x.name] + x.size // 4 <= k[y.name]).only_enforce_if(b)
                options.append(b)
                shift = _in_place(layers, ts, x, y)  # y's producer writes over x in place
                if shift is not None:
                    b = m.new_bool_var("")
                    m.add(k[y.name] + min(shift, y.size) // 4 <= k[x.name]).only_enforce_if(b)
                    options.append(b)
            m.add_bool_or(options)

    solver = cp_model.CpSolver()
    left = max(time_ms / 1e3 - (time.perf_counter() - start), 1e-3)
    solver.parameters.max_time_in_seconds = left
    solver.parameters.num_workers = workers
    status = solver.solve(m)
    if status == cp_model.INFEASIBLE:
        return ExactResult("infeasible", None, _ms(start))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ExactResult("undecided", None, _ms(start))

    for t in tensors:
        if t.name != INPUT:
            t.lo = 4 * solver.value(a[t.name]) + r[t.name]
            t.finish(device.shared)
        t.offset = 4 * (k[t.name] if isinstance(k[t.name], int) else solver.value(k[t.name]))
    plan = _emit(layers, ts, device, "exact")
    if verify_plan(plan, device.shared):  # model and verifier disagree: hand out no plan
        return ExactResult("undecided", None, _ms(start))
    return ExactResult("feasible", plan, _ms(start))


@functools.lru_cache(maxsize=4096)
def plan_exact_cached(layers: tuple[IzerLayer, ...], device: Device, input_channels: int,
                      time_ms: float) -> ExactResult:
    """:func:`plan_exact`, remembered per (layer list, device, input channels, budget): the
    search checks each architecture more than once (sampling, constraints, export)."""
    return plan_exact(list(layers), device, input_channels, time_ms)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1e3
