"""Quantisation-aware training and the quantisation izer applies, as ai8x does them.

What maps to what (ai8x-training ``ai8x.py`` / ai8x-synthesis ``izer/quantize.py``):

- :func:`fold_bn` = ai8x ``fuse_bn_layers``: ``w' = w * g/4 / sqrt(var + eps)``,
  ``b' = (b - mean) * g/4 / sqrt(var + eps) + beta/4`` per output channel, with ``g = 1``,
  ``beta = 0`` for NoAffine BN; the BN is removed (``block.bn = None``). The /4 is ai8x's BN
  output scaling (see :mod:`nas.models._blocks`). A block without a conv bias gets one.
- :func:`enable_qat` = ai8x ``initiate_qat`` after ``fuse_bn_layers`` (ai8x's train.py does
  both at the QAT start epoch): each block fake-quantises its weights to ``layer.bits`` with the
  per-layer power-of-two scale ``2**shift`` (:func:`~nas.models._blocks.weight_shift`) and
  rounds its activations to the int8 grid (``floor(128 x + .5) / 128``, clamped to
  [0, 127/128] after ReLU, [-1, 127/128] without). Straight-through gradients. Biases are
  quantised to the weight bits with the same scale (ai8x ``initiate_qat`` sets
  ``bias_bits = weight_bits``; izer's ``quantize.py`` does the same).
- :func:`quantize_layer` = izer ``quantize.py`` with its default ``MAX_BIT_SHIFT`` clipping:
  the integers izer writes into the quantised checkpoint, so the exporter and the QAT forward
  share one set of formulas.
"""

from __future__ import annotations

import torch
from torch import nn

from nas.models._blocks import FusedBlock, weight_shift
from nas.spec import WEIGHT_BITS

__all__ = ["clip_low_bit_biases", "enable_qat", "fold_bn", "quantize_layer"]


def _blocks(model: nn.Module) -> list[FusedBlock]:
    return [m for m in model.modules() if isinstance(m, FusedBlock)]


@torch.no_grad()
def fold_bn(model: nn.Module) -> nn.Module:
    """Fold every block's BatchNorm (running statistics, ai8x's /4) into its conv, in place.

    Parameters keep their identity (they are rescaled in place), so an optimizer built on the
    model still points at them; a conv without bias gets a new zero-initialised bias
    parameter. Eval-mode outputs are unchanged. Idempotent.

    Returns:
        ``model``, for chaining.
    """
    for block in _blocks(model):
        bn = block.bn
        if bn is None:
            continue
        conv = block.conv
        # BN layers are built with running statistics (track_running_stats)
        assert bn.running_var is not None and bn.running_mean is not None
        inv_std = torch.rsqrt(bn.running_var + bn.eps)
        gamma = bn.weight if bn.affine else torch.ones_like(inv_std)
        beta = bn.bias if bn.affine else torch.zeros_like(inv_std)
        scale = 0.25 * gamma * inv_std  # per output channel
        # Conv2d weights are [out, in/groups, k, k]; ConvTranspose2d [in, out/groups, k, k].
        dim = 1 if isinstance(conv, nn.ConvTranspose2d) else 0
        shape = [1] * conv.weight.dim()
        shape[dim] = -1
        conv.weight.mul_(scale.reshape(shape).to(conv.weight.dtype))
        if conv.bias is None:
            conv.bias = nn.Parameter(torch.zeros_like(inv_std).to(conv.weight))
        conv.bias.copy_((conv.bias - bn.running_mean) * scale + 0.25 * beta)
        block.bn = None
    return model


def enable_qat(model: nn.Module) -> nn.Module:
    """Switch the model to quantisation-aware training, as ai8x does at its QAT start epoch.

    Folds BN (:func:`fold_bn`), then every block fake-quantises its weights to its layer's bits
    with a per-layer power-of-two scale and rounds its outputs to the int8 activation grid,
    with straight-through gradients. Works in train and eval mode; idempotent.

    Note:
        Under bf16 autocast the conv outputs are rounded to bf16 before the int8 rounding, so
        QAT is only bit-faithful to the chip in float32.

    Returns:
        ``model``, for chaining.
    """
    fold_bn(model)
    for block in _blocks(model):
        block.qat = True
    return model


@torch.no_grad()
def clip_low_bit_biases(model: nn.Module, max_bits: int, weight_quantile: float = 1.0) -> int:
    """Clip every block with ``bits <= max_bits`` to ``[-t, t]``, in place: its bias, and with
    ``weight_quantile < 1`` its weights, where ``t`` is that quantile of ``|w|``.

    A layer's power-of-two scale is set by ``max|w, b|`` (izer, ai8x) and its bias lives on
    the weight-bit grid of that scale. After BN folding some biases are several times the
    largest weight (ai85unetlarge's dec3: 6.8x), so at 2 bits (grid step = half the range)
    every weight of such a layer rounds to 0 and the layer passes on its bias alone; and with
    few levels, a few large weights set a scale at which most others round to 0. Clipped, the
    bulk of the weights sets the scale; QAT learns around the clipped values. Applied to the
    stored float parameters (after every optimiser step), so izer's own ``quantize.py`` and
    our exporter compute the same scale from them.

    Returns:
        the number of values clipped.
    """
    clipped = 0
    for block in _blocks(model):
        w, b = block.conv.weight, block.conv.bias
        if block.bits > max_bits:
            continue
        a = w.abs().flatten().float()
        t = a.max() if weight_quantile >= 1 else torch.quantile(a, weight_quantile)
        t = t.to(w.dtype)
        clipped += int((a > t).sum())
        w.clamp_(-t, t)
        if b is not None:
            clipped += int((b.abs() > t).sum())
            b.clamp_(-t, t)
    return clipped


def quantize_layer(
    weight: torch.Tensor, bias: torch.Tensor | None, bits: int = 8
) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """The integers izer's ``quantize.py`` (default MAX_BIT_SHIFT clipping) makes of a layer.

    With ``shift = floor(log2(1 / max|w, b|))`` clamped to ``[-7 - bits, 23 - bits]``
    (:func:`~nas.models._blocks.weight_shift`) and ``q = 2**(bits-1)``:

    - ``w_int = clamp(floor(w * q * 2**shift + .5), -q, q - 1)``
    - ``b_int = clamp(floor(b * q * 2**shift + .5), -q, q - 1)`` (same scale and bits)
    - ``output_shift = -shift``

    izer's quantised checkpoint stores ``w_int`` as float tensors, the bias as
    ``b_int * 2**(bits-8) * 128 = b_int * q`` (its ``checkpoint.py`` divides by ``q`` again
    when loading), ``<layer>.output_shift`` as ``[float(output_shift)]`` and
    ``<layer>.weight_bits`` / ``bias_bits`` as ``[float(bits)]``. The floats the chip computes
    with are ``w_int / q / 2**shift`` and ``b_int / q / 2**shift``: what QAT trains.

    Args:
        weight: the (BN-folded) float weight of one layer, any shape.
        bias: its bias, or None.
        bits: weight bits, one of 1, 2, 4, 8.

    Returns:
        ``(w_int, b_int, output_shift)``; the tensors are int64 (``b_int`` None without bias).
    """
    if bits not in WEIGHT_BITS:
        raise ValueError(f"bits must be one of {WEIGHT_BITS}, but got bits={bits}")
    weight = weight.detach().float()
    bias = None if bias is None else bias.detach().float()
    shift = weight_shift(weight, bias, bits)
    factor = torch.exp2(shift)
    lim = 2 ** (bits - 1)
    # izer: factor * w (exact: powers of two), then .add(.5).floor().clamp(...)
    w_int = torch.floor(weight * (factor * lim) + 0.5).clamp_(-lim, lim - 1).long()
    b_int = None
    if bias is not None:
        b_int = torch.floor(bias * factor * lim + 0.5).clamp_(-lim, lim - 1).long()
    return w_int, b_int, int(-shift.item())
