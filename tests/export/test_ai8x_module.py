import ast
import os
import sys
import types
from pathlib import Path

import pytest
import torch
from torch import nn

from nas.export._ai8x_module import arch_name, generate_ai8x_module, module_filename
from nas.export._checkpoint import float_state_dict, random_layer_params
from nas.spec import get_reference
from tests.conftest import require


@pytest.mark.parametrize("ref", ["ai85unetlarge", "unetmysmall", "unetmysmall-x86"])
def test_module_is_valid_python_with_one_attribute_per_layer(ref):
    spec = get_reference(ref)
    src = generate_ai8x_module(spec)
    tree = ast.parse(src)
    attrs = [t.attr for node in ast.walk(tree) if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Attribute)
             and isinstance(node.value, ast.Call)]
    assert attrs == [layer.name for layer in spec.layers()]
    funcs = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert funcs == [arch_name(spec)]
    assert f"'name': '{arch_name(spec)}'" in src
    assert module_filename(spec).startswith("ai85net-") and module_filename(spec).endswith(".py")


def test_names_are_identifiers():
    spec = get_reference("unetmysmall-x86")
    assert arch_name(spec) == "unetmysmall_x86"
    assert arch_name(spec).isidentifier()


def _fake_ai8x() -> types.ModuleType:
    """Just enough of ai8x's layer API (its state_dict layout) to instantiate the module."""
    mod = types.ModuleType("ai8x")

    class Layer(nn.Module):
        def __init__(self, cin, cout, k, stride=1, padding=0, bias=True, batchnorm=None,
                     pooling=None, activation=None, groups=1, transposed=False, pool=False,
                     relu=False, **_):
            super().__init__()
            for n in ("output_shift", "weight_bits", "bias_bits", "quantize_activation",
                      "adjust_output_shift", "shift_quantile"):
                setattr(self, n, nn.Parameter(torch.zeros(1), requires_grad=False))
            self.pool = nn.MaxPool2d(2, 2) if (pool or pooling) else None
            if transposed:
                self.op = nn.ConvTranspose2d(cin, cout, k, stride, padding, 1, bias=bias)
            else:
                self.op = nn.Conv2d(cin, cout, k, 1, padding, bias=bias, groups=groups)
            self.relu = relu or activation == "ReLU"

        def forward(self, x):
            x = self.pool(x) if self.pool is not None else x
            x = self.op(x)
            return x.clamp(min=0) if self.relu else x

    def make(pool=False, relu=False, transposed=False, depthwise=False):
        def ctor(*args, **kw):
            if depthwise:
                kw["groups"] = args[0]
            return Layer(*args, pool=pool, relu=relu, transposed=transposed, **kw)
        return ctor

    for name in ("FusedConv2dBNReLU", "FusedConv2dReLU"):
        setattr(mod, name, make(relu=True))
    for name in ("FusedConv2dBN", "Conv2d"):
        setattr(mod, name, make())
    for name in ("FusedMaxPoolConv2dBNReLU", "FusedMaxPoolConv2dReLU"):
        setattr(mod, name, make(pool=True, relu=True))
    for name in ("FusedMaxPoolConv2dBN", "FusedMaxPoolConv2d"):
        setattr(mod, name, make(pool=True))
    mod.FusedDepthwiseConv2dBNReLU = make(relu=True, depthwise=True)
    mod.FusedMaxPoolDepthwiseConv2dBNReLU = make(pool=True, relu=True, depthwise=True)
    mod.ConvTranspose2d = make(transposed=True)
    return mod


def _load(src: str, ai8x: types.ModuleType) -> types.ModuleType:
    saved = sys.modules.get("ai8x")
    sys.modules["ai8x"] = ai8x
    try:
        mod = types.ModuleType("generated")
        exec(compile(src, "generated", "exec"), mod.__dict__)
        return mod
    finally:
        if saved is None:
            sys.modules.pop("ai8x")
        else:
            sys.modules["ai8x"] = saved


@pytest.mark.parametrize("ref", ["ai85unetlarge", "unetmysmall-x86"])
def test_module_state_dict_matches_float_checkpoint(ref):
    spec = get_reference(ref)
    mod = _load(generate_ai8x_module(spec), _fake_ai8x())
    net = getattr(mod, arch_name(spec))(num_classes=spec.num_classes,
                                        num_channels=spec.input_channels)
    sd = float_state_dict(random_layer_params(spec))
    net.load_state_dict(sd, strict=True)  # same names and shapes
    assert list(net.state_dict()) == list(sd)  # and the same order
    y = net(torch.zeros(1, spec.input_channels, 16, 16))
    assert y.shape == (1, spec.output_channels, 16, 16)
    with pytest.raises(ValueError, match="num_classes"):
        getattr(mod, arch_name(spec))(num_classes=spec.num_classes + 1)


@pytest.mark.integration
def test_module_runs_in_real_ai8x_training_with_float_checkpoint(bn_model):
    """Generated module + float checkpoint in ai8x-training == nas.models QAT forward."""
    require(bool(os.environ.get("AI8X_TRAINING_DIR")),
            "AI8X_TRAINING_DIR (an ai8x-training checkout) is not set")
    from nas.models import enable_qat

    root = Path(os.environ["AI8X_TRAINING_DIR"])
    sys.path.append(str(root))  # appended: ai8x-training has its own top-level 'nas' package
    try:
        import ai8x  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(root))
    ai8x.set_device(85, False, False)
    spec, model = bn_model
    enable_qat(model)
    from nas.export._checkpoint import LayerParams

    params = {n: LayerParams(b.conv.weight.detach(), b.conv.bias.detach(), b.layer.bits)
              for n, b in model.blocks.items()}
    mod = _load(generate_ai8x_module(spec), ai8x)
    net = getattr(mod, arch_name(spec))(num_classes=4, num_channels=48, bias=True)
    ai8x.fuse_bn_layers(net)  # what train.py does when loading a checkpoint past QAT start
    net.load_state_dict(float_state_dict(params), strict=True)
    ai8x.update_model(net)
    net.eval()
    x = torch.randint(-128, 128, (1, 48, 16, 16)).float() / 128
    with torch.no_grad():
        assert torch.allclose(net(x), model(x), atol=1e-6)
