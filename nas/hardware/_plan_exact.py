"""Exact data-memory planner: a constraint model over every tensor's processors and offset.

The greedy planner (:mod:`nas.hardware._plan_greedy`) fixes each tensor's processors first and then
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
from nas.hardware._plan_processors import assign_processors
from nas.hardware._plan_tensors import emit_plan, in_place_shift_of, plan_tensors
from nas.hardware._plan_types import INPUT, MemoryPlan
from nas.hardware._plan_verify import verify_plan

DEFAULT_EXACT_MS = 1000.0  # solver budget per architecture (ms); measured: BENCHMARKS.md


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
    layers: list[IzerLayer], device: Device, input_channels: int,
    time_ms: float = DEFAULT_EXACT_MS, workers: int = 1,
) -> ExactResult:
    """Solve the data-memory layout of ``layers`` exactly (see the module docstring).

    Args:
        layers: the izer layer list.
        device: the target device.
        input_channels: channels of the (folded) network input.
        time_ms: wall-clock budget for building and solving the model, milliseconds.
        workers: CP-SAT search workers (1: the same answer whenever it finishes in time).
    """
    if time_ms <= 0:
        raise ValueError(f"time_ms must be > 0, but got {time_ms}")
    start = time.perf_counter()
    model = _Model(layers, device, input_channels)
    if not model.build():
        return ExactResult("infeasible", None, _ms(start))
    left = max(time_ms / 1e3 - (time.perf_counter() - start), 1e-3)
    status, plan = model.solve(left, workers)
    return ExactResult(status, plan, _ms(start))


class _Model:
    """The CP-SAT model of one layer list: variables per tensor, one disjunction per pair of
    tensors live at once."""

    def __init__(self, layers: list[IzerLayer], device: Device, input_channels: int):
        from ortools.sat.python import cp_model  # 0.5 s to import: only when a plan needs it

        self.cp_model = cp_model
        self.layers, self.device = layers, device
        self.cap = device.instance_bytes
        ai8x = assign_processors(layers, input_channels, "ai8x", self.cap)
        # processor counts, words per pixel and live intervals as the greedy planner has them
        self.ts = plan_tensors(layers, input_channels, device.shared, ai8x["ranges"],
                               ai8x["wide"])
        self.tensors = list(self.ts.by_name.values())
        self.m = cp_model.CpModel()
        self.skip_of: dict[str, str] = {}  # narrow-concat skip -> its upsampling partner
        for layer in layers:
            if len(layer.inputs) > 1 and layer.in_channels <= 64:
                self.skip_of[layer.inputs[-1]] = layer.inputs[0]
        self.a: dict[str, Any] = {}  # first processor = 4 * a + r
        self.r: dict[str, int] = {}
        self.k: dict[str, Any] = {}  # offset in words

    def build(self) -> bool:
        """Add every constraint; False if some tensor alone exceeds an instance."""
        self._processors()
        if not self._offsets():
            return False
        self._separate_live_pairs()
        return True

    def _processors(self) -> None:
        """``lo = 4 a + r``: the input at processor 0, a skip right above its partner."""
        m, a, r = self.m, self.a, self.r
        for t in self.tensors:
            if t.name == INPUT:
                a[t.name], r[t.name] = t.lo // 4, t.lo % 4
            elif t.name not in self.skip_of:
                a[t.name] = m.new_int_var(0, (64 - t.n) // 4, f"a_{t.name}")
                r[t.name] = 0
        pending = dict(self.skip_of)
        while pending:  # a partner that is itself a skip is placed first
            ready = [(s, u) for s, u in pending.items() if u in a]
            if not ready:
                raise ValueError(f"narrow concatenations form a cycle: {pending}")
            for skip, up in ready:
                n_up = self.ts.by_name[up].n
                a[skip] = a[up] + (r[up] + n_up) // 4
                r[skip] = (r[up] + n_up) % 4
                del pending[skip]
        for t in self.tensors:  # the last processor stays below 64
            if t.name != INPUT:
                m.add(4 * a[t.name] + r[t.name] + t.n <= 64)

    def _offsets(self) -> bool:
        """Offsets in words inside one instance; a narrow concat's two inputs share one."""
        words_per_instance = self.cap // 4
        for t in self.tensors:
            words = t.size // 4
            if words > words_per_instance:
                return False
            if t.name == INPUT:  # where the greedy planner puts it: ending at the top
                self.k[t.name] = ((self.cap - t.size) & ~3) // 4
            else:
                self.k[t.name] = self.m.new_int_var(0, words_per_instance - words,
                                                    f"k_{t.name}")
        for skip, up in self.skip_of.items():
            self.m.add(self.k[skip] == self.k[up])
        return True

    def _separate_live_pairs(self) -> None:
        """Two tensors live at once share no instance, or lie at disjoint words, or the later
        one's producer writes over the other in place (in_place_shift bytes below it)."""
        m, a, k = self.m, self.a, self.k
        linked = {frozenset(pair) for pair in self.skip_of.items()}
        for i, t in enumerate(self.tensors):
            for q in self.tensors[i + 1:]:
                if q.birth > t.death or t.birth > q.death:
                    continue  # never live at once
                if frozenset((t.name, q.name)) in linked:
                    continue  # side by side at one offset by construction
                options = []
                for x, y in ((t, q), (q, t)):
                    last_x = (self.r[x.name] + x.n - 1) // 4  # x's last instance - a[x]
                    below = m.new_bool_var("")  # x's instances all below y's
                    m.add(a[x.name] + last_x + 1 <= a[y.name]).only_enforce_if(below)
                    under = m.new_bool_var("")  # x's words all below y's
                    m.add(k[x.name] + x.size // 4 <= k[y.name]).only_enforce_if(under)
                    options += [below, under]
                    shift = in_place_shift_of(self.layers, self.ts, x, y)
                    if shift is not None:  # y's producer may write over x in place
                        over = m.new_bool_var("")
                        m.add(k[y.name] + min(shift, y.size) // 4 <= k[x.name]) \
                            .only_enforce_if(over)
                        options.append(over)
                m.add_bool_or(options)

    def solve(self, seconds: float, workers: int) -> tuple[str, MemoryPlan | None]:
        """(status, plan); the plan is re-proved by :func:`verify_plan` before it is given."""
        cp_model = self.cp_model
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = workers
        # CP-SAT otherwise installs its own SIGINT handler on every solve and restores the
        # default one afterwards, so a later Ctrl-C killed the search without its clean stop.
        solver.parameters.catch_sigint_signal = False
        status = solver.solve(self.m)
        if status == cp_model.INFEASIBLE:
            return "infeasible", None
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return "undecided", None
        for t in self.tensors:
            if t.name != INPUT:
                t.lo = 4 * solver.value(self.a[t.name]) + self.r[t.name]
                t.finish(self.device.shared)
            k = self.k[t.name]
            t.offset = 4 * (k if isinstance(k, int) else solver.value(k))
        plan = emit_plan(self.layers, self.ts, self.device, "exact")
        if verify_plan(plan, self.device.shared):  # model and verifier disagree: no plan
            return "undecided", None
        return "feasible", plan


@functools.lru_cache(maxsize=4096)
def plan_exact_cached(layers: tuple[IzerLayer, ...], device: Device, input_channels: int,
                      time_ms: float) -> ExactResult:
    """:func:`plan_exact`, remembered per (layer list, device, input channels, budget): the
    search checks each architecture more than once (sampling, constraints, export)."""
    return plan_exact(list(layers), device, input_channels, time_ms)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1e3
