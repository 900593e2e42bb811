"""Bias memory: izer's per-layer bias length and its first-fit-decreasing group placement.

Follows ai8x-synthesis ``izer/kbias.py``: a layer's biases live in one group's bias RAM; layers
are placed largest first into the least-filled group among the groups the network uses.
Depthwise layers (MAX78002) are placed first, into every group their processors touch.
"""

from __future__ import annotations

from dataclasses import dataclass

from nas.hardware._device import Device
from nas.hardware._kernels import ffs, fls


@dataclass(frozen=True)
class BiasRequest:
    name: str
    out_channels: int
    out_passes: int
    out_thresh: int
    processors: int
    output_processors: int
    groups: int = 1  # conv groups (> 1 = depthwise)


@dataclass(frozen=True)
class BiasResult:
    group_bytes: list[int]  # fill of each group, bytes
    layer_group: dict[str, int]  # layer -> group (-1 = spread over its groups, depthwise)
    layer_bytes: dict[str, int]
    failure: tuple[str, int, int, int] | None  # (layer, needed, group, free bytes)


def bias_length(r: BiasRequest, shared: int = 4) -> int:
    """izer ``bias_len``: ``C_out + (ffs(output_processors) % 4) * out_passes`` bytes."""
    return r.out_channels + ffs(r.output_processors) % shared * r.out_passes


def place_biases(
    requests: list[BiasRequest], groups_used: list[int], device: Device
) -> BiasResult:
    size = device.bias_bytes_per_group
    fill = [0] * device.groups
    layer_group: dict[str, int] = {}
    layer_bytes: dict[str, int] = {}
    regular = []
    for r in requests:
        if r.groups == 1:
            regular.append((r, bias_length(r, device.shared)))
            continue
        before = sum(fill)
        _place_depthwise(r, fill, device)
        layer_group[r.name] = -1
        layer_bytes[r.name] = sum(fill) - before
        for g in range(device.groups):
            if fill[g] > size:
                return BiasResult(fill, layer_group, layer_bytes, (r.name, fill[g], g, size))
    single = len(groups_used) == 1
    regular.sort(key=lambda e: 0 if single else size - e[1])  # stable: layer order on ties
    for r, blen in regular:
        group = min(groups_used, key=lambda g: fill[g])  # first of the least filled
        if fill[group] + blen > size:
            return BiasResult(fill, layer_group, layer_bytes,
                              (r.name, blen, group, size - fill[group]))
        layer_group[r.name] = group
        layer_bytes[r.name] = blen
        fill[group] += blen
    return BiasResult(fill, layer_group, layer_bytes, None)


def _place_depthwise(r: BiasRequest, fill: list[int], device: Device) -> None:
    """Bytes izer's depthwise path adds per group (values of unused processors included)."""
    per = device.processors_per_group
    pm = r.processors
    broadcast = r.processors == r.output_processors
    used_groups = [g for g in range(device.groups) if pm >> (g * per) & ((1 << per) - 1)]
    for g in used_groups:
        if broadcast:
            fill[g] = (fill[g] + 3) & ~3
    map_used = pm
    if not broadcast:  # the first gap is moved to the end of the group
        start = ffs(pm)
        first_group = start // per
        gmask = ((1 << per) - 1) << (first_group * per)
        map_used = (pm & ~gmask) | ((pm & gmask) >> (start % per))
    start, last = ffs(map_used), fls(map_used)
    if broadcast:
        last = ((last + per) & ~(per - 1)) - 1
    if broadcast or len(used_groups) > 1:
        start &= ~(per - 1)
    width = r.out_thresh
    row: list[bool] = [True] * width
    leftover = r.out_passes * width - r.out_channels
    rows = [list(row) for _ in range(r.out_passes)]
    for k in range(leftover):
        rows[-1 - k // width][width - 1 - k % width] = False
    for proc in range(start, last + 1):
        if not map_used >> proc & 1:
            for rr in rows:
                rr.insert(min(proc, len(rr)), False)
    added: dict[int, list[bool]] = {}
    group = 0
    for rr in rows:
        for p in range(start, last + 1):
            group = p // per
            src = (p & ~0x0F) + (p % 4) * 4 + (p % 16) // 4 if broadcast else p
            idx = src - start
            added.setdefault(group, []).append(idx < len(rr) and rr[idx])
            fill[group] += 1
    tail = added.get(group, [])
    while tail and not tail[-1] and fill[group] > 0:
        tail.pop()
        fill[group] -= 1
