"""Exports of mixed-precision nets: YAML quantization, checkpoint weight_bits, simulation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import yaml

from nas.export import export, simulate_int8
from nas.export._checkpoint import LayerParams, float_state_dict, quantized_state_dict
from nas.hardware import check
from nas.models import build_model, enable_qat
from nas.spec import get_reference, with_inner_bits

SIZE = (16, 16)


def _mixed(name: str = "unetmysmall"):
    """Every width the chip runs, cycling over the inner convs (first conv, classifier 8)."""
    spec = with_inner_bits(get_reference(name), 4, f"{name}-mixed")
    cycle = iter([1, 2, 4, 8] * 10)
    enc = tuple(dataclasses.replace(lvl, convs=tuple(
        dataclasses.replace(c, bits=next(cycle)) for c in lvl.convs)) for lvl in spec.encoder)
    dec = tuple(dataclasses.replace(lvl, up_bits=next(cycle), convs=tuple(
        dataclasses.replace(c, bits=next(cycle)) for c in lvl.convs)) for lvl in spec.decoder)
    return dataclasses.replace(spec, encoder=enc, decoder=dec)


@pytest.fixture(scope="module")
def mixed_export(tmp_path_factory):
    spec = _mixed()
    return spec, export(spec, tmp_path_factory.mktemp("exp") / "mixed", input_size=SIZE, seed=2)


def test_yaml_quantization_and_checkpoint_bits_per_layer(mixed_export):
    spec, result = mixed_export
    report = check(spec, input_size=SIZE)
    bits = [layer.bits for layer in report.layers]
    assert {1, 2, 4, 8} <= set(bits)
    cfg = yaml.safe_load(result.files["yaml"].read_text())
    # izer's default is 8: the key is written only for the other widths
    assert [layer.get("quantization", 8) for layer in cfg["layers"]] == bits
    assert all("quantization" not in layer for layer, b in zip(cfg["layers"], bits,
                                                              strict=True) if b == 8)
    q = torch.load(result.files["quantized"], weights_only=True)["state_dict"]
    f = torch.load(result.files["float"], weights_only=True)["state_dict"]
    for layer in report.layers:
        n, b = layer.name, layer.bits
        assert q[f"{n}.weight_bits"].item() == b and q[f"{n}.bias_bits"].item() == b, n
        if n in {x.name for x in spec.layers()}:
            assert f[f"{n}.weight_bits"].item() == b, n
        w = q[f"{n}.op.weight"]
        assert w.min() >= -(2 ** (b - 1)) and w.max() <= 2 ** (b - 1) - 1, n
        assert torch.equal(w, w.round()), n
        if f"{n}.op.bias" in q:  # stored as b_int * 2**(bits-1): izer divides it back
            bi = q[f"{n}.op.bias"] / 2 ** (b - 1)
            assert torch.equal(bi, bi.round()), n
            assert bi.min() >= -(2 ** (b - 1)) and bi.max() <= 2 ** (b - 1) - 1, n


def test_expected_output_is_the_simulation(mixed_export):
    spec, result = mixed_export
    sample = np.load(result.files["sample"])
    q = torch.load(result.files["quantized"], weights_only=True)["state_dict"]
    expected = np.load(result.files["expected"])
    assert np.array_equal(expected, simulate_int8(spec, q, sample)["conv"])


def test_predicted_weight_memory_counts_bits(mixed_export):
    spec, result = mixed_export
    pred = result.predicted["MAX78000"]["weight_bytes"]
    assert pred == sum(x.weight_count * x.bits // 8 for x in check(spec, input_size=SIZE).layers)
    assert pred < get_reference("unetmysmall").layer_weight_bytes()


def test_simulation_matches_qat_model_at_mixed_bits():
    """nas.models' QAT forward (float) and the integer simulation (izer's arithmetic, with
    the implicit shift 8 - bits) agree bit for bit on a net using 1, 2, 4 and 8 bits."""
    torch.manual_seed(0)
    spec = _mixed()
    model = build_model(spec)
    for block in model.blocks.values():
        if block.bn is not None:
            block.bn.running_mean.uniform_(-0.1, 0.1)
            block.bn.running_var.uniform_(0.01, 0.05)
    enable_qat(model.eval())
    params = {n: LayerParams(b.conv.weight.detach(), b.conv.bias.detach(), b.layer.bits)
              for n, b in model.blocks.items()}
    qsd = quantized_state_dict(float_state_dict(params))
    x = torch.randint(-128, 128, (spec.input_channels, 16, 16))
    outs = simulate_int8(spec, qsd, x.numpy())
    with torch.no_grad():
        ref = model(x[None].float() / 128)[0] * 128
    assert np.abs(outs["conv"]).max() > 0
    assert any(np.abs(outs[n]).max() > 0 for n, b in params.items() if b.bits == 1)
    assert np.array_equal(outs["conv"], ref.numpy().astype(np.int64))
