import json

import pytest

from nas.spec import ArchSpec, ConvSpec, DecoderLevel, EncoderLevel, get_reference


def test_reference_counts_match_published_figures():
    large = get_reference("ai85unetlarge")
    assert (large.weight_count(), large.bias_count()) == (278_176, 908)
    small = get_reference("unetmysmall")
    assert (small.weight_count(), small.bias_count()) == (110_016, 888)


def test_x86_reference_pytorch_parameter_count():
    spec = get_reference("unetmysmall-x86")
    # weights + biases + affine BN (gamma and beta per channel of every BN'd layer)
    bn = sum(2 * layer.out_channels for layer in spec.layers() if layer.bn)
    assert spec.weight_count() + spec.bias_count() + bn == 43_056


@pytest.mark.parametrize("name", ["ai85unetlarge", "unetmysmall", "unetmysmall-x86"])
def test_json_round_trip(name, tmp_path):
    spec = get_reference(name)
    assert ArchSpec.from_json(spec.to_json()) == spec
    spec.save(tmp_path / "a.json")
    assert ArchSpec.load(tmp_path / "a.json") == spec


def test_unknown_reference_lists_valid_names():
    with pytest.raises(ValueError, match="ai85unetlarge"):
        get_reference("nope")


def _tiny(**kw):
    args = dict(
        name="t",
        num_classes=4,
        encoder=(EncoderLevel((ConvSpec(8),)), EncoderLevel((ConvSpec(16),))),
        decoder=(DecoderLevel(8, (ConvSpec(8),)),),
    )
    args.update(kw)
    return ArchSpec(**args)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"fold_ratio": 3}, "fold_ratio"),
        ({"encoder": (EncoderLevel((ConvSpec(8),)),), "decoder": ()}, "depth"),
        ({"encoder": (EncoderLevel((ConvSpec(8, 5),)), EncoderLevel((ConvSpec(16),)))},
         "kernel"),
        ({"encoder": (EncoderLevel((ConvSpec(6),)), EncoderLevel((ConvSpec(16),)))},
         "out=6"),
        ({"encoder": (EncoderLevel((ConvSpec(8),)), EncoderLevel((ConvSpec(100),)))},
         "out=100"),
        ({"batchnorm": "bad"}, "batchnorm"),
    ],
)
def test_validation_names_field_and_value(kw, match):
    with pytest.raises(ValueError, match=match):
        _tiny(**kw)


def test_concat_layers_and_scales():
    layers = {layer.name: layer for layer in _tiny().layers()}
    assert layers["dec1"].inputs == ("upconv1", "enc1")
    assert layers["dec1"].in_channels == 16
    assert layers["bneck"].pool == 2 and layers["bneck"].scale == 2
    assert layers["conv"].out_channels == 4 * 16


def test_from_dict_rejects_unknown_and_missing_fields():
    d = json.loads(_tiny().to_json())
    with pytest.raises(ValueError, match="unknown"):
        ArchSpec.from_dict({**d, "colour": 1})
    d.pop("encoder")
    with pytest.raises(ValueError):
        ArchSpec.from_dict(d)
