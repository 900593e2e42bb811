"""Integer simulation of an exported network, with the chip's (and izer's) arithmetic.

Per layer (izer ``simulate.py`` semantics, MAX78000/MAX78002 8-bit data)::

    x   = concat(inputs)                       int8 values, channels in ``in_sequences`` order
    x   = maxpool2x2(x)                        if the layer pools (before the conv)
    acc = conv(x, w_int) + bias_int * 128      exact integers (ConvTranspose2d: stride 2, pad 1,
                                               output_pad 1, as PyTorch)
    y   = floor(0.5 + acc * 2**shift / 128)    shift = output_shift + 8 - weight_bits
                                               (the implicit shift izer adds at low bits)
    y   = clip(y, -128, 127); ReLU: clip(y, 0, 127)

``bias_int = floor(bias_ckpt / 2**(weight_bits - 1))`` undoes the scaling quantize.py applies.
izer's copy ('fakept') layer is an exact identity (64 * x * 2 / 128 = x for every int8 x), so
the simulation runs on the spec's own layers.

Convolutions run in float64 on integer values; every accumulator here is far below 2**53, so
the results are exact.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from nas.spec import ArchSpec, Layer


def _layer_tensors(
    qsd: Mapping[str, torch.Tensor], layer: Layer
) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    name = layer.name
    try:
        w = qsd[f"{name}.op.weight"].to(torch.float64)
    except KeyError:
        raise ValueError(f"quantised state_dict has no weights for layer {name!r}") from None
    wb = int(qsd[f"{name}.weight_bits"].item()) if f"{name}.weight_bits" in qsd else 8
    wb = wb or 8
    # izer (checkpoint.py): a layer without a YAML ``quantization`` gets weight_bits, except
    # that all-zero weights count as 1 bit (implicit shift 7). Our YAML states
    # ``quantization`` for every layer below 8 bits, and izer then keeps it even when all
    # weights round to zero (likely at 1-2 bits); only 8-bit layers can fall to 1.
    quant = 1 if wb == 8 and bool((w == 0).all()) else wb
    shift = int(qsd[f"{name}.output_shift"].item()) if f"{name}.output_shift" in qsd else 0
    shift += 8 - quant
    b = qsd.get(f"{name}.op.bias")
    bias = None
    if b is not None:
        bias = torch.floor(b.to(torch.float64) / 2 ** (wb - 1)) * 128
    return w, bias, shift


def simulate_layer(layer: Layer, x: torch.Tensor, qsd: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """One layer on a float64 tensor of int8 values ``[C, H, W]``; returns int8 values."""
    w, bias, shift = _layer_tensors(qsd, layer)
    x = x.unsqueeze(0)
    if layer.pool:
        x = F.max_pool2d(x, layer.pool, layer.pool)
    if layer.op == "convtranspose2d":
        acc = F.conv_transpose2d(x, w, bias, stride=2, padding=1, output_padding=1,
                                 groups=layer.groups)
    else:
        acc = F.conv2d(x, w, bias, padding=layer.padding, groups=layer.groups)
    y = torch.floor(0.5 + acc * (2.0**shift) / 128.0).clamp(-128, 127)
    if layer.relu:
        y = y.clamp(0, 127)
    return y.squeeze(0)


def simulate_int8(
    spec: ArchSpec, qsd: Mapping[str, torch.Tensor], sample: np.ndarray
) -> dict[str, np.ndarray]:
    """Run the quantised network on ``sample`` (int CHW in [-128, 127]).

    Returns:
        Every layer's output (int64 ``[C, H, W]``) by layer name, in execution order; the last
        entry is the network output izer's ``sampleoutput.h`` holds.
    """
    sample = np.asarray(sample)
    if sample.ndim != 3 or sample.shape[0] != spec.input_channels:
        raise ValueError(f"sample must be CHW with {spec.input_channels} channels, but got "
                         f"shape {sample.shape}")
    if sample.min() < -128 or sample.max() > 127:
        raise ValueError("sample values must lie in [-128, 127], but got "
                         f"[{sample.min()}, {sample.max()}]")
    outs: dict[str, torch.Tensor] = {}
    x0 = torch.from_numpy(sample.astype(np.float64))
    for layer in spec.layers():
        if not layer.inputs:
            x = x0
        else:
            x = torch.cat([outs[n] for n in layer.inputs], dim=0)
        outs[layer.name] = simulate_layer(layer, x, qsd)
    return {k: v.to(torch.int64).numpy() for k, v in outs.items()}
