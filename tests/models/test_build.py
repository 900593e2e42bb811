import pytest
import torch

from nas.models import FusedBlock, build_model
from nas.spec import ArchSpec, ConvSpec, DecoderLevel, EncoderLevel, get_reference
from search_spaces import get_space, sample_specs


def _torch_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "name, weights, biases",
    [("ai85unetlarge", 278_176, 908), ("unetmysmall", 110_016, 888)],
)
def test_reference_parameter_counts(name, weights, biases):
    model = build_model(get_reference(name))
    n_weights = sum(b.conv.weight.numel() for b in model.blocks.values())
    n_biases = sum(b.conv.bias.numel() for b in model.blocks.values())
    assert (n_weights, n_biases) == (weights, biases)
    assert _torch_params(model) == weights + biases  # NoAffine BN has no parameters


def test_x86_reference_has_43056_torch_parameters():
    model = build_model(get_reference("unetmysmall-x86"))
    assert _torch_params(model) == 43_056
    depthwise = [b for b in model.blocks.values() if b.conv.groups > 1]
    assert depthwise and all(b.conv.groups == b.conv.in_channels for b in depthwise)
    assert all(b.bn.affine for b in model.blocks.values() if b.bn is not None)


def test_blocks_follow_spec_layers():
    spec = get_reference("ai85unetlarge")
    model = build_model(spec)
    layers = spec.layers()
    assert list(model.blocks) == [layer.name for layer in layers]
    for layer, block in zip(layers, model.blocks.values(), strict=True):
        assert isinstance(block, FusedBlock) and block.layer == layer
        assert block.conv.kernel_size == (layer.kernel, layer.kernel)
        assert (block.pool is not None) == bool(layer.pool)
        assert block.relu == layer.relu
        if layer.op == "convtranspose2d":
            assert isinstance(block.conv, torch.nn.ConvTranspose2d) and block.bn is None
            assert block.conv.stride == (2, 2) and block.conv.output_padding == (1, 1)
        else:
            assert block.bn is not None and not block.bn.affine  # ai8x NoAffine


def test_concat_order_follows_layer_inputs():
    spec = get_reference("ai85unetlarge")
    model = build_model(spec).eval()
    seen = {}
    hooks = [b.register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, (i[0], o)))
             for n, b in model.blocks.items()]
    with torch.no_grad():
        model(torch.rand(1, 48, 16, 16) * 2 - 1)
    for h in hooks:
        h.remove()
    dec3_in = seen["dec3"][0]
    assert torch.equal(dec3_in[:, :56], seen["upconv3"][1])
    assert torch.equal(dec3_in[:, 56:], seen["enc3"][1])


def _tiny_input(spec, batch=1):
    side = max(2 ** (spec.depth - 1), 4)
    return torch.rand(batch, spec.input_channels, side, side) * 2 - 1


def test_forward_shapes_for_50_sampled_specs():
    torch.manual_seed(0)
    for spec in sample_specs(get_space("unet_max78000"), 50, seed=1):
        model = build_model(spec).eval()
        x = _tiny_input(spec)
        with torch.no_grad():
            y = model(x)
        assert y.shape == (1, spec.output_channels, x.shape[2], x.shape[3]), spec.name
        assert torch.isfinite(y).all()


def test_outputs_are_clamped_to_int8_range():
    model = build_model(get_reference("unetmysmall")).train()
    y = model(torch.rand(2, 48, 16, 16) * 2 - 1)
    assert y.min() >= -1.0 and y.max() <= 127 / 128


def test_channels_last_and_bf16_autocast():
    torch.manual_seed(0)
    spec = get_reference("ai85unetlarge")
    model = build_model(spec).eval()
    x = torch.rand(2, 48, 16, 16) * 2 - 1
    with torch.no_grad():
        ref = model(x)
        model_cl = model.to(memory_format=torch.channels_last)
        y_cl = model_cl(x.contiguous(memory_format=torch.channels_last))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y_bf = model_cl(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(y_cl, ref, atol=1e-5, rtol=1e-4)
    assert y_bf.dtype == torch.bfloat16
    assert (y_bf.float() - ref).abs().max() < 0.05
    # training step under autocast: gradients reach the first layer
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x.contiguous(memory_format=torch.channels_last))
    out.float().square().mean().backward()
    assert model.blocks["prep0"].conv.weight.grad.abs().sum() > 0


def test_spec_without_bn_or_bias_builds():
    spec = ArchSpec(
        name="plain", num_classes=2,
        encoder=(EncoderLevel((ConvSpec(8),)), EncoderLevel((ConvSpec(16, 1),))),
        decoder=(DecoderLevel(8, (ConvSpec(8),), skip=False),),
        batchnorm="none", bias=False,
    )
    model = build_model(spec)
    assert all(b.bn is None and b.conv.bias is None for b in model.blocks.values())
    assert _torch_params(model) == spec.weight_count()
    assert model(torch.zeros(1, 48, 4, 4)).shape == (1, 32, 4, 4)


def test_build_model_rejects_non_spec():
    with pytest.raises(ValueError, match="ArchSpec"):
        build_model({"name": "x"})


def test_depthwise_specs_build_and_run():
    torch.manual_seed(0)
    specs = [s for s in sample_specs(get_space("unet_max78002"), 20, seed=2)
             if any(layer.groups > 1 for layer in s.layers())][:5]
    assert specs
    for spec in specs:
        model = build_model(spec).eval()
        groups = {b.conv.groups for b in model.blocks.values()}
        assert groups - {1}
        with torch.no_grad():
            y = model(_tiny_input(spec))
        assert y.shape[1] == spec.output_channels
