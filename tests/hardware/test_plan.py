"""Memory plan: izer YAML fields, liveness proof, and that the proof can fail."""

from __future__ import annotations

import dataclasses
import json

import pytest

from nas.hardware import (
    check,
    get_device,
    in_place_shift,
    izer_layers,
    plan_layers,
    plan_memory,
    verify_plan,
)
from nas.spec import get_reference

YAML_KEYS = {"processors", "output_processors", "in_offset", "out_offset", "operation",
             "kernel_size", "pad", "activate", "name"}


@pytest.fixture(scope="module")
def plan():
    layers = izer_layers(get_reference("ai85unetlarge"), (88, 88))
    return plan_memory(layers, get_device("MAX78000"), 48)


def test_plan_is_live_and_fits(plan):
    assert verify_plan(plan) == []
    for p in plan.layers:
        assert p.out_offset % 4 == 0 and p.in_offset % 4 == 0
        assert p.in_offset + p.in_dim[0] * p.in_dim[1] * p.in_passes * 4 <= 32768
    assert plan.input_offset == 0x700  # 88x88 input ends exactly at the top, as ai8x's YAML


def test_concat_wiring_matches_the_shipped_yaml(plan):
    seq = {p.name: p.in_sequences for p in plan.layers}
    assert seq["pt"] == (5,) and seq["upconv3"] == (6,)
    assert seq["dec3"] == (8, 7) and seq["dec2"] == (10, 4) and seq["dec1"] == (12, 3)
    pt, up3, dec3 = plan.by_name("pt"), plan.by_name("upconv3"), plan.by_name("dec3")
    assert pt.write_gap == up3.write_gap == 1
    assert pt.out_offset == up3.out_offset + 4 == dec3.in_offset + 4
    up2, enc2 = plan.by_name("upconv2"), plan.by_name("enc2")
    assert up2.out_offset == enc2.out_offset == plan.by_name("dec2").in_offset


def test_yaml_layers_are_plain_izer_dicts(plan):
    rows = plan_layers(plan)
    assert len(rows) == 19
    assert all(YAML_KEYS <= set(r) for r in rows)
    json.dumps(rows)  # plain data
    assert rows[0]["processors"] == "0x0000ffffffffffff"
    assert rows[0]["in_offset"] == "0x0700"
    assert rows[7]["in_sequences"] == [5] and rows[7]["write_gap"] == 1
    assert rows[7]["kernel_size"] == "1x1" and rows[7]["activate"] == "None"
    assert rows[4]["max_pool"] == 2 and rows[4]["pool_stride"] == 2
    assert rows[8]["operation"] == "convtranspose2d" and rows[8]["pad"] == 1
    assert "in_sequences" not in rows[1]  # reads the previous layer


def _replace(plan, name, **kw):
    layers = tuple(dataclasses.replace(p, **kw) if p.name == name else p for p in plan.layers)
    return dataclasses.replace(plan, layers=layers)


def test_verify_catches_an_overwritten_skip(plan):
    # enc2 writes where enc1 (read again by dec1) lives, in the same instances
    enc1 = plan.by_name("enc1")
    bad = _replace(plan, "enc2", output_processors=enc1.output_processors,
                   out_offset=enc1.out_offset)
    problems = verify_plan(bad)
    assert any("enc2 writes over the output of enc1" in p for p in problems)


def test_verify_catches_a_too_small_in_place_shift(plan):
    p1 = plan.by_name("conv_p1")
    bad = _replace(plan, "conv_p1", out_offset=p1.in_offset - 4)
    assert any("conv_p1 writes over the output of dec1_1" in p for p in verify_plan(bad))
    ok = _replace(plan, "conv_p1", out_offset=p1.in_offset - in_place_shift(1, 0, 88, 1))
    assert verify_plan(ok) == []


def test_verify_catches_interleaved_slots_colliding(plan):
    up3 = plan.by_name("upconv3")
    bad = _replace(plan, "pt", out_offset=up3.out_offset)
    assert any("upconv3 writes over the output of pt" in p for p in verify_plan(bad))


def test_in_place_shift_admits_the_shipped_shifts():
    assert in_place_shift(1, 0, 88, 1) <= 0x100
    assert in_place_shift(3, 1, 88, 1) <= 0x1B0
    assert in_place_shift(3, 1, 88, 1) >= 4 * 89  # one padded row + 1 pixel


def test_unetmysmall_does_not_fit_max78000_at_88x88_but_at_80x80():
    spec = get_reference("unetmysmall")
    r = check(spec, "MAX78000", (88, 88))
    (v,) = r.violations
    assert v.limit == "data_memory_plan" and v.layer == "enc3"
    assert "enc1" in v.message and v.over == 1936 - 1792
    r80 = check(spec, "MAX78000", (80, 80))
    assert r80.feasible and verify_plan(r80.plan) == []
    r2 = check(spec, "MAX78002", (88, 88))
    assert r2.feasible and verify_plan(r2.plan) == []


def test_sampled_feasible_plans_verify():
    spaces = pytest.importorskip("search_spaces")
    specs = spaces.sample_specs(spaces.get_space("unet_max78000"), 60, seed=1)
    n_feasible = 0
    for spec in specs:
        for size in ((88, 88), (48, 48)):
            r = check(spec, "MAX78000", size)
            if r.plan is not None:
                assert verify_plan(r.plan) == [], spec.name
            n_feasible += r.feasible
    assert n_feasible > 0
