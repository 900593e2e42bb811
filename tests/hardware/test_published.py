"""The figures izer itself printed (reference notes §2, §3, §6), reproduced without izer."""

from __future__ import annotations

import pytest

from nas.hardware import (
    IzerLayer,
    check,
    check_layers,
    get_device,
    izer_layers,
    kernel_length,
    place_kernels,
)
from nas.hardware._kernels import KernelRequest
from nas.spec import get_reference

ALL = 0xFFFFFFFFFFFFFFFF
P56 = 0x00FFFFFFFFFFFFFF
# networks/camvid-unet-large-fakept.yaml: (processors, output_processors) per layer
SHIPPED_MASKS = [
    (0x0000FFFFFFFFFFFF, ALL), (ALL, ALL), (ALL, 0x00000000FFFFFFFF),
    (0x00000000FFFFFFFF, 0xFF00000000000000), (0xFF00000000000000, 0x00FFFFFFF0000000),
    (0x00FFFFFFF0000000, P56), (P56, P56), (P56, P56), (P56, P56), (P56, P56),
    (P56, 0x000000000FFFFFFF), (P56, 0x000000000FFFFFFF),
    (0x000000000FFFFFFF, 0x00FF000000000000), (0xFFFF000000000000, 0x0000FFFFFFFFFFFF),
    (0x0000FFFFFFFFFFFF, ALL), (ALL, ALL), (ALL, ALL), (ALL, ALL), (ALL, ALL),
]
IZER_LENGTHS = [8, 8, 4, 8, 28, 56, 112, 7, 112, 112, 28, 28, 8, 48, 64, 8, 8, 8, 8]
IZER_OFFSETS = [44, 0, 8, 52, 44, 60, 116, 228, 236, 348, 460, 488, 60, 516, 516, 12, 20, 28, 36]
IZER_CYCLES_88 = [511104, 511104, 263296, 78508, 64428, 29800, 14301, 28072, 56604, 56604,
                  58620, 58620, 78508, 388268, 512172, 511104, 511104, 511104, 511104]


@pytest.fixture(scope="module")
def large():
    return get_reference("ai85unetlarge")


def test_izer_layer_list_has_the_fakept_copy_layer(large):
    layers = izer_layers(large)
    assert len(layers) == 19
    pt = layers[7]
    assert (pt.name, pt.op, pt.kernel, pt.in_channels, pt.out_channels) == ("pt", "conv2d", 1,
                                                                            56, 56)
    assert pt.inputs == ("enc3",) and not pt.bias and not pt.relu
    assert layers[9].inputs == ("upconv3", "pt")


def test_kernel_model_on_the_shipped_masks():
    """izer's kernel lengths and first-fit offsets from the shipped YAML's masks alone."""
    layers = izer_layers(get_reference("ai85unetlarge"))
    requests, lengths = [], []
    for layer, (pin, pout) in zip(layers, SHIPPED_MASKS, strict=True):
        length, _ = kernel_length(layer.kernel, layer.bits, layer.in_passes, layer.out_passes,
                                  pout)
        lengths.append(length)
        requests.append(KernelRequest(layer.name, pin, length))
    offsets, failure = place_kernels(requests, get_device("MAX78000"))
    assert failure is None
    assert lengths == IZER_LENGTHS
    assert offsets == IZER_OFFSETS


def test_planner_reproduces_the_shipped_processor_masks(large):
    report = check(large)
    assert report.plan is not None and report.plan.strategy == "ai8x"
    assert report.plan.masks() == SHIPPED_MASKS


@pytest.mark.parametrize("size, total", [((48, 48), 1_416_401), ((88, 88), 4_754_426)])
def test_ai85unetlarge_fakept_max78000(large, size, total):
    r = check(large, "MAX78000", size)
    assert r.feasible, [v.message for v in r.violations]
    assert r.kernel_lengths == IZER_LENGTHS
    assert r.kernel_offsets == IZER_OFFSETS
    assert r.kernel_peak == 580
    assert r.weight_bytes == 281_312 and r.weight_bytes_total == 442_368
    assert r.bias_bytes == 908 and r.bias_groups == [224, 224, 240, 220]
    assert r.latency_cycles == total
    assert r.latency_ms == pytest.approx(total / 50e3)
    if size == (88, 88):
        assert r.layer_cycles == IZER_CYCLES_88


def test_ai85unetlarge_max78002(large):
    r = check(large, "MAX78002", (48, 48))
    assert r.feasible, [v.message for v in r.violations]
    assert (r.weight_bytes, r.weight_bytes_total) == (281_312, 2_396_160)
    assert (r.bias_bytes, r.bias_bytes_total) == (908, 8_192)
    assert r.latency_cycles is None and r.latency_ms is None


def test_ai85unetlarge_true_passthrough(large):
    r = check(large, "MAX78000", (48, 48), passthrough="true")
    assert r.feasible
    assert r.layers[7].op == "passthrough"
    assert r.weight_bytes == 278_176
    assert r.latency_cycles == 1_408_913
    assert r.layer_cycles[7] == 864


def _conv(name, cin, cout, inputs, hw=(16, 16)):
    return IzerLayer(name, "conv2d", cin, cout, 3, 1, 0, True, True, 1, 8, inputs, hw, hw)


def test_64_256_64_at_16x16():
    r = check_layers([_conv("a", 64, 256, ()), _conv("b", 256, 64, ("a",))])
    assert r.feasible
    assert r.kernel_offsets == [0, 256] and r.kernel_lengths == [256, 256]
    assert r.latency_cycles == 134_449
    assert r.layer_cycles[1] == 68_196  # the 4-pass layer


def test_inserting_256_256_exhausts_kernel_memory():
    r = check_layers([_conv("a", 64, 256, ()), _conv("x", 256, 256, ("a",)),
                      _conv("b", 256, 64, ("x",))])
    assert not r.feasible
    (v,) = [v for v in r.violations if v.limit == "kernel_memory"]
    assert v.layer == "x"
    assert "kernel memory exhausted" in v.message and "needed 1024" in v.message
    assert v.over > 0


def test_92x92_64_channel_input_is_too_big():
    r = check_layers([_conv("a", 64, 64, (), (92, 92))])
    assert not r.feasible
    (v,) = [v for v in r.violations if v.limit == "data_memory_input"]
    assert (v.value, v.allowed, v.over) == (33_856, 32_768, 1_088)
    assert "33,856" in v.message and "32,768" in v.message


def test_33_class_fold4_output_at_88x88_does_not_fit_max78000():
    r = check(get_reference("ai85unetlarge", num_classes=33), "MAX78000", (88, 88))
    assert not r.feasible
    out = [v for v in r.violations if v.limit == "data_memory_output"]
    assert len(out) == 1 and out[0].layer == "conv"
    assert "528 channels" in out[0].message and "64 channels fit" in out[0].message
    assert out[0].value == 88 * 88 * 9 * 4
    bias = [v for v in r.violations if v.limit == "bias_per_layer"]
    assert bias and bias[0].value == 528 and bias[0].allowed == 512
    assert r.constraints()[0] > 0
