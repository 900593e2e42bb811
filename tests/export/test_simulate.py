import numpy as np
import pytest
import torch

from nas.export._checkpoint import LayerParams, float_state_dict, quantized_state_dict
from nas.export._simulate import simulate_int8
from nas.spec import ArchSpec, ConvSpec, DecoderLevel, EncoderLevel


def _tiny() -> ArchSpec:
    return ArchSpec(
        name="tiny", num_classes=2, fold_ratio=1, in_channels=1,
        encoder=(EncoderLevel((ConvSpec(8),)), EncoderLevel((ConvSpec(8),))),
        decoder=(DecoderLevel(4, (ConvSpec(8),)),),
        head=(ConvSpec(8, 1, relu=False),),
    )


def test_copy_layer_arithmetic_is_identity():
    # izer's fakept layer: weight 64, output_shift 1, 8-bit -> y = floor(.5 + 64 x 2 / 128)
    x = np.arange(-128, 128)
    assert np.array_equal(np.floor(0.5 + 64 * x * 2.0 / 128), x)


def test_simulation_matches_qat_model(bn_model):
    """The integer simulation and nas.models' QAT forward agree bit for bit at 8 bits."""
    from nas.models import enable_qat

    spec, model = bn_model
    enable_qat(model)
    params = {n: LayerParams(b.conv.weight.detach(), b.conv.bias.detach(), b.layer.bits)
              for n, b in model.blocks.items()}
    qsd = quantized_state_dict(float_state_dict(params))
    x = torch.randint(-128, 128, (spec.input_channels, 16, 16))
    out = simulate_int8(spec, qsd, x.numpy())["conv"]
    with torch.no_grad():
        ref = model(x[None].float() / 128)[0] * 128
    assert out.dtype == np.int64 and out.shape == tuple(ref.shape)
    assert np.abs(out).max() > 0
    assert np.array_equal(out, ref.numpy().astype(np.int64))


def test_simulation_hand_checked_layer():
    spec = _tiny()
    layers = spec.layers()
    params = {}
    for layer in layers:
        shape = ((layer.in_channels, layer.out_channels, 3, 3) if layer.op == "convtranspose2d"
                 else (layer.out_channels, layer.in_channels, layer.kernel, layer.kernel))
        params[layer.name] = LayerParams(torch.zeros(shape), torch.zeros(layer.out_channels), 8)
    # first layer: centre tap of channel 0 -> out 0 = 0.4 * x[0] + 0.25
    w = torch.zeros(8, 1, 3, 3)
    w[0, 0, 1, 1] = 0.4
    b = torch.zeros(8)
    b[0] = 0.25
    params["enc1"] = LayerParams(w, b, 8)
    qsd = quantized_state_dict(float_state_dict(params))
    x = np.arange(-128, 128).reshape(1, 16, 16)
    out = simulate_int8(spec, qsd, x)["enc1"]
    # max|w,b| = 0.4 -> shift 1, factor 256: w_int = 102, b_int = 64, output_shift -1
    expected = np.clip(np.floor(0.5 + (102 * x[0] + 64 * 128) / 256), 0, 127)
    assert np.array_equal(out[0], expected)
    assert not out[1:].any()


def test_simulation_rejects_bad_sample():
    spec = _tiny()
    qsd = {}
    with pytest.raises(ValueError, match="channels"):
        simulate_int8(spec, qsd, np.zeros((3, 8, 8), dtype=np.int64))  # spec wants 1
    with pytest.raises(ValueError, match=r"\[-128, 127\]"):
        simulate_int8(spec, qsd, np.full((1, 8, 8), 300))


@pytest.mark.parametrize("bits, implicit", [(8, 7), (2, 6), (4, 4)])
def test_all_zero_weights_shift_as_izer_does(bits, implicit):
    """izer counts an all-zero layer as 1-bit (implicit shift 7) only when the YAML gives no
    ``quantization``, i.e. for our 8-bit layers; a stated 2- or 4-bit width is kept."""
    spec = _tiny()
    layers = spec.layers()
    params = {}
    for layer in layers:
        shape = ((layer.in_channels, layer.out_channels, 3, 3) if layer.op == "convtranspose2d"
                 else (layer.out_channels, layer.in_channels, layer.kernel, layer.kernel))
        params[layer.name] = LayerParams(torch.zeros(shape), torch.zeros(layer.out_channels), 8)
    b = torch.zeros(8)
    b[0] = 0.3  # only a bias: max = 0.3 -> shift 1, b_int = floor(0.3 * 2 * 2**(bits-1) + .5)
    params["enc1"] = LayerParams(torch.zeros(8, 1, 3, 3), b, bits)
    qsd = quantized_state_dict(float_state_dict(params))
    out = simulate_int8(spec, qsd, np.zeros((1, 8, 8), dtype=np.int64))["enc1"]
    b_int = int(np.floor(0.3 * 2 * 2 ** (bits - 1) + 0.5))
    # acc = b_int * 128; y = floor(.5 + acc * 2**(output_shift + implicit) / 128)
    expected = np.floor(0.5 + b_int * 2.0 ** (-1 + implicit))
    assert np.all(out[0] == min(expected, 127))
