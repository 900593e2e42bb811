"""QAT at 1, 2 and 4 bits: ai8x's per-layer weight_bits, bias_bits = weight_bits."""

from __future__ import annotations

import pytest
import torch

from nas.models import build_model, clip_low_bit_biases, enable_qat, quantize_layer
from nas.spec import get_reference, with_inner_bits


@pytest.fixture(scope="module")
def w4_model():
    torch.manual_seed(0)
    spec = get_reference("unetmysmall-w4")
    model = build_model(spec)
    with torch.no_grad():
        for block in model.blocks.values():
            block.conv.weight.uniform_(-0.7, 0.7)
            block.conv.bias.uniform_(-0.1, 0.1)
    return spec, enable_qat(model.eval())


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_fake_quantised_weights_take_at_most_2_to_the_bits_levels(bits):
    torch.manual_seed(1)
    spec = with_inner_bits(get_reference("ai85unetlarge"), bits)
    model = enable_qat(build_model(spec).eval())
    block = model.blocks["enc2"]
    assert block.bits == bits
    w, b = block.quantized_parameters()
    # levels k / 2**(bits-1) / 2**shift for k in [-2**(bits-1), 2**(bits-1) - 1]
    levels = torch.unique(w.detach())
    assert 2 <= len(levels) <= 2**bits
    step = levels.diff().min()
    ks = levels / step
    torch.testing.assert_close(ks, ks.round())
    assert ks.min() >= -(2 ** (bits - 1)) and ks.max() <= 2 ** (bits - 1) - 1
    # bias on the same grid and in the same range (bias_bits = weight_bits)
    kb = b.detach() / step
    torch.testing.assert_close(kb, kb.round())
    assert kb.min() >= -(2 ** (bits - 1)) and kb.max() <= 2 ** (bits - 1) - 1


def test_first_layer_and_classifier_stay_8_bit(w4_model):
    _, model = w4_model
    blocks = list(model.blocks.values())
    assert [b.bits for b in blocks[:2]] == [8, 8] and blocks[-1].bits == 8
    w, _ = blocks[-1].quantized_parameters()
    assert len(torch.unique(w.detach())) > 16  # random 8-bit weights use more than 16 levels


def test_quantize_layer_4_bits_hand_computed():
    # max|w, b| = 0.7 -> shift = floor(log2(1/0.7)) = 0; q = 2**3 = 8:
    # w_int = clamp(floor(8 w + .5), -8, 7); output_shift = 0
    w_int, b_int, out_shift = quantize_layer(
        torch.tensor([0.7, -0.7, 0.3, -0.05]), torch.tensor([0.1]), bits=4
    )
    assert w_int.tolist() == [6, -6, 2, 0] and b_int.tolist() == [1] and out_shift == 0
    # max = 0.2 -> shift 2 (factor 4): 0.2*4*8 = 6.4 -> 6; -0.2 -> -6.4 + .5 -> -6
    w_int, _, out_shift = quantize_layer(torch.tensor([0.2, -0.2, 0.01]), None, bits=4)
    assert w_int.tolist() == [6, -6, 0] and out_shift == -2


def test_quantize_layer_1_bit_is_minus_one_or_zero():
    # 1 bit: q = 1, w_int in [-1, 0]; max|w| = 0.6 -> shift 0
    w_int, _, out_shift = quantize_layer(torch.tensor([0.6, -0.6, -0.2, 0.2]), None, bits=1)
    assert w_int.tolist() == [0, -1, 0, 0] and out_shift == 0


def test_qat_forward_scales_like_the_chips_implicit_shift():
    """A 4-bit 1x1 layer: the float QAT output equals the chip's integer arithmetic with the
    implicit shift 8 - bits (izer adds it to output_shift)."""
    from nas.export._checkpoint import LayerParams, float_state_dict, quantized_state_dict
    from nas.export._simulate import simulate_layer

    spec = with_inner_bits(get_reference("ai85unetlarge"), 4)
    model = enable_qat(build_model(spec).eval())
    block = model.blocks["prep1"]  # 64 -> 64, 1x1, 4 bits
    with torch.no_grad():
        block.conv.weight.uniform_(-0.3, 0.3)
        block.conv.bias.uniform_(-0.05, 0.05)
    p = {"prep1": LayerParams(block.conv.weight.detach(), block.conv.bias.detach(), 4)}
    qsd = quantized_state_dict(float_state_dict(p))
    assert qsd["prep1.weight_bits"].item() == 4 and qsd["prep1.bias_bits"].item() == 4
    x = torch.randint(-128, 128, (64, 6, 6)).to(torch.float64)
    out = simulate_layer(block.layer, x, qsd)
    with torch.no_grad():
        ref = block(x[None].float() / 128)[0] * 128
    assert out.abs().max() > 0
    assert torch.equal(out.to(torch.int64), ref.round().to(torch.int64))


def _with_big_biases(bits: int):
    """ai85unetlarge at ``bits`` inner bits, QAT on, every bias 5x its layer's largest weight
    (what BN folding leaves in some layers)."""
    torch.manual_seed(2)
    model = enable_qat(build_model(with_inner_bits(get_reference("ai85unetlarge"), bits)).eval())
    with torch.no_grad():
        for block in model.blocks.values():
            m = block.conv.weight.abs().amax()
            block.conv.bias.copy_(torch.linspace(-5, 5, len(block.conv.bias)) * m)
    return model


def test_big_biases_zero_every_2_bit_weight_and_clipping_keeps_them():
    model = _with_big_biases(2)
    inner = model.blocks["enc2"]
    w, _ = inner.quantized_parameters()
    assert bool((w == 0).all())  # the scale follows the bias: step > max|w|
    clipped = clip_low_bit_biases(model, 2)
    # every low-bit layer had biases beyond max|w| (the outer ones are 8-bit: untouched)
    n_low = sum(int((b.conv.bias.abs() > 0).sum()) for b in model.blocks.values() if b.bits <= 2)
    assert 0 < clipped < n_low
    w, b = inner.quantized_parameters()
    assert len(torch.unique(w)) >= 3  # the weights set the scale again
    m = inner.conv.weight.abs().amax()
    assert bool((inner.conv.bias.abs() <= m).all()) and b.abs().max() > 0
    first = model.blocks[next(iter(model.blocks))]
    assert first.bits == 8 and first.conv.bias.abs().max() > 4 * first.conv.weight.abs().amax()


def test_clip_leaves_layers_above_max_bits_alone():
    model = _with_big_biases(4)
    before = {k: b.conv.bias.clone() for k, b in model.blocks.items()}
    assert clip_low_bit_biases(model, 2) == 0
    for k, b in model.blocks.items():
        assert torch.equal(b.conv.bias, before[k])
