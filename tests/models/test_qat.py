import copy

import pytest
import torch

from nas.models import build_model, enable_qat, fold_bn, quantize_layer
from nas.spec import get_reference


def _trained_stats(model, x, steps=3):
    """Give every BN non-trivial running statistics (and affine BN random gamma/beta)."""
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(x)
        for block in model.blocks.values():
            if block.bn is not None and block.bn.affine:
                block.bn.weight.uniform_(0.5, 1.5)
                block.bn.bias.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.mark.parametrize("name", ["ai85unetlarge", "unetmysmall-x86"])
def test_fold_bn_keeps_eval_output(name):
    torch.manual_seed(0)
    x = torch.rand(2, 48, 16, 16) * 2 - 1
    model = _trained_stats(build_model(get_reference(name)), x)
    with torch.no_grad():
        before = model(x)
        folded = fold_bn(copy.deepcopy(model))
        after = folded(x)
    assert all(b.bn is None for b in folded.blocks.values())
    assert before.abs().max() > 1e-3  # a non-trivial output
    torch.testing.assert_close(after, before, atol=1e-6, rtol=1e-4)


def test_fold_bn_noaffine_formula_includes_ai8x_quarter():
    model = build_model(get_reference("unetmysmall"))
    block = model.blocks["enc1"]
    block.bn.running_mean.fill_(0.5)
    block.bn.running_var.fill_(4.0 - block.bn.eps)  # std 2
    w = block.conv.weight.detach().clone()
    b = block.conv.bias.detach().clone()
    fold_bn(model)
    torch.testing.assert_close(block.conv.weight.detach(), w * 0.25 / 2)
    torch.testing.assert_close(block.conv.bias.detach(), (b - 0.5) * 0.25 / 2)


def test_fold_bn_keeps_parameter_identity():
    model = build_model(get_reference("unetmysmall"))
    ids = {id(p) for p in model.parameters()}
    fold_bn(model)
    assert {id(p) for p in model.parameters()} == ids  # NoAffine BN owned no parameters


def test_quantize_layer_hand_computed():
    # max|w,b| = 0.3 -> shift = floor(log2(1/0.3)) = 1: w * 2 * 128
    w_int, b_int, out_shift = quantize_layer(
        torch.tensor([0.3, -0.2, 0.1]), torch.tensor([0.05]), bits=8
    )
    assert w_int.tolist() == [77, -51, 26]  # floor(76.8+.5), floor(-51.2+.5), floor(25.6+.5)
    assert b_int.tolist() == [13]  # floor(0.05 * 2 * 128 + .5)
    assert out_shift == -1
    # 2-bit weights and biases: range [-2, 1], scale 2 * 2**shift
    w_int, b_int, _ = quantize_layer(
        torch.tensor([0.3, -0.2, 0.1]), torch.tensor([0.05, -0.3]), bits=2
    )
    assert w_int.tolist() == [1, -1, 0]  # floor(1.2+.5), floor(-0.8+.5), floor(0.4+.5)
    assert b_int.tolist() == [0, -1]  # floor(0.2+.5), floor(-1.2+.5)


def test_quantize_layer_clamps_shift_like_izer():
    # 1e-6 -> floor(log2(1e6)) = 19, clamped to 23 - bits
    w_int, _, out_shift = quantize_layer(torch.tensor([1e-6]), None, bits=8)
    assert (w_int.tolist(), out_shift) == ([4], -15)  # floor(1e-6 * 128 * 2**15 + .5)
    w_int, _, out_shift = quantize_layer(torch.tensor([1e-6]), None, bits=2)
    assert (w_int.tolist(), out_shift) == ([1], -19)  # floor(1e-6 * 2 * 2**19 + .5)


def test_quantize_layer_saturates_and_rounds_half_up():
    # max = 0.5 -> shift 1 -> 0.5*256 = 128 saturates to 127; 1/512*256 = 0.5 rounds up to 1
    w_int, b_int, out_shift = quantize_layer(
        torch.tensor([0.5, -0.5, 1 / 512, -1 / 512]), torch.tensor([-0.5]), bits=8
    )
    assert w_int.tolist() == [127, -128, 1, 0]
    assert b_int.tolist() == [-128]
    assert out_shift == -1
    # large weights shift right: max 3 -> shift floor(log2(1/3)) = -2, output_shift 2
    w_int, _, out_shift = quantize_layer(torch.tensor([3.0, 1.0]), None, bits=8)
    assert (w_int.tolist(), out_shift) == ([96, 32], 2)
    with pytest.raises(ValueError, match="bits"):
        quantize_layer(torch.ones(2), None, bits=3)


def test_qat_forward_matches_quantize_layer_and_grid():
    torch.manual_seed(0)
    x = torch.round((torch.rand(2, 48, 16, 16) * 2 - 1) * 128).clamp(-128, 127) / 128
    model = enable_qat(_trained_stats(build_model(get_reference("ai85unetlarge")), x))
    block = model.blocks["enc2"]
    wq, bq = block.quantized_parameters()
    w_int, b_int, out_shift = quantize_layer(block.conv.weight, block.conv.bias, 8)
    torch.testing.assert_close(wq.detach(), w_int.float() / 128 * 2.0**out_shift)
    torch.testing.assert_close(bq.detach(), b_int.float() / 128 * 2.0**out_shift)
    seen = {}
    hooks = [b.register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, o))
             for n, b in model.blocks.items()]
    with torch.no_grad():
        y = model(x)
    for h in hooks:
        h.remove()
    for name, out in seen.items():
        assert torch.equal(out * 128, torch.round(out * 128)), name  # int8 grid
        lo = 0.0 if model.blocks[name].relu else -1.0
        assert out.min() >= lo and out.max() <= 127 / 128, name
    assert torch.equal(y, seen["conv"])


def test_qat_gradients_flow():
    torch.manual_seed(0)
    x = torch.rand(2, 48, 16, 16) * 2 - 1
    model = enable_qat(build_model(get_reference("unetmysmall"))).train()
    assert all(b.qat and b.bn is None for b in model.blocks.values())
    loss = model(x).square().mean()
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(bool(g.abs().sum() > 0) for g in grads) == len(grads)
    # idempotent
    enable_qat(model)
    assert model(x).shape == (2, 64, 16, 16)


def test_qat_state_dict_reloads_into_a_fresh_qat_model():
    """What a checkpoint of a QAT run needs: build, enable_qat, load_state_dict (strict)."""
    torch.manual_seed(0)
    x = torch.rand(1, 48, 16, 16) * 2 - 1
    model = enable_qat(_trained_stats(build_model(get_reference("unetmysmall")), x))
    fresh = enable_qat(build_model(get_reference("unetmysmall"))).eval()
    fresh.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x))


def test_qat_under_bf16_autocast_stays_on_the_int8_grid():
    torch.manual_seed(0)
    x = (torch.rand(2, 48, 16, 16) * 2 - 1).contiguous(memory_format=torch.channels_last)
    model = enable_qat(build_model(get_reference("unetmysmall"))).train()
    model = model.to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = model(x)
    assert y.dtype == torch.bfloat16
    scaled = y.float() * 128
    assert torch.equal(scaled, scaled.round()) and scaled.abs().max() <= 128
    y.float().square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())
