"""``check(spec)``: everything izer would reject, plus a liveness-safe memory plan."""

from __future__ import annotations

from nas.hardware._bias import (
    DEPTHWISE,
    BiasFailure,
    BiasPlacement,
    bias_length,
    bias_requests,
    groups_used,
    place_biases,
)
from nas.hardware._device import DEFAULT_DEVICE, Device, get_device
from nas.hardware._kernels import (
    KernelRequest,
    ffs,
    kernel_length,
    low_bit_unaligned,
    place_kernels,
)
from nas.hardware._latency import STARTUP_CYCLES, conv_cycles, passthrough_cycles
from nas.hardware._layers import IzerLayer, izer_layers
from nas.hardware._plan import plan_memory
from nas.hardware._plan_processors import processor_masks
from nas.hardware._plan_types import MemoryPlan, PlanError
from nas.hardware._report import HardwareReport, LayerFigures, Violation
from nas.spec import DEFAULT_INPUT_SIZE, ArchSpec


def _input_size(mult: int, input_size: tuple[int, int]) -> list[Violation]:
    out = []
    for axis, size in zip(("rows", "columns"), input_size, strict=True):
        if size % mult:
            out.append(Violation(
                None, "input_size", size % mult, 0,
                f"input {axis} {size} must be a multiple of 2^(depth-1) = {mult} so pooled and "
                f"upsampled shapes match (remainder {size % mult})"))
    return out


def _structure(layers: list[IzerLayer], dev: Device) -> list[Violation]:
    """Rules that do not need a memory layout (izer's yamlcfg/izer.py/max7800x.py checks)."""
    out: list[Violation] = []
    if len(layers) > dev.max_layers:
        out.append(Violation(None, "layers", len(layers), dev.max_layers,
                             f"{len(layers)} izer layers > {dev.max_layers} on {dev.name} "
                             f"(over by {len(layers) - dev.max_layers})"))
    hw = {layer.name: layer.out_hw for layer in layers}
    chans = {layer.name: layer.out_channels for layer in layers}
    for layer in layers:
        n = layer.name
        for what, c in (("input", layer.in_channels), ("output", layer.out_channels)):
            if c > dev.max_channels:
                out.append(Violation(n, "channels", c, dev.max_channels,
                                     f"layer {n}: {c} {what} channels > {dev.max_channels} "
                                     f"(over by {c - dev.max_channels})"))
        for what, dims in (("input", layer.in_hw), ("output", layer.out_hw)):
            if max(dims) > dev.max_dim:
                out.append(Violation(n, "dimensions", max(dims), dev.max_dim,
                                     f"layer {n}: {what} {dims[0]}x{dims[1]} exceeds "
                                     f"{dev.max_dim} rows/columns (over by "
                                     f"{max(dims) - dev.max_dim})"))
            if min(dims) < 1:
                out.append(Violation(n, "dimensions", 1, 0,
                                     f"layer {n}: {what} dimension {dims[0]}x{dims[1]} is zero "
                                     f"(input too small for the pooling depth; over by 1)"))
        if layer.groups > 1 and not dev.depthwise:
            out.append(Violation(n, "operator", 1, 0,
                                 f"layer {n}: depthwise convolution (groups={layer.groups}) is "
                                 f"not supported on {dev.name} (MAX78002 only)"))
        if layer.op == "conv2d":
            if layer.kernel not in (1, 3):
                out.append(Violation(
                    n, "kernel", layer.kernel, 3,
                    f"layer {n}: Conv2d kernel {layer.kernel} must be 1x1 or 3x3"))
            if layer.pad >= max(layer.kernel, 1) or layer.pad > 2:
                out.append(Violation(n, "padding", layer.pad, max(layer.kernel - 1, 0),
                                     f"layer {n}: pad {layer.pad} must be < kernel size "
                                     f"{layer.kernel} (1x1 needs pad 0)"))
        elif layer.op == "convtranspose2d":
            if layer.kernel != 3 or (2 - layer.pad) not in (0, 1, 2) or layer.pool:
                out.append(Violation(n, "operator", 1, 0,
                                     f"layer {n}: ConvTranspose2d must be 3x3, stride 2, "
                                     f"output_padding 1, pad 0-2 and unpooled"))
        if len(layer.inputs) > 1:
            sizes = {hw[i] for i in layer.inputs}
            if len(sizes) > 1:
                out.append(Violation(n, "concat_shape", len(sizes), 1,
                                     f"layer {n}: concatenated inputs {list(layer.inputs)} have "
                                     f"different sizes {sorted(sizes)}"))
            for i in layer.inputs[:-1]:
                if chans[i] % 4:
                    out.append(Violation(n, "concat_channels", chans[i] % 4, 0,
                                         f"layer {n}: concat input {i} has {chans[i]} channels; "
                                         "all but the last must be a multiple of 4"))
            parts = [chans[i] for i in layer.inputs]
            if len(set(parts)) > 1:
                # izer.py checks this for every in_sequences, concatenations included
                out.append(Violation(
                    n, "concat_channels", max(parts), min(parts),
                    f"layer {n}: izer requires concatenated inputs with equal channel counts, "
                    f"but {list(layer.inputs)} have {parts} (over by "
                    f"{max(parts) - min(parts)})"))
            elif layer.in_channels > 64 and parts[0] > 64:
                out.append(Violation(
                    n, "concat_channels", parts[0], 64,
                    f"layer {n}: a concat of {layer.in_channels} > 64 channels is realised by "
                    f"interleaving 1-pass parts (write_gap), so each part must have <= 64 "
                    f"channels, but got {parts} (over by {parts[0] - 64})"))
    return out


def check(
    spec: ArchSpec,
    device: str | Device = DEFAULT_DEVICE,
    input_size: tuple[int, int] = DEFAULT_INPUT_SIZE,
    passthrough: str = "fakept",
) -> HardwareReport:
    """Check ``spec`` against ``device`` as izer would, and plan its data memory.

    Args:
        spec: the architecture.
        device: ``"MAX78000"`` or ``"MAX78002"`` (or a :class:`Device`).
        input_size: folded chip input (rows, columns); 88x88 for 352x352 RGB at fold 4.
        passthrough: ``"fakept"`` (ai8x's 1x1 identity copy layer) or ``"true"`` (izer's real
            passthrough) for the copy layers of > 64-channel concats.

    Returns:
        A :class:`HardwareReport`; ``feasible`` is True when izer would accept the network
        and a data-memory plan without overwriting live tensors was found.
    """
    input_size = (int(input_size[0]), int(input_size[1]))
    layers = izer_layers(spec, input_size, passthrough)
    return check_layers(layers, device, spec.input_channels, passthrough=passthrough,
                        extra=_input_size(spec.min_input_multiple, input_size))


def check_layers(
    layers: list[IzerLayer],
    device: str | Device = DEFAULT_DEVICE,
    input_channels: int | None = None,
    passthrough: str = "fakept",
    extra: list[Violation] | None = None,
) -> HardwareReport:
    """:func:`check` on an explicit izer layer list (e.g. a plain sequential network).

    Args:
        layers: izer layers in execution order; the first reads the network input.
        device: target device.
        input_channels: channels of the network input (default: the first layer's input).
        passthrough: recorded in the report only.
        extra: violations found by the caller (e.g. input-size rules), reported first.
    """
    if not layers:
        raise ValueError("layers must not be empty")
    dev = get_device(device)
    if input_channels is None:
        input_channels = layers[0].in_channels
    violations = list(extra or []) + _structure(layers, dev)
    structural = bool(violations)

    in_bytes, out_bytes, size_violations = _data_memory(layers, dev)
    violations += size_violations
    plan = None
    if not size_violations and not structural:
        plan, plan_violations = _plan(layers, dev, input_channels)
        violations += plan_violations

    # processor masks: the layout every other figure depends on (the plan's, if there is one)
    masks = plan.masks() if plan is not None else processor_masks(layers, input_channels)

    offsets, lengths, counts, kernel_violations = _kernel_memory(layers, masks, dev)
    violations += kernel_violations
    bias, bias_violations = _bias_memory(layers, masks, dev)
    violations += bias_violations
    layer_cycles = [] if structural else _latency(layers, masks, counts, dev)

    figures = [
        LayerFigures(
            name=layer.name, kernel_offset=offsets[i], kernel_length=lengths[i],
            bias_group=bias.layer_group.get(layer.name), bias_bytes=bias.layer_bytes.get(
                layer.name, 0),
            in_bytes=in_bytes[i], out_bytes=out_bytes[i],
            cycles=layer_cycles[i] if layer_cycles else None,
            processors=masks[i][0], output_processors=masks[i][1],
            bias_offsets=bias.layer_offsets.get(layer.name, (None,) * dev.groups),
        )
        for i, layer in enumerate(layers)
    ]
    return HardwareReport(
        device=dev.name, input_size=layers[0].in_hw, passthrough=passthrough,
        violations=violations, weight_bytes=sum(layer.weight_bytes for layer in layers),
        weight_bytes_total=dev.kernel_bytes_total, bias_bytes=sum(bias.group_bytes),
        bias_bytes_total=dev.bias_bytes_total, bias_groups=list(bias.group_bytes),
        kernel_offsets=offsets, kernel_lengths=lengths, kernel_words=dev.kernel_words_small,
        latency_cycles=STARTUP_CYCLES + sum(layer_cycles) if layer_cycles else None,
        layer_cycles=layer_cycles, cnn_clock_hz=dev.cnn_clock_hz,
        layers=layers, figures=figures, plan=plan,
    )


def _data_memory(
    layers: list[IzerLayer], dev: Device
) -> tuple[list[int], list[int], list[Violation]]:
    """izer's per-instance data-memory size checks (at offset 0): input and output bytes per
    instance for each layer, and the violations."""
    cap = dev.instance_bytes
    violations = []
    in_bytes, out_bytes = [], []
    for layer in layers:
        ib = layer.in_hw[0] * layer.in_hw[1] * layer.in_passes * 4
        ob = layer.out_hw[0] * layer.out_hw[1] * layer.out_passes * 4
        in_bytes.append(ib)
        out_bytes.append(ob)
        if ib > cap:
            violations.append(Violation(
                layer.name, "data_memory_input", ib, cap,
                f"layer {layer.name}: input {layer.in_hw[0]}x{layer.in_hw[1]} x "
                f"{layer.in_passes} pass(es) x 4 B = {ib:,} B > {cap:,} B data-memory instance "
                f"(over by {ib - cap:,})"))
        if ob > cap:
            px = layer.out_hw[0] * layer.out_hw[1]
            fit = cap // (px * 4)
            violations.append(Violation(
                layer.name, "data_memory_output", ob, cap,
                f"layer {layer.name}: output of {layer.out_channels} channels = "
                f"{layer.out_passes} pass(es) of 64 at {layer.out_hw[0]}x{layer.out_hw[1]} "
                f"needs {ob:,} B per instance > {cap:,} B (over by {ob - cap:,}); at this "
                f"size at most {fit} pass(es) = {64 * fit} channels fit on {dev.name}"))
    return in_bytes, out_bytes, violations


def _plan(
    layers: list[IzerLayer], dev: Device, input_channels: int
) -> tuple[MemoryPlan | None, list[Violation]]:
    """The liveness-safe data-memory plan, or the violation saying why there is none."""
    try:
        return plan_memory(layers, dev, input_channels), []
    except PlanError as e:
        return None, [Violation(e.layer, e.limit, e.needed, e.available, e.report)]


def _kernel_memory(
    layers: list[IzerLayer], masks: list[tuple[int, int]], dev: Device
) -> tuple[list[int], list[int], list[int], list[Violation]]:
    """izer's kernel placement: offsets and lengths (words per processor), kernel counts per
    layer (for the latency model), and the violation if kernel memory runs out."""
    requests, lengths, counts = [], [], []
    violations = []
    for layer, (pin, pout) in zip(layers, masks, strict=True):
        if layer.op == "passthrough":
            length, count = 0, 0
        else:
            length, count = kernel_length(layer.kernel, layer.bits, layer.in_passes,
                                          layer.out_passes, pout, layer.groups)
            if low_bit_unaligned(layer.bits, pout, dev.shared):
                violations.append(Violation(
                    layer.name, "low_bit_alignment", ffs(pout) % dev.shared, 0,
                    f"layer {layer.name}: {layer.bits}-bit weights need the first output "
                    f"processor at a multiple of {dev.shared}, but it is processor "
                    f"{ffs(pout)} (izer: unaligned output processors may cause issues); "
                    f"use 8-bit weights or align the layer's output"))
        lengths.append(length)
        counts.append(count)
        requests.append(KernelRequest(layer.name, pin, length, layer.groups))
    offsets, failure = place_kernels(requests, dev)
    if failure is not None:
        end = failure.offset + failure.needed
        violations.append(Violation(
            failure.layer, "kernel_memory", end, dev.kernel_words(failure.processor),
            f"layer {failure.layer}: kernel memory exhausted at processor {failure.processor}; "
            f"offset {failure.offset}, needed {failure.needed} words, "
            f"{failure.available} free (ends at word {end:,} > "
            f"{dev.kernel_words(failure.processor):,}, over by "
            f"{end - dev.kernel_words(failure.processor):,})"))
    return offsets, lengths, counts, violations


def _bias_memory(
    layers: list[IzerLayer], masks: list[tuple[int, int]], dev: Device
) -> tuple[BiasPlacement, list[Violation]]:
    """izer's bias placement, and the group-0 / bias-size / bias-memory violations."""
    violations = []
    used = groups_used(masks, dev)
    if 0 not in used:
        violations.append(Violation(None, "group0", 1, 0,
                                    "processor group 0 (processors 0-15) must be used"))
    requests = bias_requests(layers, masks)
    too_big = set()
    for r in requests:
        blen = bias_length(r, dev.shared)
        if r.groups == 1 and blen > dev.bias_bytes_per_group:
            too_big.add(r.name)
            violations.append(Violation(
                r.name, "bias_per_layer", blen, dev.bias_bytes_per_group,
                f"layer {r.name}: {blen:,} bias bytes ({r.out_channels} output channels) > "
                f"{dev.bias_bytes_per_group:,} B of one group's bias memory (over by "
                f"{blen - dev.bias_bytes_per_group:,})"))
    bias = place_biases([r for r in requests if r.name not in too_big], used or [0], dev)
    if bias.failure is not None:
        violations.append(_bias_violation(bias.failure, bias, used, dev))
    return bias, violations


def _bias_violation(
    f: BiasFailure, bias: BiasPlacement, used: list[int], dev: Device
) -> Violation:
    size = dev.bias_bytes_per_group
    if f.processor is not None:
        return Violation(
            f.layer, "bias_layout", 1, 0,
            f"layer {f.layer}: izer's depthwise bias layout fails (IndexError) on the unused "
            f"input processor {f.processor} in group {f.group}; its input processors must "
            f"have no gap there (over by 1)")
    if bias.layer_group.get(f.layer) == DEPTHWISE:
        return Violation(
            f.layer, "bias_memory", bias.group_bytes[f.group] + 1, size,
            f"layer {f.layer}: bias memory of group {f.group} exhausted by this depthwise "
            f"layer's per-group biases: {bias.group_bytes[f.group]:,} of {size:,} B used "
            f"(groups {bias.group_bytes}; over by at least 1)")
    return Violation(
        f.layer, "bias_memory", f.needed, f.free,
        f"layer {f.layer}: bias memory exhausted: needs {f.needed:,} B, group {f.group} has "
        f"{f.free:,} B free of {size:,} (groups used: {used}; over by {f.needed - f.free:,})")


def _latency(
    layers: list[IzerLayer], masks: list[tuple[int, int]], counts: list[int], dev: Device
) -> list[int]:
    """izer's cycle estimate per layer; empty where izer has none (MAX78002)."""
    if not dev.latency_model:
        return []
    return [_cycles(layer, pin, count, dev)
            for layer, (pin, _), count in zip(layers, masks, counts, strict=True)]


def _cycles(layer: IzerLayer, pin: int, count: int, dev: Device) -> int:
    pool = layer.pool or 1
    ph, pw = layer.pooled_hw
    if layer.op == "passthrough":
        per = dev.processors_per_group
        slots = max(
            (-(-bin(pin >> (g * per) & ((1 << per) - 1)).count("1") // 4)
             for g in range(dev.groups)), default=1)
        return passthrough_cycles((ph, pw), pool, layer.in_passes, slots)
    if layer.op == "convtranspose2d":
        return conv_cycles((2 * ph, 2 * pw), layer.out_hw, pool, 3, 2 - layer.pad,
                           layer.in_passes, count // layer.in_passes)
    return conv_cycles((ph, pw), layer.out_hw, pool, layer.kernel, layer.pad, layer.in_passes,
                       count // layer.in_passes)
