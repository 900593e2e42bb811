"""Kernel (weight) memory: izer's kernel lengths and its first-fit column placement.

Follows ai8x-synthesis ``izer/kernels.py`` (greedy allocator, new kernel loader, 8/4/2/1-bit
packing). Each used input processor holds ``length`` 72-bit words of the layer starting at the
same column ``offset`` (a multiple of 4). A layer's columns are treated as used from ``offset``
to ``offset + length`` on every input processor (izer leaves the columns of holes in an output
mask unused; the planner never makes such holes).
"""

from __future__ import annotations

from dataclasses import dataclass

from nas.hardware._device import Device


def ffs(x: int) -> int:
    return (x & -x).bit_length() - 1


def fls(x: int) -> int:
    return x.bit_length() - 1


def kernel_length(
    kernel: int, bits: int, in_passes: int, out_passes: int, output_processors: int,
    groups: int = 1,
) -> tuple[int, int]:
    """``(length, count)``: izer's 72-bit words per input processor and its kernel count.

    ``count`` (izer ``kern_count``) sets the latency's output slots (``count // in_passes``).

    Low-bit packing (izer ``kernels.py``): a 72-bit word holds one 3x3 kernel at 8 bits, and
    ``qfactor = 8 // bits`` output channels' kernels share each byte position at ``bits``, so
    ``kc`` kernels of ``k*k`` weights take ``kc*k*k*bits`` bits, plus
    ``(kc % qfactor) * k*k * (qfactor - 1)`` bits of padding when ``kc`` does not fill the
    last group of ``qfactor``. E.g. 3x3 on 64 output processors: 64/32/16/8 words at
    8/4/2/1 bits; 28 processors at 1 bit: ceil((28*9 + 4*9*7) / 72) = 7.
    """
    if bits not in (1, 2, 4, 8):
        raise ValueError(f"bits must be one of (1, 2, 4, 8) (izer's quantization values), "
                         f"but got bits={bits}")
    first = ffs(output_processors)
    start_col = first % 4
    if out_passes > 1:
        first -= start_col
    if groups == 1:
        kc = (1 + fls(output_processors) - first) * out_passes * in_passes
        count = kc + start_col * out_passes * in_passes
    else:  # depthwise
        kc = in_passes
        count = kc + start_col * in_passes
    ksize = kernel * kernel
    qfactor = 8 // bits
    res = (kc % qfactor) * ksize * (qfactor - 1)
    return (kc * ksize * bits + res + 71) // 72, count


def low_bit_unaligned(bits: int, output_processors: int, shared: int) -> bool:
    """izer's warning "N-bit quantization uses unaligned output processors, this may cause
    issues": a layer below 8 bits whose first output processor is not the first of its group
    of ``shared`` (the kernel loader packs low-bit kernels from an aligned column)."""
    return bits != 8 and output_processors != 0 and ffs(output_processors) % shared != 0


@dataclass(frozen=True)
class KernelRequest:
    """What the allocator needs of one layer (passthrough layers have ``length == 0``)."""

    name: str
    processors: int
    length: int
    groups: int = 1


@dataclass(frozen=True)
class KernelFailure:
    """izer's "Kernel memory exhausted at processor P; offset: O, needed: N"."""

    layer: str
    processor: int
    offset: int
    needed: int
    available: int


def place_kernels(
    requests: list[KernelRequest], device: Device
) -> tuple[list[int], KernelFailure | None]:
    """izer's greedy first-fit placement. Returns per-layer offsets (0 for layers without
    kernels, and for layers after a failure) and the first failure, if any."""
    offsets = [0] * len(requests)
    occ = [0] * device.processors  # bit c set = column c used
    order = [i for i, r in enumerate(requests) if r.processors == (1 << 64) - 1]
    order += [i for i, r in enumerate(requests) if r.processors != (1 << 64) - 1]
    large_w, small_w = device.kernel_words_large, device.kernel_words_small
    extended = large_w > small_w
    for i in order:
        r = requests[i]
        if r.length == 0:
            continue
        procs = [p for p in range(device.processors) if r.processors >> p & 1]
        if not procs:
            continue
        length = r.length
        win = (1 << length) - 1
        col = -1
        if extended and all(p % device.processors_per_group == 0 for p in procs) and (
            not device.weight_mask_instances or r.groups == 1
            or length <= device.kernel_instance_small
        ):
            col = _search_reverse(occ, procs, length, r.groups, device)
            if col != -1:
                col = (col - (length - 1)) & ~3
        if col == -1:
            res = _search_forward(occ, procs, length, win, r.groups, device)
            if isinstance(res, tuple):
                p, offs = res
                return offsets, KernelFailure(r.name, p, offs, length,
                                              max(0, device.kernel_words(p) - offs))
            col = (res + 3) & ~3
        last = procs[-1]
        if col + length > device.kernel_words(last):
            return offsets, KernelFailure(r.name, last, col, length,
                                          max(0, device.kernel_words(last) - col))
        offsets[i] = col
        bits = win << col
        for p in procs:
            occ[p] |= bits
    return offsets, None


def _mem_mask(offs: int, device: Device) -> int:
    if offs + 1 >= device.kernel_words_small:
        return device.kernel_instance_small - 1
    return device.kernel_instance_large - 1


def _search_forward(
    occ: list[int], procs: list[int], length: int, win: int, groups: int, device: Device
) -> int | tuple[int, int]:
    """Lowest column (multiple of 4) free on all ``procs``; ``(processor, offset)`` on failure.

    Same result as izer's processor-by-processor scan: every candidate skipped here contains
    the highest used column of the current window in the union of the processors' maps.
    """
    offs = 0
    p0 = procs[0]
    while occ[p0] >> offs & 1:
        offs += 4
        if offs + length > device.kernel_words(p0):
            return p0, offs
    union = 0
    for p in procs:
        union |= occ[p]
    uniform = device.kernel_words_large if (
        device.kernel_words_large == device.kernel_words_small) else 0
    while True:
        if device.weight_mask_instances and groups > 1:
            # all kernels of a depthwise layer in one kernel-memory instance (izer's arithmetic)
            m = _mem_mask(offs + 1, device)
            if (offs + 1) & ~m != (offs + length) & ~m:
                offs = ((offs + m) & ~m) - 1
            m = _mem_mask(offs + 1, device)
            if (offs + 1) & ~m != (offs + length) & ~m:
                return p0, offs
        used = (union >> offs) & win
        if not used:
            return offs
        col = offs + fls(used)
        offs = (col + 1 + 3) & ~3
        if uniform:
            if offs + length > uniform:
                return next(q for q in procs if occ[q] >> col & 1), offs
        else:
            p = next(q for q in procs if occ[q] >> col & 1)
            if offs + length > device.kernel_words(p):
                return p, offs


def _search_reverse(
    occ: list[int], procs: list[int], length: int, groups: int, device: Device
) -> int:
    """MAX78002: top-down search in the extended memory of processors 0/16/32/48; -1 if none."""
    offs = device.kernel_words_large - 1
    p0 = procs[0]
    while occ[p0] >> offs & 1:
        offs -= 4
        if offs < 0:
            return -1
    i = 0
    while i < len(procs):
        p = procs[i]
        if device.weight_mask_instances and groups > 1:
            m = _mem_mask(offs - 1, device)
            if (offs - 1) & ~m != (offs - length) & ~m:
                offs &= ~m
        lo = offs - length + 1
        if lo < 0:
            return -1
        used = (occ[p] >> lo) & ((1 << length) - 1)
        if used:
            hi = lo + fls(used)  # highest used column (izer scans downwards)
            offs = (hi - 1) & ~3
            if offs + length > device.kernel_words(p) or offs < 0:
                return -1
            i = 0
            continue
        i += 1
    return offs
