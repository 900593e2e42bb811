import io
from collections import OrderedDict

import pytest
import torch

from nas.export._checkpoint import (
    CopyLayer,
    LayerParams,
    checkpoint_dict,
    float_state_dict,
    quantize_layer,
    quantized_state_dict,
    random_layer_params,
)
from nas.spec import get_reference


def _roundtrip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)  # torch >= 2.6 default: no pickled classes


def test_quantize_layer_hand_example():
    # max |w, b| = 0.3 -> shift = floor(log2(1/0.3)) = 1, factor = 128 * 2 = 256
    w = torch.tensor([0.3, -0.1, 0.0011])
    b = torch.tensor([0.05])
    wq, bq, shift = quantize_layer(w, b, 8)
    assert shift == -1
    assert wq.tolist() == [77.0, -26.0, 0.0]  # floor(256 * w + .5)
    assert bq.tolist() == [13.0 * 128]  # floor(0.05 * 2 * 128 + .5) = 13, stored x 128


def test_quantize_layer_low_bits_clamps_and_scales_bias():
    w = torch.tensor([0.9, -0.9, 0.2])
    b = torch.tensor([0.9])
    wq, bq, shift = quantize_layer(w, b, 2)
    assert shift == 0
    assert wq.tolist() == [1.0, -2.0, 0.0]  # floor(2 * w + .5) clamped to [-2, 1]
    # izer: floor(2 * 0.9 + .5) = 2 -> clamp 1, then x 2**(2-8) x 128
    assert bq.tolist() == [1.0 * 2**-6 * 128]


def test_quantize_layer_agrees_with_models_at_8_bits():
    from nas.models import quantize_layer as models_quantize

    gen = torch.Generator().manual_seed(1)
    w = torch.randn(16, 8, 3, 3, generator=gen) * 0.1
    b = torch.randn(16, generator=gen) * 0.1
    wq, bq, shift = quantize_layer(w, b, 8)
    w2, b2, shift2 = models_quantize(w, b, 8)
    assert shift == shift2
    assert torch.equal(wq, w2.float())
    assert torch.equal(bq, b2.float() * 128)


def test_float_state_dict_layout_and_loadable():
    spec = get_reference("ai85unetlarge")
    params = random_layer_params(spec, seed=0)
    sd = float_state_dict(params)
    first = [k for k in sd if k.startswith("prep0.")]
    assert first == ["prep0.output_shift", "prep0.weight_bits", "prep0.bias_bits",
                     "prep0.quantize_activation", "prep0.adjust_output_shift",
                     "prep0.shift_quantile", "prep0.op.weight", "prep0.op.bias"]
    weights = [k[: -len(".op.weight")] for k in sd if k.endswith(".op.weight")]
    assert weights == [layer.name for layer in spec.layers()]
    assert sd["upconv3.op.weight"].shape == (112, 56, 3, 3)  # ConvTranspose2d: [in, out, k, k]
    ckpt = _roundtrip(checkpoint_dict(sd, "ai85unetlarge", 3, {"best_top1": 0.5}))
    assert ckpt["arch"] == "ai85unetlarge" and ckpt["epoch"] == 3
    assert list(ckpt["state_dict"]) == list(sd)


def test_quantized_state_dict_integer_and_copy_layer_order():
    spec = get_reference("ai85unetlarge")
    sd = float_state_dict(random_layer_params(spec, seed=0))
    q = _roundtrip(quantized_state_dict(sd, (CopyLayer("pt", 56, "upconv3"),)))
    layers = [k[: -len(".op.weight")] for k in q if k.endswith(".op.weight")]
    assert layers.index("pt") == layers.index("upconv3") - 1
    pt = q["pt.op.weight"]
    assert pt.shape == (56, 56, 1, 1)
    assert torch.equal(pt[:, :, 0, 0], torch.eye(56) * 64)
    assert q["pt.output_shift"].item() == 1 and "pt.op.bias" not in q
    for name in layers:
        w = q[f"{name}.op.weight"]
        assert torch.equal(w, w.round()) and w.abs().max() <= 128
        assert q[f"{name}.adjust_output_shift"].item() == 0
        b = q.get(f"{name}.op.bias")
        if b is not None:
            assert torch.equal(b / 128, (b / 128).round())  # multiples of 128 at 8 bits


def test_copy_layer_needs_existing_successor():
    sd = OrderedDict(float_state_dict({"a": LayerParams(torch.ones(4, 4, 1, 1), None, 8)}))
    with pytest.raises(ValueError, match="no weights"):
        quantized_state_dict(sd, (CopyLayer("pt", 4, "missing"),))


def test_layer_params_from_ai8x_roundtrip_and_shape_check():
    from nas.export import layer_params_from_ai8x

    spec = get_reference("ai85unetlarge")
    params = random_layer_params(spec, seed=4)
    sd = float_state_dict(params)
    # ai8x calls our dec1_1 "dec0": matching is by order, not by name
    renamed = OrderedDict((k.replace("dec1_1.", "dec0."), v) for k, v in sd.items())
    back = layer_params_from_ai8x(spec, renamed)
    assert list(back) == list(params)
    for name, p in params.items():
        assert torch.equal(back[name].weight, p.weight) and torch.equal(back[name].bias, p.bias)
    with pytest.raises(ValueError, match="does not match layer"):
        layer_params_from_ai8x(get_reference("unetmysmall"),
                               float_state_dict(random_layer_params(get_reference(
                                   "unetmysmall"), 0)) | {"prep0.op.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="BatchNorm"):
        layer_params_from_ai8x(spec, {**sd, "prep0.bn.running_mean": torch.zeros(64)})
