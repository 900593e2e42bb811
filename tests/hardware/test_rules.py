"""Rule checks, devices, constraints and the JSON summary."""

from __future__ import annotations

import json

import pytest

from nas.hardware import DEVICES, check, get_device
from nas.spec import ArchSpec, ConvSpec, DecoderLevel, EncoderLevel, get_reference


def _unet(widths, ups=None, convs=1, prep=(), head=(), num_classes=4, **kw) -> ArchSpec:
    ups = ups or list(reversed(widths[:-1]))
    return ArchSpec(
        name="t", num_classes=num_classes,
        encoder=tuple(EncoderLevel(tuple(ConvSpec(w) for _ in range(convs))) for w in widths),
        decoder=tuple(DecoderLevel(u, (ConvSpec(u),)) for u in ups),
        prep=tuple(ConvSpec(w, 1) for w in prep), head=tuple(ConvSpec(w, 1) for w in head),
        **kw,
    )


def test_devices():
    assert sorted(DEVICES) == ["MAX78000", "MAX78002"]
    assert get_device("max78000").kernel_bytes_total == 442_368
    assert get_device("MAX78002").kernel_bytes_total == 2_396_160
    assert get_device("MAX78000").bias_bytes_total == 2_048
    with pytest.raises(ValueError, match=r"available: \['MAX78000', 'MAX78002'\]"):
        get_device("MAX78001")


def test_bad_passthrough_mode():
    with pytest.raises(ValueError, match="passthrough must be one of"):
        check(get_reference("ai85unetlarge"), passthrough="fake")


def test_depthwise_only_on_max78002():
    spec = get_reference("unetmysmall-x86")
    r = check(spec, "MAX78000")
    assert not r.feasible
    dw = [v for v in r.violations if v.limit == "operator"]
    assert dw and "depthwise" in dw[0].message and dw[0].layer.endswith("_dw")
    assert check(spec, "MAX78002").feasible


def test_input_size_must_divide_by_pooling():
    spec = get_reference("ai85unetlarge")  # depth 4 -> multiple of 8
    r = check(spec, "MAX78000", (84, 88))
    v = [v for v in r.violations if v.limit == "input_size"]
    assert len(v) == 1 and "84" in v[0].message and "multiple of 2^(depth-1) = 8" in v[0].message
    assert r.latency_cycles is None


def test_layer_count_limit():
    spec = _unet([16, 16, 16, 16], convs=4, prep=(16,) * 6, head=(16,) * 6)
    assert len(spec.layers()) > 32
    r = check(spec, "MAX78000", (32, 32))
    (v,) = [v for v in r.violations if v.limit == "layers"]
    assert v.allowed == 32 and v.value == len(r.layers) and v.over == len(r.layers) - 32
    assert not [v for v in check(spec, "MAX78002", (32, 32)).violations if v.limit == "layers"]


def test_concat_parts_need_equal_channels_like_izer():
    spec = _unet([8, 16], ups=[16])  # cat(upconv1 16, enc1 8): izer.py rejects unequal counts
    r = check(spec, "MAX78000", (32, 32))
    (v,) = [v for v in r.violations if v.limit == "concat_channels"]
    assert v.layer == "dec1" and "[16, 8]" in v.message and v.over == 8


def test_wide_concat_needs_equal_parts():
    spec = _unet([32, 64], ups=[32])  # cat(32, 32) = 64: fine
    assert check(spec, "MAX78000", (32, 32)).feasible
    spec = _unet([64, 128], ups=[32])  # cat(32, 64) = 96 > 64 with unequal parts
    r = check(spec, "MAX78000", (32, 32))
    (v,) = [v for v in r.violations if v.limit == "concat_channels"]
    assert "[32, 64]" in v.message and v.layer == "dec1"
    spec = _unet([64, 128], ups=[64])  # cat(64, 64) = 128: interleaved with a copy layer
    r = check(spec, "MAX78000", (32, 32))
    assert r.feasible and [layer.name for layer in r.layers].count("pt") == 1


def test_bias_per_layer_and_group_limits():
    spec = _unet([16, 16], head=(576,))  # 576 biases in one layer > 512 B per group
    r = check(spec, "MAX78000", (16, 16))
    (v,) = [v for v in r.violations if v.limit == "bias_per_layer"]
    assert v.layer == "conv_p1" and v.value == 576 and v.over == 64
    assert not [v for v in check(spec, "MAX78002", (16, 16)).violations
                if v.limit.startswith("bias")]


def test_kernel_memory_overflow_is_reported_like_izer():
    spec = _unet([256, 256, 256], ups=[256, 256], convs=2)
    r = check(spec, "MAX78000", (16, 16))
    (v,) = [v for v in r.violations if v.limit == "kernel_memory"]
    assert "kernel memory exhausted at processor" in v.message and v.over > 0


def test_constraints():
    r = check(get_reference("ai85unetlarge"))
    assert r.constraints() == [0.0, 0.0, 0.0]
    hw, weight, latency = r.constraints(max_weight_bytes=300_000, max_latency_ms=50)
    assert hw == 0.0
    assert weight == pytest.approx((281_312 + 908) / 300_000 - 1)
    assert latency == pytest.approx(4_754_426 / 50e6 * 1e3 / 50 - 1) and latency > 0
    assert all(c <= 0 for c in r.constraints(max_weight_bytes=400_000, max_latency_ms=100))
    bad = check(get_reference("ai85unetlarge"), input_size=(96, 96))
    assert bad.constraints()[0] > 0
    with pytest.raises(ValueError, match="latency estimate"):
        check(get_reference("ai85unetlarge"), "MAX78002").constraints(max_latency_ms=10)


def test_violations_name_layer_limit_value_and_excess():
    r = check(get_reference("ai85unetlarge"), input_size=(96, 96))
    assert r.violations
    for v in r.violations:
        assert v.over > 0 and v.limit and str(int(v.over)) in v.message.replace(",", "")


def test_to_dict_is_json_with_the_cli_keys():
    d = json.loads(json.dumps(check(get_reference("ai85unetlarge")).to_dict()))
    for key in ("feasible", "violations", "weight_bytes", "bias_bytes", "bias_groups",
                "kernel_offsets", "kernel_lengths", "latency_cycles", "layer_cycles"):
        assert key in d
    assert d["feasible"] is True and len(d["layers"]) == 19 and len(d["plan"]) == 19
