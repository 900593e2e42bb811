"""Bias memory: izer's per-layer bias requests and its group placement (``izer/kbias.py``).

Each group ("quadrant") has its own bias RAM of ``Device.bias_bytes_per_group`` bytes.

- Depthwise layers are placed first, in layer order: each group that holds one of the layer's
  *input* processors gets its own copy of that processor's biases ("Quadrant with bias" =
  ``'all'``), laid out byte by byte as izer's loop walks the processors.
- Every other layer is then placed first-fit-decreasing into one group among those the network
  uses: largest first (stable on ties), into the first of the least-filled groups.

:func:`bias_requests` builds the requests from an izer layer list and its processor masks;
:func:`place_biases` places them. Both :func:`nas.hardware.check` and the exporter use them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from nas.hardware._device import Device
from nas.hardware._kernels import ffs, fls
from nas.hardware._layers import IzerLayer, passes_and_threshold

DEPTHWISE = -1  # BiasPlacement.layer_group of a depthwise layer (izer prints 'all')


@dataclass(frozen=True)
class BiasRequest:
    """One layer's biases as izer sees them.

    Attributes:
        name: izer layer name.
        out_channels: bias values (one per output channel).
        out_passes: izer's ``out_expand`` (64-channel output passes).
        out_thresh: izer's ``out_expand_thresh`` (channels per pass).
        processors: input processor mask (izer's ``processor_map``).
        output_processors: output processor mask.
        groups: convolution groups (> 1 = depthwise).
    """

    name: str
    out_channels: int
    out_passes: int
    out_thresh: int
    processors: int
    output_processors: int
    groups: int = 1


@dataclass(frozen=True)
class BiasFailure:
    """Where izer stops with "bias memory capacity exhausted" (bytes)."""

    layer: str
    needed: int  # bytes the layer still had to place in ``group`` (1 for a depthwise byte)
    group: int
    free: int  # bytes left in ``group`` at that point
    processor: int | None = None  # set where izer's depthwise loop fails on a processor gap


@dataclass(frozen=True)
class BiasPlacement:
    """izer's bias layout.

    Attributes:
        group_bytes: fill of each group, bytes (sum = izer's "Bias memory").
        layer_group: layer -> group, :data:`DEPTHWISE` for a depthwise layer (izer's
            "Quadrant with bias"); layers without biases are absent.
        layer_bytes: bytes each layer added (a depthwise layer's padding included).
        layer_offsets: layer -> byte offset per group (izer's "Bias offset" row; ``None``
            where the layer has no biases in that group).
        failure: the first layer that did not fit, else ``None`` (placement stops there).
    """

    group_bytes: list[int]
    layer_group: dict[str, int]
    layer_bytes: dict[str, int]
    layer_offsets: dict[str, tuple[int | None, ...]]
    failure: BiasFailure | None


def bias_requests(
    layers: Sequence[IzerLayer],
    masks: Sequence[tuple[int, int]],
    omit: Collection[str] = (),
) -> list[BiasRequest]:
    """The layers that store biases, in layer order.

    Args:
        layers: izer layers.
        masks: (input, output) processor masks per layer.
        omit: layers izer stores no biases for (e.g. all-zero quantised biases).
    """
    out = []
    for layer, (pin, pout) in zip(layers, masks, strict=True):
        if not layer.bias or layer.op == "passthrough" or layer.name in omit:
            continue
        passes, thresh = passes_and_threshold(layer.out_channels)
        out.append(BiasRequest(layer.name, layer.out_channels, passes, thresh, pin, pout,
                               layer.groups))
    return out


def groups_used(masks: Sequence[tuple[int, int]], device: Device) -> list[int]:
    """izer's "Used quadrants": groups with an input processor of any layer or an output
    processor of the last."""
    used = masks[-1][1] if masks else 0
    for pin, _ in masks:
        used |= pin
    per = device.processors_per_group
    return [g for g in range(device.groups) if used >> (g * per) & ((1 << per) - 1)]


def bias_length(r: BiasRequest, shared: int = 4) -> int:
    """izer ``bias_len`` of a non-depthwise layer:
    ``C_out + (ffs(output_processors) % 4) * out_passes`` bytes."""
    return r.out_channels + ffs(r.output_processors) % shared * r.out_passes


def place_biases(
    requests: Sequence[BiasRequest], groups: Sequence[int], device: Device
) -> BiasPlacement:
    """Place ``requests`` as izer does; ``groups`` are the groups the network uses."""
    size = device.bias_bytes_per_group
    # one flag per stored byte: False where izer only reserves the byte (its _INVALID_VALUE)
    memory: list[list[bool]] = [[] for _ in range(device.groups)]
    layer_group: dict[str, int] = {}
    layer_bytes: dict[str, int] = {}
    layer_offsets: dict[str, tuple[int | None, ...]] = {}

    def result(failure: BiasFailure | None) -> BiasPlacement:
        return BiasPlacement([len(m) for m in memory], layer_group, layer_bytes, layer_offsets,
                             failure)

    regular = []
    for r in requests:
        if r.groups == 1:
            regular.append((r, bias_length(r, device.shared)))
            continue
        before = sum(len(m) for m in memory)
        offsets, failure = _place_depthwise(r, memory, device)
        layer_group[r.name] = DEPTHWISE
        layer_offsets[r.name] = offsets
        layer_bytes[r.name] = sum(len(m) for m in memory) - before
        if failure is not None:
            return result(failure)
    single = len(groups) == 1
    regular.sort(key=lambda e: 0 if single else size - e[1])  # stable: layer order on ties
    for r, blen in regular:
        group = min(groups, key=lambda g: len(memory[g]))  # first of the least filled
        if len(memory[group]) + blen > size:
            return result(BiasFailure(r.name, blen, group, size - len(memory[group])))
        layer_group[r.name] = group
        layer_bytes[r.name] = blen
        layer_offsets[r.name] = (len(memory[group]),) * device.groups
        memory[group] += [True] * blen
    return result(None)


def _place_depthwise(
    r: BiasRequest, memory: list[list[bool]], device: Device
) -> tuple[tuple[int | None, ...], BiasFailure | None]:
    """izer's depthwise loop: append this layer's bytes to ``memory`` (per group).

    Returns the layer's offset per group and the failure, if a group ran full.
    """
    per = device.processors_per_group
    group_mask = (1 << per) - 1
    size = device.bias_bytes_per_group
    pm = r.processors
    broadcast = pm == r.output_processors
    offsets: list[int | None] = [None] * device.groups
    touched = 0
    for g in range(device.groups):
        if pm >> (g * per) & group_mask:
            if broadcast:  # aligned so all four bytes of a word are read in parallel
                memory[g] += [False] * (-len(memory[g]) % 4)
            offsets[g] = len(memory[g])
            touched += 1
    map_used = pm
    if not broadcast:  # the first gap is moved to the end of the group
        start = ffs(pm)
        first = (group_mask << (start // per * per))
        map_used = (pm & ~first) | ((pm & first) >> (start % per))
    start, last = ffs(map_used), fls(map_used)
    if broadcast:
        last = ((last + per) & ~(per - 1)) - 1
    if broadcast or touched > 1:
        # izer clears the low P_NUMPRO (16) *bits* here, not the processor index within a
        # group: the walk always starts at processor 0 and reserves bytes in lower groups too
        start &= ~group_mask
    # per pass: True where a bias value lands, False for the unused tail of the last pass
    rows = [[True] * r.out_thresh for _ in range(r.out_passes)]
    for k in range(r.out_passes * r.out_thresh - r.out_channels):
        rows[-1 - k // r.out_thresh][r.out_thresh - 1 - k % r.out_thresh] = False
    for proc in range(start, last + 1):
        if not map_used >> proc & 1:
            # izer inserts the gap at index `proc`, not `proc - start`; past the end of the
            # row (a gap inside group > 0 when the walk starts there) numpy raises
            if proc > len(rows[0]):
                return tuple(offsets), BiasFailure(r.name, 0, proc // per, 0, processor=proc)
            for row in rows:
                row.insert(proc, False)
    group = start // per
    for row in rows:
        for p in range(start, last + 1):
            group = p // per
            src = (p & ~0x0F) + (p % 4) * 4 + (p % 16) // 4 if broadcast else p
            if len(memory[group]) >= size:
                return tuple(offsets), BiasFailure(r.name, 1, group, 0)
            memory[group].append(src - start < len(row) and row[src - start])
    while memory[group] and not memory[group][-1]:  # reserved bytes at the end are given back
        memory[group].pop()
    return tuple(offsets), None
