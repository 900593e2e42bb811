"""Bias memory as izer lays it out (``izer/kbias.py``), depthwise layers included.

Expected values are izer's own: the lists it printed for a real export, or what izer's
``kbias.load`` returned for the explicit processor masks given here (ai8x-synthesis at
ab4f4c01, ``tc.dev`` set for the device, every layer with non-zero biases, no ``calcx4``).
"""

from __future__ import annotations

from nas.hardware import (
    BiasRequest,
    IzerLayer,
    bias_requests,
    check,
    check_layers,
    get_device,
    groups_used,
    place_biases,
)
from nas.spec import get_reference

A = "all"
# izer's log for the untrained unetmysmall-x86 export on MAX78002 at 88x88, from
#   python -m benchmarks.izer_agreement --synthesis-dir ai8x-synthesis \
#       --python IZER_VENV/bin/python --references unetmysmall-x86 --sampled 0 --device MAX78002
# (ai8x-synthesis ab4f4c01; ai8xize.py ... --device MAX78002 --verbose, see nas.export.izer_args)
IZER_X86_QUADRANT = [A, 3, A, 1, A, 1, A, 0, A, 2, A, 2, A, 3, 3, A, 0, 1, A, 2, 1, A, 3, A, 1,
                     A, 2, A, 3, 0, 2]
N = None
IZER_X86_OFFSETS = [
    [0, 0, 0, N], [136, 136, 136, 136], [16, 16, N, N], [144, 144, 144, 144], [32, 32, N, N],
    [208, 208, 208, 208], [48, N, N, N], [240, 240, 240, 240], [N, N, N, 0],
    [208, 208, 208, 208], [N, N, 16, 8], [144, 144, 144, 144], [N, N, 32, 16],
    [72, 72, 72, 72], [168, 168, 168, 168], [96, 80, 48, 32], [176, 176, 176, 176],
    [224, 224, 224, 224], [N, 96, 64, 48], [224, 224, 224, 224], [240, 240, 240, 240],
    [N, N, N, 56], [232, 232, 232, 232], [128, N, N, N], [176, 176, 176, 176],
    [144, 112, N, N], [176, 176, 176, 176], [160, 128, N, N], [200, 200, 200, 200],
    [208, 208, 208, 208], [80, 80, 80, 80],
]


def _span(first: int, last: int) -> int:
    """Processor mask of processors ``first..last``."""
    return ((1 << (last - first + 1)) - 1) << first


def _request(name: str, channels: int, pin: int, pout: int, groups: int = 1) -> BiasRequest:
    return BiasRequest(name, channels, 1, channels, pin, pout, groups)


def test_unetmysmall_x86_max78002_bias_layout_is_izers():
    r = check(get_reference("unetmysmall-x86"), "MAX78002", (88, 88))
    assert r.feasible, [v.message for v in r.violations]
    assert [A if f.bias_group == -1 else f.bias_group for f in r.figures] == IZER_X86_QUADRANT
    assert [list(f.bias_offsets) for f in r.figures] == IZER_X86_OFFSETS
    # log.txt "Bias memory: 984 bytes"; cnn.c load_bias() copies 248, 248, 240, 248 bytes
    assert r.bias_bytes == 984 and r.bias_groups == [248, 248, 240, 248]


def test_depthwise_walk_reserves_bytes_in_the_groups_below():
    # a depthwise layer reading processors 16-47 and writing 0-31: izer's walk starts at
    # processor 0, so group 0 gets 16 reserved bytes although the layer has no input there
    dev = get_device("MAX78002")
    requests = [_request("c0", 32, _span(0, 2), _span(16, 47)),
                _request("dw", 32, _span(16, 47), _span(0, 31), groups=32),
                _request("c1", 8, _span(0, 31), _span(0, 7))]
    result = place_biases(requests, [0, 1, 2], dev)
    assert result.failure is None
    # izer: offsets [[16]*4, [None, 0, 0, None], [16]*4], quadrants [0, 'all', 1]
    assert result.layer_offsets == {"c0": (16,) * 4, "dw": (None, 0, 0, None), "c1": (16,) * 4}
    assert result.layer_group == {"c0": 0, "dw": -1, "c1": 1}
    assert result.group_bytes == [48, 24, 16, 0]


def test_reserved_bytes_can_exhaust_bias_memory():
    # 126 depthwise layers on processors 16-47 (every other one broadcast) leave 2,016 B in
    # groups 0-2; izer then stops at the 48-channel layer: "bias memory capacity exhausted -
    # available groups: [0, 1, 2], used so far: [2016, 2016, 2016, 0], needed: 48 bytes,
    # best available: group 0 with 32 bytes available."
    dev = get_device("MAX78002")
    requests = [_request("first", 32, _span(0, 2), _span(16, 47))]
    for i in range(126):
        out = _span(0, 31) if i % 2 == 0 else _span(16, 47)
        requests.append(_request(f"dw{i}", 32, _span(16, 47), out, groups=32))
    requests.append(_request("last", 48, _span(0, 31), _span(0, 47)))
    result = place_biases(requests, [0, 1, 2], dev)
    assert result.failure is not None
    assert (result.failure.layer, result.failure.needed, result.failure.group,
            result.failure.free) == ("last", 48, 0, 32)
    assert result.group_bytes[:3] == [2016, 2016, 2016]


def test_gap_in_a_later_group_fails_as_in_izer():
    # input processors 16-19 and 24-27: izer's gap insertion indexes past the 8 bias values
    # (numpy IndexError "index 20 is out of bounds for axis 1 with size 8")
    dev = get_device("MAX78002")
    pin = _span(16, 19) | _span(24, 27)
    result = place_biases([_request("dw", 8, pin, _span(0, 7), groups=8)], [0, 1], dev)
    assert result.failure is not None and result.failure.processor == 20


def _conv(name: str, cin: int, cout: int, groups: int, inputs: tuple[str, ...],
          bias: bool = True) -> IzerLayer:
    return IzerLayer(name, "conv2d", cin, cout, 3, 1, 0, False, bias, groups, 8, inputs,
                     (8, 8), (8, 8))


def test_check_reports_depthwise_bias_overflow():
    # 65 two-pass depthwise layers in place on all 64 processors: 32 B per group each. izer:
    # "Layer 64 (dw64): Bias memory capacity for group 0 exhausted, used so far: 2048.";
    # with 64 of them izer fills every group to exactly 2,048 B
    layers = [_conv("in", 3, 128, 1, (), bias=False)]
    for i in range(65):
        layers.append(_conv(f"dw{i}", 128, 128, 128, (layers[-1].name,)))
    r = check_layers(layers, "MAX78002")
    assert {(f.processors, f.output_processors) for f in r.figures[1:]} == {(_span(0, 63),) * 2}
    bias = [v for v in r.violations if v.limit.startswith("bias")]
    assert [(v.layer, v.limit) for v in bias] == [("dw64", "bias_memory")]
    assert not r.feasible and "group 0" in bias[0].message
    ok = check_layers(layers[:-1], "MAX78002")  # one fewer fits exactly: 2,048 B per group
    assert ok.feasible and ok.bias_groups == [2048] * 4


def test_bias_requests_skip_omitted_layers():
    layers = [_conv("a", 3, 16, 1, ()), _conv("b", 16, 16, 16, ("a",)),
              _conv("c", 16, 8, 1, ("b",))]
    masks = [(_span(0, 2), _span(0, 15)), (_span(0, 15), _span(0, 15)),
             (_span(0, 15), _span(16, 23))]
    names = [r.name for r in bias_requests(layers, masks, omit={"c"})]
    assert names == ["a", "b"]
    assert groups_used(masks, get_device("MAX78002")) == [0, 1]
