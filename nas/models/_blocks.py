"""One chip layer as a PyTorch module, shaped like ai8x's fused QAT layers.

A :class:`FusedBlock` is what ai8x-training calls ``FusedConv2dBNReLU``,
``FusedMaxPoolConv2dBNReLU``, ``FusedConv2dBN`` or ``ConvTranspose2d``: optional 2x2 max-pool,
conv (or transposed conv), optional BatchNorm, optional ReLU, then the activation clamp every
ai8x layer applies. The ai8x details kept here, because they change the trained weights:

- BatchNorm uses ``eps=1e-5, momentum=0.05`` and its output is divided by 4 (ai8x
  ``QuantizationAwareModule.forward``: ``self.bn(x).div(4.)``); :func:`nas.models.fold_bn`
  folds that factor into the conv like ai8x's ``fuse_bn_layers``.
- Every layer's output is clamped to the int8 activation range [-1, 127/128] (ReLU:
  [0, 127/128]), in float training too (ai8x ``quantize_clamp`` with ``wide=False``). That
  includes the classifier: the chip's last layer writes int8 unless it is a 32-bit "wide"
  layer, and ai8x's ai85unetlarge trains its last layer non-wide.
- In QAT mode (:func:`nas.models.enable_qat`) weights and biases are fake-quantised with a
  per-layer power-of-two scale and activations are rounded to the 1/128 grid.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from nas.spec import Layer

BN_EPS = 1e-5
BN_MOMENTUM = 0.05
BN_SCALE = 0.25  # ai8x divides every BN output by 4
ACT_SCALE = 128.0  # int8 activations: value = int / 128
ACT_MAX = 127.0 / 128.0


class _RoundSTE(torch.autograd.Function):
    """``floor(x * scale + 0.5) / scale`` forward (ai8x rounds half up), identity backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:  # type: ignore[override]
        # In float32 even under bf16 autocast: "+ 0.5" would round in bf16 above 64/scale.
        # The grid values k/128 (|k| <= 128) are exact in bf16 again.
        return torch.floor(x.float() * scale + 0.5).div_(scale).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return grad, None


def round_ste(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Round ``x`` to the grid ``1/scale`` (half up) with a straight-through gradient."""
    return _RoundSTE.apply(x, scale)


def weight_shift(
    weight: torch.Tensor, bias: torch.Tensor | None, bits: int = 8
) -> torch.Tensor:
    """Per-layer power-of-two exponent ``shift`` so that ``max|w, b| * 2**shift`` is in [0.5, 1).

    ``shift = floor(log2(1 / max|w, b|))`` clamped to ``[-7 - bits, 23 - bits]`` ([-15, 15] at
    8 bits), computed in the parameters' dtype (float32 for a checkpoint) exactly as izer's
    ``get_max_bit_shift`` with ``shift_quantile = 1``; ai8x's QAT (``OutputShiftLimit``) uses the
    same value at 8 bits. The clamp only matters for layers whose parameters are all below
    2**-16 or above 2**15. The chip's ``output_shift`` is ``-shift``. Returned as a 0-d tensor
    without gradient.
    """
    with torch.no_grad():
        m = weight.detach().abs().amax()
        if bias is not None:
            m = torch.maximum(m, bias.detach().abs().amax())
        return torch.floor(torch.log2(1.0 / m)).clamp_(-7.0 - bits, 23.0 - bits)


class FusedBlock(nn.Module):
    """Max-pool -> conv -> BN (/4) -> ReLU -> int8 clamp, as one chip layer.

    Attributes:
        layer: the spec's :class:`~nas.spec.Layer` this block implements.
        pool: ``MaxPool2d(2, 2)`` fused before the conv, or None.
        conv: ``Conv2d`` (k x k, stride 1, 'same' padding, ``groups`` from the layer) or
            ``ConvTranspose2d`` (3x3, stride 2, padding 1, output_padding 1).
        bn: ``BatchNorm2d`` (``affine=False`` for ai8x's "NoAffine"), or None once folded.
        relu: whether ReLU follows.
        qat: fake-quantise weights and activations (set by :func:`nas.models.enable_qat`).
    """

    _bn_quarter: torch.Tensor  # a buffer (registered in __init__)

    def __init__(self, layer: Layer, batchnorm: str = "noaffine") -> None:
        super().__init__()
        self.layer = layer
        self.relu = layer.relu
        self.bits = layer.bits
        self.qat = False
        self.pool = nn.MaxPool2d(2, 2) if layer.pool else None
        if layer.op == "convtranspose2d":
            self.conv: nn.Conv2d | nn.ConvTranspose2d = nn.ConvTranspose2d(
                layer.in_channels, layer.out_channels, 3, stride=2, padding=1,
                output_padding=1, bias=layer.bias,
            )
        elif layer.op == "conv2d":
            self.conv = nn.Conv2d(
                layer.in_channels, layer.out_channels, layer.kernel,
                padding=layer.padding, bias=layer.bias, groups=layer.groups,
            )
        else:
            raise ValueError(
                f"layer {layer.name}: op must be 'conv2d' or 'convtranspose2d', "
                f"but got op={layer.op!r}"
            )
        self.bn = (
            nn.BatchNorm2d(layer.out_channels, eps=BN_EPS, momentum=BN_MOMENTUM,
                           affine=batchnorm == "affine")
            if layer.bn and batchnorm != "none" else None
        )
        # NoAffine BN: the /4 rides along as a constant BN weight so BN + /4 is one kernel.
        self.register_buffer(
            "_bn_quarter", torch.full((layer.out_channels,), BN_SCALE), persistent=False
        )
        self._lo = 0.0 if self.relu else -1.0
        self._transposed = isinstance(self.conv, nn.ConvTranspose2d)

    def extra_repr(self) -> str:
        return f"{self.layer.name!r}, relu={self.relu}, bits={self.bits}, qat={self.qat}"

    def quantized_parameters(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Fake-quantised (weight, bias) as the chip computes with them, in float.

        ``w_q = clamp(floor(w * 2**shift * 2**(bits-1) + .5)) / 2**(bits-1) / 2**shift``, the
        bias likewise (ai8x's QAT and izer quantise biases to the weight bits). Multiplying
        back by ``2**-shift`` here equals ai8x's scaling of the conv output by
        ``2**output_shift`` (powers of two are exact). Gradients pass straight through inside
        the clamp range.
        """
        w, b = self.conv.weight, self.conv.bias
        lim = float(2 ** (self.bits - 1))
        scale = torch.exp2(weight_shift(w, b, self.bits)) * lim
        wq = round_ste(torch.clamp(w * scale, -lim, lim - 1), 1.0) / scale
        if b is None:
            return wq, None
        return wq, round_ste(torch.clamp(b * scale, -lim, lim - 1), 1.0) / scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = F.max_pool2d(x, 2, 2)
        if self.qat:
            w, b = self.quantized_parameters()
        else:
            w, b = self.conv.weight, self.conv.bias
        if self._transposed:
            x = F.conv_transpose2d(x, w, b, 2, 1, 1)
        else:
            conv = self.conv
            x = F.conv2d(x, w, b, 1, conv.padding, 1, conv.groups)
        bn = self.bn
        if bn is not None:
            if bn.affine:
                weight, bias = bn.weight * BN_SCALE, bn.bias * BN_SCALE
            else:
                weight, bias = self._bn_quarter, None
            x = F.batch_norm(x, bn.running_mean, bn.running_var, weight, bias, self.training,
                             cast(float, bn.momentum), bn.eps)
        # ReLU and the int8 clamp are one op: clamp to [0, 127/128] or [-1, 127/128].
        x = F.hardtanh(x, self._lo, ACT_MAX, inplace=True)
        if self.qat:
            x = round_ste(x, ACT_SCALE)
        return x
