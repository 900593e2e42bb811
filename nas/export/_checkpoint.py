"""ai8x-training float checkpoints and ai8x-synthesis quantised checkpoints.

Both hold only tensors, dicts, ints, floats and strings, so ``torch.load`` with its default
``weights_only=True`` (torch >= 2.6) reads them without any environment flag.

Per layer, the keys follow ai8x's ``QuantizationAwareModule`` in registration order:
``output_shift, weight_bits, bias_bits, quantize_activation, adjust_output_shift,
shift_quantile, op.weight[, op.bias]``. BatchNorm is folded (as ai8x's ``fuse_bn_layers`` does
when QAT starts), so there are no ``bn.*`` keys.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from nas.models import quantize_layer as models_quantize_layer
from nas.models._blocks import weight_shift
from nas.spec import ArchSpec

# izer's MAX_BIT_SHIFT clipping (izer/quantize.py): shift = floor(log2(1/max|w, b|)), clamped.
_ACTIVATION_SCALE = 128  # bias is stored x 2**(activation bits - 1)
_FAKEPT_WEIGHT = 64  # identity 1x1 kernel: y = 64 * x * 2**1 / 128 = x
_FAKEPT_SHIFT = 1


@dataclass(frozen=True)
class LayerParams:
    """Float parameters of one chip layer with BatchNorm folded in.

    Attributes:
        weight: conv weight, ``[out, in/groups, k, k]`` (ConvTranspose2d: ``[in, out, 3, 3]``).
        bias: ``[out]`` or None.
        bits: weight bits (1, 2, 4 or 8).
    """

    weight: torch.Tensor
    bias: torch.Tensor | None
    bits: int


@dataclass(frozen=True)
class CopyLayer:
    """An izer copy layer (the 'fakept' trick): a 1x1 identity conv with ``channels`` outputs,
    placed in the state_dict just before ``before`` (izer maps weights to YAML layers by
    state_dict order)."""

    name: str
    channels: int
    before: str


def random_layer_params(spec: ArchSpec, seed: int = 0) -> dict[str, LayerParams]:
    """PyTorch-default-initialised layers (folded BN = identity), for hardware-only exports."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, LayerParams] = {}
    for layer in spec.layers():
        fan_in = layer.in_channels // layer.groups * layer.kernel * layer.kernel
        bound = 1.0 / math.sqrt(fan_in)
        if layer.op == "convtranspose2d":
            shape = (layer.in_channels, layer.out_channels, layer.kernel, layer.kernel)
            # PyTorch's ConvTranspose2d fan-in uses the dim 1 (output) channels
            bound = 1.0 / math.sqrt(layer.out_channels * layer.kernel * layer.kernel)
        else:
            shape = (layer.out_channels, layer.in_channels // layer.groups, layer.kernel,
                     layer.kernel)
        w = (torch.rand(shape, generator=gen) * 2 - 1) * bound
        has_bias = layer.bias or layer.bn
        b = (torch.rand(layer.out_channels, generator=gen) * 2 - 1) * bound if has_bias else None
        out[layer.name] = LayerParams(w, b, layer.bits)
    return out


def layer_params_from_ai8x(
    spec: ArchSpec, state_dict: Mapping[str, torch.Tensor]
) -> dict[str, LayerParams]:
    """Folded float parameters from an ai8x-training checkpoint (BN already fused, as ai8x
    saves after its QAT start), matched to ``spec``'s layers by order and checked by shape.

    ai8x names may differ from ours (ai85unetlarge's ``dec0`` is our ``dec1_1``); the order of
    the ``*.op.weight`` keys is what izer uses too.
    """
    if any(".bn." in k for k in state_dict):
        raise ValueError("the ai8x checkpoint still has BatchNorm keys; fuse BN first (ai8x "
                         "does at its QAT start epoch)")
    keys = [k for k in state_dict if k.endswith(".op.weight")]
    layers = spec.layers()
    if len(keys) != len(layers):
        raise ValueError(f"the ai8x checkpoint has {len(keys)} weight layers, {spec.name} has "
                         f"{len(layers)}")
    out = {}
    for key, layer in zip(keys, layers, strict=True):
        prefix = key[: -len(".op.weight")]
        w = state_dict[key].to(torch.float32)
        if layer.op == "convtranspose2d":
            shape = (layer.in_channels, layer.out_channels // layer.groups, 3, 3)
        else:
            shape = (layer.out_channels, layer.in_channels // layer.groups, layer.kernel,
                     layer.kernel)
        if tuple(w.shape) != shape:
            raise ValueError(f"{key}: shape {tuple(w.shape)} does not match layer "
                             f"{layer.name} {shape}")
        bits_key = f"{prefix}.weight_bits"
        bits = int(state_dict[bits_key].item()) if bits_key in state_dict else layer.bits
        out[layer.name] = LayerParams(w, state_dict.get(f"{prefix}.op.bias"), bits or 8)
    return out


def _output_shift(weight: torch.Tensor, bias: torch.Tensor | None) -> float:
    """ai8x's OutputShiftLimit: -floor(log2(1 / max|w, b|)) clamped to [-15, 15] (8-bit rule)."""
    return float(-weight_shift(weight.float(), None if bias is None else bias.float(), 8))


def _t(value: float) -> torch.Tensor:
    return torch.tensor([float(value)], dtype=torch.float32)


def float_state_dict(params: Mapping[str, LayerParams]) -> OrderedDict[str, torch.Tensor]:
    """ai8x-training state_dict (after BN fusion, QAT enabled) for the generated module."""
    sd: OrderedDict[str, torch.Tensor] = OrderedDict()
    for name, p in params.items():
        sd[f"{name}.output_shift"] = _t(_output_shift(p.weight, p.bias))
        sd[f"{name}.weight_bits"] = _t(p.bits)
        sd[f"{name}.bias_bits"] = _t(p.bits)
        sd[f"{name}.quantize_activation"] = _t(1)
        sd[f"{name}.adjust_output_shift"] = _t(1)
        sd[f"{name}.shift_quantile"] = _t(1)
        sd[f"{name}.op.weight"] = p.weight.detach().to(torch.float32).clone()
        if p.bias is not None:
            sd[f"{name}.op.bias"] = p.bias.detach().to(torch.float32).clone()
    return sd


def quantize_layer(
    weight: torch.Tensor, bias: torch.Tensor | None, bits: int
) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """izer's ``quantize.py`` (MAX_BIT_SHIFT, shift quantile 1) for one layer, as it stores it.

    The integers come from :func:`nas.models.quantize_layer` (the same math QAT trains with);
    this only converts them to izer's checkpoint form.

    Returns:
        (integer-valued float32 weight, bias as izer stores it (x 2**(bits-8) x 128),
        output_shift). Powers of two only, so the floats are exact: bit-identical to izer.
    """
    w_int, b_int, shift = models_quantize_layer(weight, bias, bits)
    b = None if b_int is None else b_int.float() * 2 ** (bits - 8) * _ACTIVATION_SCALE
    return w_int.float(), b, shift


def quantized_state_dict(
    float_sd: Mapping[str, torch.Tensor], copies: tuple[CopyLayer, ...] = ()
) -> OrderedDict[str, torch.Tensor]:
    """What izer's ``quantize.py`` (then ``add_fake_passthrough.py`` per copy layer) writes."""
    sd: OrderedDict[str, torch.Tensor] = OrderedDict(float_sd)
    layers = [k[: -len(".op.weight")] for k in float_sd if k.endswith(".op.weight")]
    for name in layers:
        bits = int(float_sd[f"{name}.weight_bits"].item())
        w, b, shift = quantize_layer(float_sd[f"{name}.op.weight"],
                                     float_sd.get(f"{name}.op.bias"), bits)
        sd[f"{name}.op.weight"] = w
        if b is not None:
            sd[f"{name}.op.bias"] = b
            sd[f"{name}.bias_bits"] = _t(bits)
        sd[f"{name}.output_shift"] = _t(shift)
        sd[f"{name}.adjust_output_shift"] = _t(0)
        sd[f"{name}.quantize_activation"] = _t(1)
    for copy in copies:
        sd = _insert_copy_layer(sd, copy)
    return sd


def _insert_copy_layer(
    sd: OrderedDict[str, torch.Tensor], copy: CopyLayer
) -> OrderedDict[str, torch.Tensor]:
    """Append the identity layer's keys, then move ``before``..end behind them, as
    add_fake_passthrough.py does, so the copy sits right before ``before``."""
    if not any(k.startswith(f"{copy.before}.") for k in sd):
        raise ValueError(f"copy layer {copy.name!r} must precede layer {copy.before!r}, "
                         "which has no weights in the checkpoint")
    weight = torch.zeros(copy.channels, copy.channels, 1, 1)
    idx = torch.arange(copy.channels)
    weight[idx, idx] = _FAKEPT_WEIGHT
    new = OrderedDict(sd)
    new[f"{copy.name}.output_shift"] = _t(_FAKEPT_SHIFT)
    new[f"{copy.name}.weight_bits"] = _t(8)
    new[f"{copy.name}.bias_bits"] = _t(8)
    new[f"{copy.name}.quantize_activation"] = _t(1)
    new[f"{copy.name}.adjust_output_shift"] = _t(0)
    new[f"{copy.name}.shift_quantile"] = _t(1)
    new[f"{copy.name}.op.weight"] = weight
    moving = False
    for key in list(new):
        if not moving and key.startswith(f"{copy.before}."):
            moving = True
        if moving and key.startswith(f"{copy.name}."):
            moving = False
        if moving:
            new.move_to_end(key)
    return new


def checkpoint_dict(
    state_dict: Mapping[str, torch.Tensor],
    arch: str,
    epoch: int,
    extras: dict | None = None,
) -> dict:
    """The ai8x-training checkpoint layout izer reads: state_dict, arch, epoch, extras."""
    return {
        "epoch": int(epoch),
        "state_dict": OrderedDict(state_dict),
        "arch": arch,
        "extras": dict(extras or {}),
    }
