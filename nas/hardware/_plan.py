"""Data-memory plan: processors, offsets and write gaps for every izer layer.

izer only checks that each layer's input and output fit one data-memory instance; it does not
check that a tensor survives until its last reader (with ``--overlap-data`` it checks nothing).
This module builds a plan in which no live tensor is overwritten, and :func:`verify_plan`
re-proves that from the plan alone.

Model (per 32-bit word; 4 processors share one instance, offsets are bytes in each instance):

- A tensor of ``C`` channels uses ``passes = ceil(C/64)`` words per pixel in every instance its
  output processors touch; pixel ``i``, pass ``p`` sits at
  ``offset + 4 * (i * passes * (gap + 1) + p * (gap + 1))`` (izer's write pointer with
  ``write_gap = gap``).
- Processor ranges follow ai8x's CamVid U-Net: main-path tensors start at processor 0; the skip
  tensor of a concat of <= 64 channels is stacked from processor 63 down (longest-lived on top)
  with its upsampling partner right below it, both at the same offset; a concat of > 64 channels
  is two 1-pass parts interleaved with ``write_gap: 1`` (the skip part written by a copy layer).
- A layer may overwrite its own input in place (izer ``--overlap-data``) only when it is that
  input's last reader, is a Conv2d without pooling, reads and writes un-gapped data with the same
  number of passes, and writes at least :func:`in_place_shift` bytes *below* the input offset, so
  the write pointer trails the read pointer. The shifts ai8x's U-Net uses on silicon (0x100 for
  1x1, 0x1B0 for 3x3 at W=88) satisfy this rule.
- Offsets are chosen greedily from the top of the instance down (the input ends at the top of
  memory, full-resolution in-place chains then walk down), which reproduces the shipped layout's
  structure. A greedy failure is not a proof that no layout exists: :func:`plan_memory` then
  asks the exact planner (:mod:`nas.hardware._plan_exact`, same rules, processors and offsets
  chosen together), which finds a layout, proves that none exists, or runs out of time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from nas.hardware._device import Device
from nas.hardware._layers import IzerLayer, passes_and_threshold

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


# -- planner -----------------------------------------------------------------------------------
@dataclass
class _Tensor:
    name: str
    lo: int
    n: int
    words: int  # words per pixel (passes, or parts of an interleaved concat)
    hw: tuple[int, int]
    birth: int
    death: int = -2
    offset: int | None = None
    joint: bool = False  # interleaved concat region
    link: _Tensor | None = None  # partner that must share the offset (<= 64-ch concat)
    inst: int = 0  # bitmask of data-memory instances
    size: int = 0

    def finish(self, shared: int) -> None:
        first, last = self.lo // shared, (self.lo + self.n - 1) // shared
        self.inst = ((1 << (last - first + 1)) - 1) << first
        self.size = 4 * self.hw[0] * self.hw[1] * self.words


STRATEGIES = ("ai8x", "spread")


@dataclass(frozen=True)
class _Concats:
    """Concat structure of a layer list.

    Attributes:
        narrow: ``(skip producer index, up, skip)`` per concat of <= 64 channels.
        wide: consumer -> part names, per concat of > 64 channels.
    """

    narrow: list[tuple[int, str, str]]
    wide: dict[str, tuple[str, ...]]


def _concats(layers: list[IzerLayer]) -> _Concats:
    index = {layer.name: i for i, layer in enumerate(layers)}
    narrow: list[tuple[int, str, str]] = []
    wide: dict[str, tuple[str, ...]] = {}
    for layer in layers:
        if len(layer.inputs) > 1:
            if layer.in_channels <= 64:
                up, skip = layer.inputs[0], layer.inputs[-1]
                narrow.append((index.get(skip, -1), up, skip))
            else:
                wide[layer.name] = layer.inputs
    return _Concats(narrow, wide)


def _stacked_concat_ranges(layers: list[IzerLayer], cat: _Concats) -> dict[str, tuple[int, int]]:
    """ai8x's fixed ranges of concat inputs: narrow skips stacked from processor 63 down (each
    with its upsampling partner right below), both parts of a wide concat at processor 0."""
    index = {layer.name: i for i, layer in enumerate(layers)}
    fixed: dict[str, tuple[int, int]] = {}
    top = 64
    for _, up, skip in sorted(cat.narrow):
        s = layers[index[skip]].out_channels
        u = layers[index[up]].out_channels
        if top - s - u < 0:
            top = 64
        fixed[skip] = (top - s, s)
        fixed[up] = (top - s - u, u)
        top -= s
    for consumer, parts in cat.wide.items():
        thresh = passes_and_threshold(layers[index[consumer]].in_channels)[1]
        for part in parts:
            fixed[part] = (0, thresh)
    return fixed


def _inst_span(lo: int, n: int) -> int:
    """Bitmask of the data-memory instances (4 processors each) of processors lo..lo+n-1."""
    first, last = lo // 4, (lo + n - 1) // 4
    return ((1 << (last - first + 1)) - 1) << first


class _Spread:
    """The ``"spread"`` processor choice: each tensor where it shares fewest instances with
    tensors it cannot sit beside at another offset."""

    def __init__(self, layers: list[IzerLayer], input_channels: int, instance_bytes: int,
                 ranges: dict[str, tuple[int, int]]):
        self.ranges = ranges
        self.instance_bytes = instance_bytes
        # lifetimes and sizes per tensor name
        death = {INPUT: 0}
        for i, layer in enumerate(layers):
            for name in layer.inputs or (INPUT,):
                death[name] = max(death.get(name, -1), i)
        death[layers[-1].name] = len(layers)
        self.death = death
        self.birth = {INPUT: -1, **{layer.name: i for i, layer in enumerate(layers)}}
        h0, w0 = layers[0].in_hw
        size = {INPUT: 4 * h0 * w0 * passes_and_threshold(input_channels)[0]}
        for layer in layers:
            size[layer.name] = 4 * layer.out_hw[0] * layer.out_hw[1] * layer.out_passes
        self.size = size

    def cost(self, name: str, lo: int, n: int, soft_ok: set[str],
             eligible: bool) -> tuple[int, int]:
        """(instances shared with live tensors that do not fit beside it, instances shared
        with an input it may overwrite in place)."""
        mine = _inst_span(lo, n)
        birth, death = self.birth, self.death
        b, d = birth[name], death.get(name, birth[name])
        hard = soft = 0
        for other, (olo, on) in self.ranges.items():
            if other == name or birth.get(other, -1) > d or death.get(other, -1) < b:
                continue
            shared = bin(mine & _inst_span(olo, on)).count("1")
            if not shared:
                continue
            if eligible and other in soft_ok and death.get(other) == b:
                soft += shared
            elif self.size[other] + self.size[name] > self.instance_bytes:
                hard += shared
        return hard, soft

    def place_pairs(self, cat: _Concats, fixed: dict[str, tuple[int, int]]) -> None:
        """Concat pairs first, tightest (fewest positions) first: they are the hardest to
        move."""
        pairs = {skip: up for _, up, skip in cat.narrow}
        for skip in sorted(pairs, key=lambda k: (64 - fixed[k][1] - fixed[pairs[k]][1],
                                                 self.birth[k])):
            up = pairs[skip]
            s_n, u_n = fixed[skip][1], fixed[up][1]
            best_pair = None
            for lo in range(0, 64 - s_n - u_n + 1, 4):
                hs, _ = self.cost(skip, lo + u_n, s_n, set(), False)
                hu, _ = self.cost(up, lo, u_n, set(), False)
                key = (hs + hu, -lo)  # ties: highest, like ai8x's stack
                if best_pair is None or key < best_pair:
                    best_pair = key
            assert best_pair is not None
            lo = -best_pair[1]
            self.ranges[skip] = (lo + u_n, s_n)
            self.ranges[up] = (lo, u_n)

    def place_rest(self, layers: list[IzerLayer], cat: _Concats,
                   fixed: dict[str, tuple[int, int]]) -> None:
        """Every other tensor, in layer order; wide-concat parts keep their fixed range."""
        wide_parts = {part for parts in cat.wide.values() for part in parts}
        for layer in layers:
            name = layer.name
            if name in self.ranges:
                continue
            if name in wide_parts:
                self.ranges[name] = fixed[name]
                continue
            ins = set(layer.inputs or (INPUT,))
            eligible = layer.op == "conv2d" and not layer.pool
            n = passes_and_threshold(layer.out_channels)[1]
            best = None
            for lo in range(0, 64 - n + 1, 4):
                key = (*self.cost(name, lo, n, ins, eligible), lo)
                if best is None or key < best:
                    best = key
            assert best is not None
            self.ranges[name] = (best[2], n)


def assign_processors(
    layers: list[IzerLayer], input_channels: int, strategy: str = "ai8x",
    instance_bytes: int = 32 * 1024,
) -> dict[str, Any]:
    """Processor ranges ``name -> (lo, n)`` of every tensor, and the concat structure.

    ``"ai8x"`` puts every main-path tensor at processor 0 (ai8x's CamVid U-Net layout).
    ``"spread"`` (the fallback) moves each main-path tensor to the processors (multiple of 4)
    whose instances it shares least with tensors it cannot sit beside at another offset, then
    least with its own in-place input, so full-resolution chains alternate between instances.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, but got {strategy!r}")
    ranges: dict[str, tuple[int, int]] = {INPUT: (0, passes_and_threshold(input_channels)[1])}
    cat = _concats(layers)
    fixed = _stacked_concat_ranges(layers, cat)
    if strategy == "ai8x":
        for layer in layers:
            ranges[layer.name] = fixed.get(
                layer.name, (0, passes_and_threshold(layer.out_channels)[1]))
        return {"ranges": ranges, "wide": cat.wide}
    spread = _Spread(layers, input_channels, instance_bytes, ranges)
    spread.place_pairs(cat, fixed)
    spread.place_rest(layers, cat, fixed)
    return {"ranges": ranges, "wide": cat.wide}


EXACT_MS_ENV = "NAS_PLAN_EXACT_MS"  # overrides DEFAULT_EXACT_MS; 0 turns the exact planner off
DEFAULT_EXACT_MS = 1000.0  # solver budget per architecture (ms); measured: BENCHMARKS.md


def exact_budget_ms() -> float:
    """The exact planner's default budget: ``$NAS_PLAN_EXACT_MS`` or :data:`DEFAULT_EXACT_MS`."""
    raw = os.environ.get(EXACT_MS_ENV, "")
    if not raw:
        return DEFAULT_EXACT_MS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{EXACT_MS_ENV} must be a number of milliseconds (0 = off), "
                         f"but got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{EXACT_MS_ENV} must be >= 0 (0 = off), but got {raw!r}")
    return value


def plan_memory(
    layers: list[IzerLayer], device: Device, input_channels: int,
    strategies: tuple[str, ...] = STRATEGIES, exact_ms: float | None = None,
) -> MemoryPlan:
    """Plan processors, offsets and write gaps for ``layers`` (see the module docstring).

    Tries each greedy processor strategy in turn (ai8x's layout first) and returns the first
    plan found. If none works, the exact planner (:func:`nas.hardware.plan_exact`, cached per
    layer list) either finds a plan, proves that none exists, or runs out of time.

    Args:
        layers: the izer layer list (:func:`nas.hardware.izer_layers`).
        device: the target device.
        input_channels: channels of the (folded) network input.
        strategies: processor strategies to try, in order (see :func:`assign_processors`).
        exact_ms: the exact planner's budget in milliseconds; 0 = greedy only; ``None`` =
            :func:`exact_budget_ms`.

    Raises:
        PlanError: when no plan is found; the message names the layer where the greedy
            planner failed, the bytes needed and the largest free range, and ``kind`` says
            whether that is proven, undecided or a greedy result only.
    """
    if exact_ms is not None and exact_ms < 0:
        raise ValueError(f"exact_ms must be >= 0 (0 = off), but got {exact_ms}")
    best: PlanError | None = None
    for strategy in strategies:
        try:
            return _plan(layers, device, input_channels, strategy)
        except PlanError as e:  # report the strategy that got furthest
            if best is None or e.step > best.step:
                best = e
    assert best is not None
    budget = exact_budget_ms() if exact_ms is None else exact_ms
    if budget == 0:
        raise best
    from nas.hardware._plan_exact import plan_exact_cached  # not at the top: it imports _plan

    result = plan_exact_cached(tuple(layers), device, input_channels, budget)
    if result.plan is not None:
        return result.plan
    if result.status == "infeasible":
        raise PlanError(
            f"no data-memory layout exists: proven (exact planner, "
            f"{result.wall_ms:.0f} ms); greedy planner's first conflict: {best}",
            best.layer, best.needed, best.available, best.step, kind="proven")
    raise PlanError(
        f"data-memory layout undecided after {budget:.0f} ms (exact planner time-out; the "
        f"greedy planner found none: {best})",
        best.layer, best.needed, best.available, best.step, kind="undecided")


@dataclass
class _Tensors:
    """The tensors of a layer list as the planner sees them.

    Attributes:
        by_name: tensor name -> tensor (wide-concat parts share one ``cat:<consumer>`` tensor).
        part_of: wide-concat part -> (consumer, slot, number of parts).
        inputs_of: per layer, its distinct input tensors.
    """

    by_name: dict[str, _Tensor]
    part_of: dict[str, tuple[str, int, int]]
    inputs_of: list[list[_Tensor]]

    def of(self, name: str) -> _Tensor:
        """The tensor a layer output ``name`` is written into."""
        if name in self.part_of:
            return self.by_name[f"cat:{self.part_of[name][0]}"]
        return self.by_name[name if name else INPUT]


def _tensors(layers: list[IzerLayer], input_channels: int, shared: int,
             ranges: dict[str, tuple[int, int]], wide: dict[str, tuple[str, ...]]) -> _Tensors:
    """Build every tensor with its processors, words per pixel and live interval, and link
    each narrow concat's two inputs (they must share an offset)."""
    index = {layer.name: i for i, layer in enumerate(layers)}
    part_of: dict[str, tuple[str, int, int]] = {}
    for consumer, parts in wide.items():
        for slot, part in enumerate(parts):
            part_of[part] = (consumer, slot, len(parts))

    in_passes, _ = passes_and_threshold(input_channels)
    h0, w0 = layers[0].in_hw
    tensors: dict[str, _Tensor] = {
        INPUT: _Tensor(INPUT, *ranges[INPUT], in_passes, (h0, w0), -1)
    }
    for i, layer in enumerate(layers):
        if layer.name in part_of:
            consumer, _, n_parts = part_of[layer.name]
            key = f"cat:{consumer}"
            if key not in tensors:
                births = [index[p] for p in wide[consumer]]
                lo, n = ranges[layer.name]
                tensors[key] = _Tensor(key, lo, n, n_parts, layer.out_hw, min(births),
                                       joint=True)
            continue
        lo, n = ranges[layer.name]
        tensors[layer.name] = _Tensor(layer.name, lo, n, layer.out_passes, layer.out_hw, i)
    out = _Tensors(tensors, part_of, [])

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


def _in_place(layers: list[IzerLayer], ts: _Tensors, x: _Tensor, t: _Tensor) -> int | None:
    """Allowed shift (bytes) if ``t``'s producer may overwrite its input ``x`` in place."""
    if t.joint or x.joint or x.death != t.birth or t.birth < 0:
        return None
    layer = layers[t.birth]
    if layer.op != "conv2d" or layer.pool or x.words != t.words:
        return None
    if x not in ts.inputs_of[t.birth]:
        return None
    return in_place_shift(layer.kernel, layer.pad, layer.in_hw[1], x.words)


def _place_offsets(layers: list[IzerLayer], ts: _Tensors, cap: int) -> None:
    """Greedy offsets, in order of birth, each as high in the instance as the tensors it may
    not overlap allow; raises :class:`PlanError` at the first tensor with no room."""
    placed: list[_Tensor] = []

    def forbidden(t: _Tensor) -> list[tuple[int, int, _Tensor]]:
        out = []
        for q in placed:
            if not (q.inst & t.inst) or q.birth > t.death or t.birth > q.death:
                continue
            assert q.offset is not None
            shift = _in_place(layers, ts, q, t)
            if shift is None:
                shift = _in_place(layers, ts, t, q)
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


def _no_offset(layers: list[IzerLayer], t: _Tensor, bad: list[tuple[int, int, _Tensor]],
               cap: int) -> PlanError:
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


def _emit(layers: list[IzerLayer], ts: _Tensors, device: Device,
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


def _plan(layers: list[IzerLayer], device: Device, input_channels: int,
          strategy: str) -> MemoryPlan:
    """One greedy plan: processors by ``strategy``, then offsets top-down in birth order."""
    structure = assign_processors(layers, input_channels, strategy, device.instance_bytes)
    ts = _tensors(layers, input_channels, device.shared, structure["ranges"],
                  structure["wide"])
    _place_offsets(layers, ts, device.instance_bytes)
    return _emit(layers, ts, device, strategy)


def _inst_str(inst: int) -> str:
    idx = [i for i in range(16) if inst >> i & 1]
    return f"{idx[0]}-{idx[-1]}" if len(idx) > 1 else str(idx[0])


# -- independent verification -----------------------------------------------------------------
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
    under the in-place rule of the module docstring. Also checks each input and output fits the
    instance (izer's own check, with write gaps counted). An empty list is a proof of liveness
    under the word-addressing model of the module docstring.
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


def processor_masks(
    layers: list[IzerLayer], input_channels: int, strategy: str = "ai8x"
) -> list[tuple[int, int]]:
    """``(processors, output_processors)`` of every izer layer under ``strategy``, as
    :func:`plan_memory` sets them (masks do not depend on offsets, so kernel and bias memory
    can be computed even when no offsets are found)."""
    structure = assign_processors(layers, input_channels, strategy)
    ranges: dict[str, tuple[int, int]] = structure["ranges"]
    out = []
    for layer in layers:
        if layer.inputs:
            in_mask = 0
            for name in dict.fromkeys(layer.inputs):
                in_mask |= mask(*ranges[name])
        else:
            in_mask = mask(*ranges[INPUT])
        out.append((in_mask, mask(*ranges[layer.name])))
    return out
