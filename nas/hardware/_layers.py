"""The izer-level layer list: the spec's chip layers plus the copy layers concats need.

A concatenation of more than 64 channels is a multi-pass input, and izer realises it by
interleaving the parts' words (``write_gap: 1``). The encoder output that forms the skip part is
also read un-gapped by the next encoder level, and MAX78000 has no ``read_gap``, so an extra
copy layer writes it into the gapped slots, exactly like ai8x's CamVid U-Net ``pt`` layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from nas.spec import DEFAULT_INPUT_SIZE, ArchSpec

PASSTHROUGH_MODES = ("fakept", "true")


@dataclass(frozen=True)
class IzerLayer:
    """One izer layer (one YAML ``layers`` entry) with its geometry.

    Attributes:
        name: the spec layer's name, or ``pt``/``pt<level>`` for a copy layer.
        op: ``"conv2d"``, ``"convtranspose2d"`` or ``"passthrough"`` (YAML ``operation: None``).
        in_channels, out_channels: channels (``in_channels`` of a concat is the sum).
        kernel: 1 or 3 (0 for passthrough).
        pad: PyTorch padding (izer flips it to ``2 - pad`` for ConvTranspose2d).
        pool: 0, or 2 for a fused 2x2/2 max-pool before the conv.
        relu: ReLU activation (else none).
        bias: the layer has (non-zero) biases.
        groups: convolution groups (``in_channels`` for depthwise).
        bits: weight bits.
        inputs: producer names in concat order; empty = the network input.
        in_hw: input (H, W) before pooling.
        out_hw: output (H, W).
        copy_of: for a copy layer, the layer whose output it copies.
    """

    name: str
    op: str
    in_channels: int
    out_channels: int
    kernel: int
    pad: int
    pool: int
    relu: bool
    bias: bool
    groups: int
    bits: int
    inputs: tuple[str, ...]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    copy_of: str | None = None

    @property
    def pooled_hw(self) -> tuple[int, int]:
        """izer's pooled dims: ``(H + stride - pool) // stride``."""
        if not self.pool:
            return self.in_hw
        return (self.in_hw[0] // self.pool, self.in_hw[1] // self.pool)

    @property
    def weight_count(self) -> int:
        if self.op == "passthrough":
            return 0
        return self.in_channels // self.groups * self.out_channels * self.kernel * self.kernel

    @property
    def weight_bytes(self) -> int:
        """This layer's share of izer's "Weight memory" figure."""
        return self.weight_count * self.bits // 8

    @property
    def in_passes(self) -> int:
        return -(-self.in_channels // 64)

    @property
    def out_passes(self) -> int:
        return -(-self.out_channels // 64)


def _threshold(channels: int) -> int:
    """Processors per pass (izer ``in/out_expand_thresh``)."""
    passes = -(-channels // 64)
    thresh = -(-channels // passes)
    if channels > 64:
        thresh = min((thresh + 3) & ~3, 64)
    return thresh


def passes_and_threshold(channels: int) -> tuple[int, int]:
    return -(-channels // 64), _threshold(channels)


def izer_layers(
    spec: ArchSpec, input_size: tuple[int, int] = DEFAULT_INPUT_SIZE, passthrough: str = "fakept"
) -> list[IzerLayer]:
    """The layers izer sees for ``spec`` at the folded chip input ``input_size`` (H, W).

    Args:
        spec: the architecture.
        input_size: folded input rows and columns (88x88 for 352x352 RGB at fold 4).
        passthrough: ``"fakept"`` (ai8x's 1x1 identity conv, the demo path) or ``"true"``
            (izer's real passthrough) for the copy layers.
    """
    if passthrough not in PASSTHROUGH_MODES:
        raise ValueError(
            f"passthrough must be one of {PASSTHROUGH_MODES}, but got {passthrough!r}"
        )
    h, w = int(input_size[0]), int(input_size[1])
    if h < 1 or w < 1:
        raise ValueError(f"input_size must be positive, but got {input_size}")
    spec_layers = spec.layers()
    channels = {layer.name: layer.out_channels for layer in spec_layers}
    # concats of > 64 channels: consumer -> (upconv, skip)
    wide = {}
    for layer in spec_layers:
        if len(layer.inputs) > 1 and layer.in_channels > 64:
            wide[layer.inputs[0]] = layer.inputs[1]
    n_copies = len(wide)
    copy_name: dict[str, str] = {}
    for up, skip in wide.items():
        level = up.removeprefix("upconv")
        copy_name[skip] = "pt" if n_copies == 1 else f"pt{level}"

    hw: dict[str, tuple[int, int]] = {}
    out: list[IzerLayer] = []
    for layer in spec_layers:
        if layer.op == "convtranspose2d" and layer.name in wide:
            skip = wide[layer.name]
            shw = hw[skip]
            out.append(IzerLayer(
                name=copy_name[skip],
                op="conv2d" if passthrough == "fakept" else "passthrough",
                in_channels=channels[skip], out_channels=channels[skip],
                kernel=1 if passthrough == "fakept" else 0, pad=0, pool=0, relu=False,
                bias=False, groups=1, bits=8, inputs=(skip,), in_hw=shw, out_hw=shw,
                copy_of=skip,
            ))
            hw[copy_name[skip]] = shw
        inputs = layer.inputs
        if len(inputs) > 1 and layer.in_channels > 64:
            inputs = (inputs[0],) + tuple(copy_name.get(n, n) for n in inputs[1:])
        in_hw = hw[layer.inputs[0]] if layer.inputs else (h, w)
        ph, pw = (in_hw[0] // 2, in_hw[1] // 2) if layer.pool else in_hw
        out_hw = (2 * ph, 2 * pw) if layer.op == "convtranspose2d" else (ph, pw)
        pad = 1 if layer.op == "convtranspose2d" else layer.padding
        out.append(IzerLayer(
            name=layer.name, op=layer.op, in_channels=layer.in_channels,
            out_channels=layer.out_channels, kernel=layer.kernel, pad=pad, pool=layer.pool,
            relu=layer.relu, bias=layer.bias, groups=layer.groups, bits=layer.bits,
            inputs=inputs, in_hw=in_hw, out_hw=out_hw,
        ))
        hw[layer.name] = out_hw
    return out
