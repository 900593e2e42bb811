"""Low-bit weights (izer ``quantization: 1/2/4``): kernel packing, weight memory, alignment."""

from __future__ import annotations

import dataclasses

import pytest

from nas.hardware import check, check_layers, izer_layers, kernel_length
from nas.hardware._kernels import low_bit_unaligned
from nas.spec import (
    ArchSpec,
    ConvSpec,
    DecoderLevel,
    EncoderLevel,
    get_reference,
    with_inner_bits,
)

ALL = (1 << 64) - 1
P28 = (1 << 28) - 1


# izer kernels.py: kc = output-processor span x out passes x in passes, qfactor = 8 // bits,
# res = (kc % qfactor) * k*k * (qfactor - 1), length = ceil((kc*k*k*bits + res) / 72).
@pytest.mark.parametrize("kernel, bits, in_passes, out_passes, mask, words", [
    # 3x3, 64 output processors: one 72-bit word per 8-bit kernel; 2/4/8 kernels share it
    (3, 8, 1, 1, ALL, 64), (3, 4, 1, 1, ALL, 32), (3, 2, 1, 1, ALL, 16), (3, 1, 1, 1, ALL, 8),
    # 28 processors at 1 bit: 28*9 = 252 bits + (28 % 8)*9*7 = 252 padding -> ceil(504/72) = 7
    (3, 1, 1, 1, P28, 7),
    # 28 at 4 bits: 28*9*4 = 1008 bits, 28 % 2 = 0 -> 14; at 2 bits: 504 bits -> 7
    (3, 4, 1, 1, P28, 14), (3, 2, 1, 1, P28, 7),
    # 1x1, 64 processors: 512 bits -> 8 words at 8 bits; 256 bits -> 4 at 4 bits
    (1, 8, 1, 1, ALL, 8), (1, 4, 1, 1, ALL, 4), (1, 1, 1, 1, ALL, 1),
    # 112 -> 112 channels (2 x 56 processors, 2 in x 2 out passes): kc = 56*2*2 = 224
    (3, 8, 2, 2, (1 << 56) - 1, 224), (3, 4, 2, 2, (1 << 56) - 1, 112),
    # 6 processors at 2 bits: 108 bits + (6 % 4)*9*3 = 54 padding -> ceil(162/72) = 3
    (3, 2, 1, 1, (1 << 6) - 1, 3),
])
def test_kernel_length_low_bit_packing(kernel, bits, in_passes, out_passes, mask, words):
    length, _ = kernel_length(kernel, bits, in_passes, out_passes, mask)
    assert length == words


def test_kernel_count_does_not_depend_on_bits():
    # kern_count drives the latency's output slots; izer's latency ignores the weight width
    counts = {kernel_length(3, b, 1, 1, P28 << 4)[1] for b in (8, 4, 2, 1)}
    assert counts == {28}


def test_kernel_length_rejects_other_widths():
    with pytest.raises(ValueError, match="bits=3"):
        kernel_length(3, 3, 1, 1, ALL)


def test_low_bit_unaligned_is_izers_warning_condition():
    # izer warns when quantization != 8 and ffs(output_processors) % 4 > 0
    assert low_bit_unaligned(4, 0b1110, 4)
    assert low_bit_unaligned(1, 1 << 33, 4)
    assert not low_bit_unaligned(4, 0b11110000, 4)
    assert not low_bit_unaligned(8, 0b1110, 4)  # 8-bit layers may start anywhere


def _skip_net(channels: int, up_bits: int):
    """Hand-made izer layers of a one-level U-Net whose skip and upsampling output have
    ``channels`` channels each (izer wants equal concat parts).

    ai8x stacks a narrow concat from processor 63 down: the skip at ``64 - c``, the upsampling
    output right below it at ``64 - 2c``, which is unaligned for odd ``c``. Specs only have
    multiples of 4 channels, and every planner starts tensors at multiples of 4, so a valid
    spec never reaches the rule; the odd concat part also breaks ``concat_channels``."""
    spec = ArchSpec(name="t", num_classes=4,
                    encoder=(EncoderLevel(convs=(ConvSpec(8),)),
                             EncoderLevel(convs=(ConvSpec(16),))),
                    decoder=(DecoderLevel(up=8, convs=(ConvSpec(8),), up_bits=up_bits),))
    layers = izer_layers(spec, (16, 16))
    assert [x.name for x in layers] == ["enc1", "bneck", "upconv1", "dec1", "conv"]
    enc1, bneck, up, dec1, conv = layers
    layers = [dataclasses.replace(enc1, out_channels=channels),
              dataclasses.replace(bneck, in_channels=channels),
              dataclasses.replace(up, out_channels=channels),
              dataclasses.replace(dec1, in_channels=2 * channels), conv]
    return check_layers(layers, "MAX78000", spec.input_channels)


@pytest.mark.parametrize("channels, up_bits, first_out, reported", [
    (5, 4, 54, True),    # 4-bit layer from processor 54: 54 % 4 = 2 -> izer warns
    (3, 2, 58, True),
    (5, 1, 54, True),
    (5, 8, 54, False),   # 8-bit layers may start anywhere
    (6, 4, 52, False),   # aligned: 64 - 2 * 6 = 52
    (8, 2, 48, False),
])
def test_low_bit_alignment_violation_reported(channels, up_bits, first_out, reported):
    r = _skip_net(channels, up_bits)
    up = next(f for f in r.figures if f.name == "upconv1")
    assert up.output_processors == ((1 << channels) - 1) << first_out
    found = [v for v in r.violations if v.limit == "low_bit_alignment"]
    if reported:
        assert [(v.layer, v.value) for v in found] == [("upconv1", first_out % 4)]
        assert f"{up_bits}-bit weights" in found[0].message
        assert f"processor {first_out}" in found[0].message
        assert not r.feasible
    else:
        assert found == []
    if channels % 4 == 0:  # a valid layout: nothing else in the way
        assert r.feasible, [v.message for v in r.violations]


@pytest.mark.parametrize("name, ref, expected", [
    # ai85unetlarge: 278,176 weights; first layer 48*64 = 3,072 and classifier 64*64 = 4,096
    # stay 8-bit: 7,168 + (278,176 - 7,168) / 2 = 142,672 B
    ("ai85unetlarge-w4", "ai85unetlarge", 142_672),
    # unetmysmall: 110,016; first conv (1x1 separable: 48*48 + 48*32) and classifier 32*64 at 8
    ("unetmysmall-w4", "unetmysmall", (48 * 48 + 48 * 32 + 32 * 64)
     + (110_016 - (48 * 48 + 48 * 32 + 32 * 64)) // 2),
])
def test_w4_reference_weight_memory(name, ref, expected):
    spec = get_reference(name)
    assert spec.layer_weight_bytes() == expected
    assert spec == with_inner_bits(get_reference(ref), 4, name)
    r = check(spec, "MAX78000", (48, 48))
    assert r.feasible, [v.message for v in r.violations]
    # the fakept copy layer of ai85unetlarge stays 8-bit: 56*56 = 3,136 B on top
    extra = 3_136 if ref == "ai85unetlarge" else 0
    assert r.weight_bytes == expected + extra


def test_low_bits_shrink_kernel_lengths_of_the_same_layout():
    r8 = check(get_reference("ai85unetlarge"), "MAX78000", (48, 48))
    r4 = check(get_reference("ai85unetlarge-w4"), "MAX78000", (48, 48))
    assert [f.output_processors for f in r8.figures] == [f.output_processors for f in r4.figures]
    for layer, n8, n4 in zip(r4.layers, r8.kernel_lengths, r4.kernel_lengths, strict=True):
        if layer.bits == 4:
            assert n4 < n8 or n8 == 1, layer.name
        else:
            assert n4 == n8, layer.name
    assert r4.kernel_peak < r8.kernel_peak


def test_ai85unetlarge_w4_as_izer_printed_it():
    """izer (ab4f4c01, MAX78000, 88x88, --new-kernel-loader --verbose) on the exported
    ai85unetlarge-w4: its log's kernel offsets/lengths, Weight and Bias memory and latency."""
    r = check(get_reference("ai85unetlarge-w4"), "MAX78000", (88, 88))
    assert r.feasible, [v.message for v in r.violations]
    assert r.kernel_offsets == [28, 0, 4, 36, 28, 40, 68, 124, 132, 188, 244, 260, 40, 276, 276,
                                8, 12, 16, 20]
    assert r.kernel_lengths == [8, 4, 2, 4, 14, 28, 56, 7, 56, 56, 14, 14, 4, 24, 32, 4, 4, 4, 8]
    assert (r.weight_bytes, r.bias_bytes) == (145_808, 908)
    assert r.latency_cycles == 4_754_426  # the 8-bit net's figure: izer's latency ignores bits
