"""Weight widths in the spec: validation and the low-bit references."""

from __future__ import annotations

import json
import re

import pytest

from nas.spec import ArchSpec, ConvSpec, get_reference, list_references, with_inner_bits


@pytest.mark.parametrize("bad", [3, 16, 0, -1, True, 8.0, "4", None])
def test_conv_bits_must_be_a_chip_width(bad):
    with pytest.raises(ValueError, match=r"enc\.bits must be one of \(1, 2, 4, 8\).*bits="
                                         + re.escape(repr(bad))):
        ConvSpec(16, bits=bad).validate("enc")


@pytest.mark.parametrize("field, where", [("classifier_bits", "classifier_bits"),
                                          ("up_bits", "decoder[0].up_bits")])
def test_other_bit_fields_are_validated(field, where):
    d = get_reference("ai85unetlarge").to_dict()
    if field == "up_bits":
        d["decoder"][0]["up_bits"] = 3
    else:
        d[field] = 3
    with pytest.raises(ValueError, match=re.escape(where) + r" must be one of \(1, 2, 4, 8\).*=3"):
        ArchSpec.from_dict(d)


def test_json_bits_round_trip():
    spec = get_reference("unetmysmall-w4")
    back = ArchSpec.from_json(spec.to_json())
    assert back == spec
    assert json.loads(spec.to_json())["prep"][1]["bits"] == 4


def test_w4_references_are_registered():
    assert {"ai85unetlarge-w4", "unetmysmall-w4"} <= set(list_references())


@pytest.mark.parametrize("name", ["ai85unetlarge", "unetmysmall"])
def test_w4_keeps_first_layer_and_classifier_at_8(name):
    spec = get_reference(f"{name}-w4", num_classes=11)
    layers = spec.layers()
    base = get_reference(name, num_classes=11).layers()
    first = 2 if layers[0].name.endswith("_dw") else 1  # a separable first conv is 2 layers
    assert [x.bits for x in layers[:first]] == [8] * first
    assert layers[-1].name == "conv" and layers[-1].bits == 8
    assert {x.bits for x in layers[first:-1]} == {4}
    assert [(x.name, x.out_channels) for x in layers] == [(x.name, x.out_channels) for x in base]


def test_with_inner_bits_first_conv_without_prep():
    d = get_reference("ai85unetlarge").to_dict()
    d["prep"] = []
    spec = with_inner_bits(ArchSpec.from_dict(d), 2)
    bits = [x.bits for x in spec.layers()]
    assert bits[0] == 8 and bits[-1] == 8 and set(bits[1:-1]) == {2}
    with pytest.raises(ValueError, match="bits=3"):
        with_inner_bits(spec, 3)
