"""An independent check of an exported izer YAML: no live tensor is overwritten too early.

izer itself does not check this (with ``--overlap-data`` it checks nothing; without it only the
immediately preceding layer). This walker reads only the YAML (plus each layer's channel count
and the input shape), rebuilds which data-memory words every layer writes and reads, and checks:

1. **reads hit data**: each layer reads exactly the words its ``in_sequences`` producers wrote
   (right offsets, processors, pass interleaving / ``write_gap``);
2. **liveness**: no layer between a tensor's producer and its last reader writes any of the
   tensor's words;
3. **in place**: where the last reader writes over its own input, every output pixel lands
   only on input words no later output pixel still needs (conservatively: whole rows of the
   receptive field, row-major processing);
4. **bounds**: every word lies inside one data-memory instance.

Memory is modelled per 32-bit word (4 processors share a word), as izer's own overwrite check
does, so two tensors sharing a word in different byte lanes count as a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nas.hardware import DEFAULT_DEVICE, get_device


@dataclass(frozen=True)
class _Tensor:
    """Where a tensor lies: per pixel, the word offsets (in the instance) of each pass, for
    each instance (quad of 4 processors) holding data in that pass."""

    shape: tuple[int, int, int]  # C, H, W
    base: int  # word offset of pixel 0, pass 0
    stride: int  # words per pixel
    passes: tuple[tuple[int, ...], ...]  # per pass: instances (0..15) holding data
    gap: int  # 1 + write_gap: distance between consecutive words of one pixel

    def words(self) -> dict[int, np.ndarray]:
        """instance -> sorted word offsets."""
        _, h, w = self.shape
        pix = np.arange(h * w) * self.stride + self.base
        out: dict[int, list[np.ndarray]] = {}
        for k, quads in enumerate(self.passes):
            for q in quads:
                out.setdefault(q, []).append(pix + k * self.gap)
        return {q: np.sort(np.concatenate(v)) for q, v in out.items()}

    def pixel_words(self, pixels: np.ndarray) -> dict[int, np.ndarray]:
        """instance -> [len(pixels), passes] word offsets (-1 where the pass has no data)."""
        out = {}
        for q in sorted({q for quads in self.passes for q in quads}):
            cols = [pixels * self.stride + self.base + k * self.gap if q in quads
                    else np.full(len(pixels), -1) for k, quads in enumerate(self.passes)]
            out[q] = np.stack(cols, axis=1)
        return out


def _procs(mask: int) -> list[int]:
    return [p for p in range(64) if (mask >> p) & 1]


def _layout(mask: int, channels: int) -> tuple[tuple[int, ...], ...]:
    """Per pass, the instances holding channels: pass k uses the first n_k processors."""
    procs = _procs(mask)
    if not procs:
        raise ValueError("empty processor mask")
    thresh = len(procs)
    passes = -(-channels // thresh)
    out = []
    for k in range(passes):
        n = min(thresh, channels - k * thresh)
        out.append(tuple(sorted({p // 4 for p in procs[:n]})))
    return tuple(out)


def _placed(mask: int, offset: int, shape: tuple[int, int, int], write_gap: int) -> _Tensor:
    if offset % 4:
        raise ValueError(f"offset 0x{offset:x} is not a multiple of 4 bytes")
    passes = _layout(mask, shape[0])
    gap = 1 + write_gap
    return _Tensor(shape, offset // 4, len(passes) * gap, passes, gap)


def _first_needed(op: str, pool: int, pad: int, y: np.ndarray, x: np.ndarray,
                  w_in: int) -> np.ndarray:
    """Lowest input pixel (row-major index) still needed once output pixel (y, x) is made.

    Outputs are produced in row-major order; the receptive field's top-left input pixel is
    the first one a later output can still read (earlier ones are consumed).
    """
    if op == "convtranspose2d":  # output (y, x) reads input rows/cols around y/2, x/2
        row, col = y // 2 - 1, x // 2 - 1
    elif pool > 1:  # pooled (y - pad, x - pad) covers input from 2 (y - pad), 2 (x - pad)
        row, col = pool * (y - pad), pool * (x - pad)
    else:
        row, col = y - pad, x - pad
    return np.maximum(row, 0) * w_in + np.maximum(col, 0)


def check_yaml_liveness(
    layers: Sequence[Mapping[str, Any]],
    out_channels: Sequence[int],
    input_shape: tuple[int, int, int],
    device: str = DEFAULT_DEVICE,
) -> list[str]:
    """Problems found in an izer YAML layer list (empty = the plan is safe).

    Args:
        layers: the YAML's ``layers`` (as :func:`nas.export.read_yaml_layers` returns them).
        out_channels: output channels of each layer (from the checkpoint's weights).
        input_shape: network input (C, H, W).
        device: sets the data-memory instance size.
    """
    if len(layers) != len(out_channels):
        raise ValueError(f"{len(layers)} layers but {len(out_channels)} channel counts")
    limit = get_device(device).instance_bytes // 4
    problems: list[str] = []
    first = layers[0]
    tensors: dict[int, _Tensor] = {
        -1: _placed(int(first["processors"]), int(first.get("in_offset", 0)), input_shape, 0)
    }
    sources: dict[int, list[int]] = {}
    geometry: dict[int, tuple[str, int, int, int]] = {}
    prev_out = int(first.get("in_offset", 0))
    for i, layer in enumerate(layers):
        src = list(layer.get("in_sequences", [i - 1]))
        sources[i] = src
        c_in = sum(tensors[s].shape[0] for s in src)
        _, h, w = tensors[src[0]].shape
        op = str(layer.get("operation", "conv2d")).lower()
        pool = int(layer.get("max_pool", 0) or 0)
        if pool:
            h, w = h // pool, w // pool
        if op == "convtranspose2d":
            h, w = 2 * h, 2 * w
        kernel = int(str(layer.get("kernel_size", "3x3")).split("x")[0])
        pad = int(layer.get("pad", 1))
        geometry[i] = (op, pool, kernel, pad)
        # 1. the words this layer reads must be exactly its producers' words
        in_offset = int(layer.get("in_offset", prev_out))
        read = _placed(int(layer["processors"]), in_offset, (c_in, *tensors[src[0]].shape[1:]), 0)
        parts: dict[int, list[np.ndarray]] = {}
        for s in src:
            for q, ws in tensors[s].words().items():
                parts.setdefault(q, []).append(ws)
        written = {q: np.unique(np.concatenate(v)) for q, v in parts.items()}
        wanted = read.words()
        if wanted.keys() != written.keys() or any(
                not np.array_equal(wanted[q], written[q]) for q in wanted):
            problems.append(f"layer {i}: reads (in_offset 0x{in_offset:04x}, processors "
                            f"0x{int(layer['processors']):016x}) do not match the words its "
                            f"inputs {src} were written to")
        out_mask = int(layer.get("output_processors", layer["processors"]))
        out_offset = int(layer.get("out_offset", 0))
        out = _placed(out_mask, out_offset, (int(out_channels[i]), h, w),
                      int(layer.get("write_gap", 0)))
        tensors[i] = out
        prev_out = out_offset
        top = max(int(ws.max()) for ws in out.words().values())
        if top >= limit:
            problems.append(f"layer {i}: output reaches word {top}, beyond the "
                            f"{limit}-word instance")

    last_reader = {t: max((i for i, s in sources.items() if t in s), default=t) for t in tensors}
    words = {t: tensor.words() for t, tensor in tensors.items()}

    def meets(a: np.ndarray, b: np.ndarray) -> bool:
        if a[-1] < b[0] or b[-1] < a[0]:  # sorted: disjoint ranges
            return False
        return bool(np.intersect1d(a, b, assume_unique=True).size)

    for t, tensor in tensors.items():
        t_words = words[t]
        end = last_reader[t]
        for i in range(t + 1, end + 1):
            overlap = {q for q, ws in words[i].items() if q in t_words and meets(ws, t_words[q])}
            if not overlap:
                continue
            name = "the input" if t < 0 else f"layer {t}'s output"
            if i < end:
                problems.append(f"layer {i} overwrites {name} (instances {sorted(overlap)}) "
                                f"before its last reader, layer {end}")
            elif not _in_place_ok(tensor, tensors[i], geometry[i], overlap):
                problems.append(f"layer {i} overwrites its own input ({name}, instances "
                                f"{sorted(overlap)}) while it still needs it")
    return problems


def _in_place_ok(src: _Tensor, out: _Tensor, geometry: tuple[str, int, int, int],
                 quads: set[int]) -> bool:
    op, pool, _kernel, pad = geometry
    _, h_in, w_in = src.shape
    _, h, w = out.shape
    pixels = np.arange(h * w)
    n_in = h_in * w_in
    first_needed = np.minimum(_first_needed(op, pool, pad, pixels // w, pixels % w, w_in), n_in)
    in_words = src.pixel_words(np.arange(n_in))
    out_words = out.pixel_words(pixels)
    big = np.iinfo(np.int64).max
    for q in quads:
        ow = out_words[q]
        iw = in_words[q]
        # input words still needed at output pixel o: those of pixels >= first_needed[o];
        # the layout grows with the pixel index, so the first needed pixel has the lowest
        lowest = np.append(np.where(iw >= 0, iw, big).min(axis=1), big)
        needed_lo = lowest[first_needed]
        needed_hi = iw.max()
        hit = (ow >= needed_lo[:, None]) & (ow <= needed_hi) & (ow >= 0)
        if hit.any():
            return False
    return True
