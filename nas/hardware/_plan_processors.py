"""Processor ranges of every tensor: ai8x's CamVid U-Net layout, or the ``"spread"`` fallback.

- ``"ai8x"``: main-path tensors start at processor 0; the skip tensor of a concat of <= 64
  channels is stacked from processor 63 down (longest-lived on top) with its upsampling partner
  right below it, both at the same offset; a concat of > 64 channels is two 1-pass parts
  interleaved with ``write_gap: 1`` (the skip part written by a copy layer).
- ``"spread"``: the concat pairs as above but placed where they clash least, and every other
  tensor on the processors whose instances it shares least with tensors it cannot sit beside.

Both planners start from these ranges; :func:`processor_masks` gives the masks alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nas.hardware._layers import IzerLayer, passes_and_threshold
from nas.hardware._plan_types import INPUT, mask

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


def processor_masks(
    layers: list[IzerLayer], input_channels: int, strategy: str = "ai8x"
) -> list[tuple[int, int]]:
    """``(processors, output_processors)`` of every izer layer under ``strategy``, as
    :func:`~nas.hardware.plan_memory` sets them (masks do not depend on offsets, so kernel and
    bias memory can be computed even when no offsets are found)."""
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
