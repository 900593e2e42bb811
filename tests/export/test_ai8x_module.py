import ast
import json
import os
import sys
import types
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from nas.export._ai8x_module import (
    QAT_START_EPOCH,
    ai8x_dataset,
    arch_name,
    generate_ai8x_module,
    module_filename,
    render_qat_policy,
)
from nas.export._checkpoint import float_state_dict, random_layer_params
from nas.spec import ArchSpec, get_reference, with_bits_cycle
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
    assert arch_name(spec) == "maxnas_unetmysmall_x86"
    assert arch_name(spec).isidentifier()
    # an already prefixed name is kept as it is
    assert arch_name(ArchSpec.from_dict({**spec.to_dict(), "name": "maxnas_x"})) == "maxnas_x"


def test_reference_names_do_not_clash_with_upstream():
    """Upstream ai8x-training's models/ai85net-unet.py registers ai85unetlarge; ours must not
    (train.py takes the first module with the name, and upstream's checkpoints then fail)."""
    spec = get_reference("ai85unetlarge")
    assert arch_name(spec) == "maxnas_ai85unetlarge"
    assert module_filename(spec) == "ai85net-maxnas-ai85unetlarge.py"
    assert "'name': 'ai85unetlarge'" not in generate_ai8x_module(spec)




def _initiate_qat(policy: dict, names: list[str]) -> dict[str, int]:
    """ai8x.initiate_qat's rule for weight bits: the policy's for every layer, then
    ``overrides[name]``."""
    out = {}
    for name in names:
        out[name] = policy["weight_bits"]
        if name in (policy.get("overrides") or {}):
            out[name] = policy["overrides"][name]["weight_bits"]
    return out


def test_qat_policy_keeps_every_layers_bits():
    spec = with_bits_cycle(get_reference("unetmysmall"))
    bits = {layer.name: layer.bits for layer in spec.layers()}
    assert {1, 2, 4, 8} <= set(bits.values())
    policy = yaml.safe_load(render_qat_policy(spec))
    assert policy["start_epoch"] == QAT_START_EPOCH
    assert _initiate_qat(policy, list(bits)) == bits
    # the stock CamVid policy (no overrides) would not
    assert _initiate_qat({"start_epoch": 40, "weight_bits": 8}, list(bits)) != bits
    # the module states the same bits
    mod = _load(generate_ai8x_module(spec), _fake_ai8x())
    assert mod.WEIGHT_BITS == bits


def test_ai8x_dataset_names():
    assert ai8x_dataset("camvid4", 4) == "CamVid_s352_c3"
    assert ai8x_dataset("camvid4", 1) == "CamVid_s80_c3"
    assert ai8x_dataset("camvid11", 4) is None


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


@pytest.mark.parametrize("epoch", [0, 55])
def test_export_checkpoints_load_past_qat_start_and_readme_commands(tmp_path, epoch):
    """Checkpoints say epoch >= the stock CamVid QAT start (train.py then fuses BN before
    loading) and keep the real epoch; the README's commands name the real folder, the ai8x
    dataset, the exported policy and the model."""
    from nas.export import export

    spec = get_reference("unetmysmall")
    res = export(spec, tmp_path / "e", input_size=(32, 32), epoch=epoch)
    for role in ("float", "quantized"):
        ckpt = torch.load(res.files[role], weights_only=True)
        assert ckpt["epoch"] == max(epoch, QAT_START_EPOCH)
        assert ckpt["extras"]["maxnas_epoch"] == epoch
    text = res.files["readme"].read_text()
    assert f"export EXPORT={res.out_dir.resolve()}" in text
    assert "/path/to" not in text
    assert "export DATASET=CamVid_s352_c3" in text
    assert "--qat-policy $EXPORT/qat_policy.yaml" in text
    assert f"--model {res.arch}" in text
    for flag in ("--evaluate -8", "--exp-load-weights-from", "--resume-from", "quantize.py",
                 "export.json", "ai8xize.py", "tie"):
        assert flag in text, flag
    assert yaml.safe_load(res.files["qat_policy"].read_text())["overrides"]
    assert json.loads(res.files["manifest"].read_text())["ai8x_dataset"] == "CamVid_s352_c3"
