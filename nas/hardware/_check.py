"""``check(spec)``: everything izer would reject, plus a liveness-safe memory plan."""

from __future__ import annotations

from nas.hardware._bias import BiasRequest, bias_length, place_biases
from nas.hardware._device import Device, get_device
from nas.hardware._kernels import KernelRequest, kernel_length, place_kernels
from nas.hardware._latency import STARTUP_CYCLES, conv_cycles, passthrough_cycles
from nas.hardware._layers import IzerLayer, izer_layers, passes_and_threshold
from nas.hardware._plan import PlanError, plan_memory, processor_masks
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
            dims = {hw[i] for i in layer.inputs}
            if len(dims) > 1:
                out.append(Violation(n, "concat_shape", len(dims), 1,
                                     f"layer {n}: concatenated inputs {list(layer.inputs)} have "
                                     f"different sizes {sorted(dims)}"))
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
    device: str | Device = "MAX78000",
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
    device: str | Device = "MAX78000",
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
    input_size = layers[0].in_hw
    violations = list(extra or []) + _structure(layers, dev)
    structural = bool(violations)

    # data memory: izer's per-instance size checks (at offset 0), then the plan
    cap = dev.instance_bytes
    data_ok = True
    in_bytes, out_bytes = [], []
    for layer in layers:
        ib = layer.in_hw[0] * layer.in_hw[1] * layer.in_passes * 4
        ob = layer.out_hw[0] * layer.out_hw[1] * layer.out_passes * 4
        in_bytes.append(ib)
        out_bytes.append(ob)
        if ib > cap:
            data_ok = False
            violations.append(Violation(
                layer.name, "data_memory_input", ib, cap,
                f"layer {layer.name}: input {layer.in_hw[0]}x{layer.in_hw[1]} x "
                f"{layer.in_passes} pass(es) x 4 B = {ib:,} B > {cap:,} B data-memory instance "
                f"(over by {ib - cap:,})"))
        if ob > cap:
            data_ok = False
            px = layer.out_hw[0] * layer.out_hw[1]
            fit = cap // (px * 4)
            violations.append(Violation(
                layer.name, "data_memory_output", ob, cap,
                f"layer {layer.name}: output of {layer.out_channels} channels = "
                f"{layer.out_passes} pass(es) of 64 at {layer.out_hw[0]}x{layer.out_hw[1]} "
                f"needs {ob:,} B per instance > {cap:,} B (over by {ob - cap:,}); at this "
                f"size at most {fit} pass(es) = {64 * fit} channels fit on {dev.name}"))

    plan = None
    if data_ok and not structural:
        try:
            plan = plan_memory(layers, dev, input_channels)
        except PlanError as e:
            violations.append(Violation(e.layer, "data_memory_plan", e.needed, e.available,
                                        f"{e} (over by {e.needed - e.available:,} B)"))

    # processor masks: the layout every other figure depends on (the plan's, if there is one)
    masks = plan.masks() if plan is not None else processor_masks(layers, input_channels)

    # kernel memory
    requests, lengths, counts = [], [], []
    for layer, (pin, pout) in zip(layers, masks, strict=True):
        if layer.op == "passthrough":
            length, count = 0, 0
        else:
            length, count = kernel_length(layer.kernel, layer.bits, layer.in_passes,
                                          layer.out_passes, pout, layer.groups)
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
    weight_bytes = sum(layer.weight_bytes for layer in layers)

    # bias memory
    used = masks[-1][1]
    for pin, _ in masks:
        used |= pin
    per = dev.processors_per_group
    groups_used = [g for g in range(dev.groups) if used >> (g * per) & ((1 << per) - 1)]
    if 0 not in groups_used:
        violations.append(Violation(None, "group0", 1, 0,
                                    "processor group 0 (processors 0-15) must be used"))
    brequests = []
    for layer, (pin, pout) in zip(layers, masks, strict=True):
        if not layer.bias or layer.op == "passthrough":
            continue
        passes, thresh = passes_and_threshold(layer.out_channels)
        brequests.append(BiasRequest(layer.name, layer.out_channels, passes, thresh, pin, pout,
                                     layer.groups))
    too_big = set()
    for r in brequests:
        blen = bias_length(r, dev.shared)
        if r.groups == 1 and blen > dev.bias_bytes_per_group:
            too_big.add(r.name)
            violations.append(Violation(
                r.name, "bias_per_layer", blen, dev.bias_bytes_per_group,
                f"layer {r.name}: {blen:,} bias bytes ({r.out_channels} output channels) > "
                f"{dev.bias_bytes_per_group:,} B of one group's bias memory (over by "
                f"{blen - dev.bias_bytes_per_group:,})"))
    bias = place_biases([r for r in brequests if r.name not in too_big], groups_used or [0], dev)
    if bias.failure is not None:
        name, needed, group, free = bias.failure
        violations.append(Violation(
            name, "bias_memory", needed, free,
            f"layer {name}: bias memory exhausted: needs {needed:,} B, group {group} has "
            f"{free:,} B free of {dev.bias_bytes_per_group:,} (groups used: {groups_used}; "
            f"over by {needed - free:,})"))

    # latency (izer's estimate, MAX78000 only)
    layer_cycles: list[int] = []
    latency = None
    if dev.latency_model and not structural:
        for layer, (pin, _), count in zip(layers, masks, counts, strict=True):
            layer_cycles.append(_cycles(layer, pin, count, dev))
        latency = STARTUP_CYCLES + sum(layer_cycles)

    figures = [
        LayerFigures(
            name=layer.name, kernel_offset=offsets[i], kernel_length=lengths[i],
            bias_group=bias.layer_group.get(layer.name), bias_bytes=bias.layer_bytes.get(
                layer.name, 0),
            in_bytes=in_bytes[i], out_bytes=out_bytes[i],
            cycles=layer_cycles[i] if layer_cycles else None,
            processors=masks[i][0], output_processors=masks[i][1],
        )
        for i, layer in enumerate(layers)
    ]
    return HardwareReport(
        device=dev.name, input_size=input_size, passthrough=passthrough,
        violations=violations, weight_bytes=weight_bytes,
        weight_bytes_total=dev.kernel_bytes_total, bias_bytes=sum(bias.group_bytes),
        bias_bytes_total=dev.bias_bytes_total, bias_groups=list(bias.group_bytes),
        kernel_offsets=offsets, kernel_lengths=lengths, kernel_words=dev.kernel_words_small,
        latency_cycles=latency, layer_cycles=layer_cycles, cnn_clock_hz=dev.cnn_clock_hz,
        layers=layers, figures=figures, plan=plan,
    )


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
