"""nas.front: the one home of the front; its reference bytes come from the device table."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import nas.front
import nas.search
from nas.front import (
    HV_REFERENCE_BYTES,
    FrontPoint,
    front_miou_at,
    log_hypervolume,
    staircase,
    weight_memory_bytes,
)
from nas.hardware import DEFAULT_DEVICE, DEVICES, get_device

# what nas.search exported before the front had a package of its own
SEARCH_NAMES = ("FrontQuality", "HEADLINE_REF_MIOU", "HV_REFERENCE_BYTES", "HV_REFERENCE_MIOU",
                "REACH_MIOUS", "REF_MIOUS", "bytes_to_reach", "front_quality", "hypervolume_2d",
                "hypervolume_frame", "knee_points", "log_hypervolume", "log_hypervolume_curve",
                "log_hypervolume_frame", "pareto_frame", "pareto_mask", "weight_memory_bytes")


@pytest.mark.parametrize("name", SEARCH_NAMES)
def test_search_re_exports_the_front(name):
    assert getattr(nas.search, name) is getattr(nas.front, name)
    assert name in nas.search.__all__


def test_reference_bytes_are_the_devices_weight_memory():
    assert HV_REFERENCE_BYTES == get_device(DEFAULT_DEVICE).kernel_bytes_total
    for name, device in DEVICES.items():
        assert weight_memory_bytes(name) == device.kernel_bytes_total
    # log_hypervolume's default reference: the default device's weight memory
    top = math.log10(weight_memory_bytes())
    assert log_hypervolume([0.7], [1_000], 0.6) == pytest.approx(0.1 * (top - 3))


def test_staircase_hand_checked():
    d = pd.DataFrame({"param_bytes": [300, 100, 200, 100, 400, 500],
                      "m": [0.5, 0.4, 0.3, 0.4, None, 0.6]}, index=list("abcdef"))
    # b (first of the tie with d), then a; c is dominated by b, e has no mIoU
    assert list(staircase(d, "m").index) == ["b", "a", "f"]
    assert staircase(d.iloc[:0], "m").empty


def test_front_miou_at_is_the_staircase_height():
    points = [FrontPoint(0.4, 100), FrontPoint(0.5, 300), FrontPoint(0.3, 200)]
    assert front_miou_at(points, 99) is None
    assert [front_miou_at(points, b) for b in (100, 250, 300, 10**6)] == [0.4, 0.4, 0.5, 0.5]
