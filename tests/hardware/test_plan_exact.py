"""Exact data-memory planner: plans where the greedy one fails, proofs where none exists."""

from __future__ import annotations

import os
import sys

import pytest
import yaml

from nas.hardware import (
    IzerLayer,
    PlanError,
    check,
    get_device,
    izer_layers,
    plan_exact,
    plan_memory,
    verify_plan,
)
from nas.spec import get_reference
from tests.conftest import require

MAX78000 = get_device("MAX78000")
FULL = (88, 88)  # one 1-pass 88x88 tensor: 30,976 of an instance's 32,768 B


def _conv(name: str, cin: int, cout: int, inputs: tuple[str, ...], kernel: int = 1,
          hw: tuple[int, int] = FULL) -> IzerLayer:
    return IzerLayer(name, "conv2d", cin, cout, kernel, kernel // 2, 0, True, True, 1, 8,
                     inputs, hw, hw)


def _liveness(plan, layers, input_channels):
    from nas.export import check_yaml_liveness, read_yaml_layers

    text = yaml.safe_dump({"layers": plan.yaml_layers()})
    # the walker takes ints, as read back from an exported YAML
    rows = [{k: int(v, 16) if isinstance(v, str) and v.startswith("0x") else v
             for k, v in row.items()} for row in read_yaml_layers(text)]
    return check_yaml_liveness(rows, [ly.out_channels for ly in layers],
                               (input_channels, *layers[0].in_hw))


def test_exact_places_what_the_greedy_planner_cannot():
    # l0 (32 ch, 88x88) stays live while l1 (32 ch) is written, so the two need 16 distinct
    # instances. Greedy "ai8x" puts both at processor 0; greedy "spread" moves l0 off the input
    # to processors 16-47, leaving no 32 contiguous processors for l1.
    layers = [
        _conv("l0", 16, 32, (), 3),
        _conv("l1", 32, 32, ("l0",)),
        _conv("l2", 32, 16, ("l0",)),
        _conv("l3", 16, 16, ("l1", "l2")),
    ]
    with pytest.raises(PlanError) as err:
        plan_memory(layers, MAX78000, 16, exact_ms=0)
    assert err.value.kind == "greedy"
    result = plan_exact(layers, MAX78000, 16, time_ms=5000)
    assert result.status == "feasible"
    plan = result.plan
    assert plan.strategy == "exact"
    assert verify_plan(plan) == []
    assert _liveness(plan, layers, 16) == []
    l0, l1 = plan.by_name("l0").output_processors, plan.by_name("l1").output_processors
    assert l0 & l1 == 0  # what the greedy planner missed: l1 beside l0, not on top of it
    # and plan_memory falls back to it
    assert plan_memory(layers, MAX78000, 16, exact_ms=5000).strategy == "exact"


def test_exact_proves_two_live_full_resolution_tensors_impossible():
    # l0 and l1 are 64 channels (all 16 instances) at 88x88 and live at once
    layers = [
        _conv("l0", 48, 64, (), 3),
        _conv("l1", 64, 64, ("l0",)),
        _conv("l2", 64, 16, ("l0",)),
    ]
    assert plan_exact(layers, MAX78000, 48, time_ms=5000).status == "infeasible"
    with pytest.raises(PlanError) as err:
        plan_memory(layers, MAX78000, 48, exact_ms=5000)
    assert err.value.kind == "proven" and err.value.limit == "data_memory_plan"
    assert "no data-memory layout exists: proven" in str(err.value)


@pytest.mark.parametrize(("channels", "status"), [(32, "infeasible"), (16, "feasible")])
def test_exact_counts_instances_across_three_live_tensors(channels, status):
    # l0, l1, l2 are live at once at 88x88: three 32-channel tensors need 24 of 16 instances
    # (each pair alone fits side by side), three 16-channel ones only 12
    c = channels
    layers = [
        _conv("l0", 48, c, (), 3),
        _conv("l1", c, c, ("l0",)),
        _conv("l2", c, c, ("l1",)),
        _conv("l3", c, c, ("l0",)),
        _conv("l4", c, c, ("l1",)),
        _conv("l5", c, c, ("l2",)),
    ]
    result = plan_exact(layers, MAX78000, 48, time_ms=5000)
    assert result.status == status
    if result.plan is not None:
        assert verify_plan(result.plan) == []


def test_exact_time_out_is_undecided_not_infeasible(monkeypatch):
    import nas.hardware._plan_exact as exact

    layers = izer_layers(get_reference("unetmysmall"), FULL)
    monkeypatch.setattr(exact, "plan_exact_cached",
                        lambda *a: exact.ExactResult("undecided", None, 1.0))
    with pytest.raises(PlanError) as err:
        plan_memory(layers, MAX78000, 48, exact_ms=1)
    assert err.value.kind == "undecided" and err.value.limit == "data_memory_undecided"
    assert "undecided after 1 ms" in str(err.value)


def test_unetmysmall_at_88x88_is_proven_infeasible():
    # dec3_dw's 64-channel input (upconv3 + enc3, 22x22) fills 1,936 B of all 16 instances
    # while enc1's 88x88 output (30,976 B) is live in two of them: 144 B too many
    report = check(get_reference("unetmysmall"), input_size=FULL)
    plans = [v for v in report.violations if v.limit.startswith("data_memory")]
    assert plans and plans[0].limit == "data_memory_plan"
    assert "no data-memory layout exists: proven" in plans[0].message


def test_every_exact_plan_verifies_on_sampled_architectures():
    from search_spaces import get_space, sample_specs

    seen = {"feasible": 0, "infeasible": 0}
    for spec in sample_specs(get_space("unet_max78000"), 60, seed=3):
        layers = izer_layers(spec, FULL)
        try:
            plan_memory(layers, MAX78000, spec.input_channels, exact_ms=0)
            continue
        except PlanError:
            pass
        result = plan_exact(layers, MAX78000, spec.input_channels, time_ms=5000)
        seen[result.status] = seen.get(result.status, 0) + 1
        if result.plan is not None:
            assert verify_plan(result.plan) == [], spec.name
            assert _liveness(result.plan, layers, spec.input_channels) == [], spec.name
    assert seen["feasible"] >= 1  # the sample holds greedy failures the exact planner places


def test_exact_budget_must_be_positive():
    layers = [_conv("l0", 16, 16, ())]
    with pytest.raises(ValueError, match="time_ms"):
        plan_exact(layers, MAX78000, 16, time_ms=0)
    with pytest.raises(ValueError, match="exact_ms"):
        plan_memory(layers, get_device("MAX78000"), 16, exact_ms=-1)


def test_exact_budget_from_the_environment(monkeypatch):
    from nas.hardware import exact_budget_ms

    monkeypatch.setenv("NAS_PLAN_EXACT_MS", "50")
    assert exact_budget_ms() == 50.0
    monkeypatch.setenv("NAS_PLAN_EXACT_MS", "fast")
    with pytest.raises(ValueError, match="NAS_PLAN_EXACT_MS"):
        exact_budget_ms()


@pytest.mark.integration
def test_izer_accepts_a_plan_only_the_exact_planner_finds(tmp_path):
    require(bool(os.environ.get("AI8X_SYNTHESIS_DIR")),
            "AI8X_SYNTHESIS_DIR (an ai8x-synthesis checkout) is not set")
    import numpy as np

    from nas.export import (
        check_yaml_liveness,
        compare_sample_output,
        export,
        read_yaml_layers,
        run_izer,
    )
    from search_spaces import get_space, sample_specs

    spec = next(s for s in sample_specs(get_space("unet_max78000"), 60, seed=3)
                if (r := check(s, input_size=FULL)).feasible and r.plan.strategy == "exact")
    report = check(spec, input_size=FULL)
    res = export(spec, tmp_path / "export", input_size=FULL, seed=1)
    run = run_izer(os.environ["AI8X_SYNTHESIS_DIR"], res.out_dir, tmp_path / "izer",
                   prefix=res.arch, python=os.environ.get("AI8X_PYTHON", sys.executable))
    assert run.returncode == 0, run.stdout[-2000:]
    predicted = res.predicted["MAX78000"]
    assert (run.log.weight_bytes, run.log.bias_bytes, run.log.latency_cycles) == (
        predicted["weight_bytes"], predicted["bias_bytes"], predicted["latency_cycles"])
    layers = read_yaml_layers(res.files["yaml"].read_text())
    assert check_yaml_liveness(layers, [ly.out_channels for ly in report.layers],
                               (spec.input_channels, *FULL)) == []
    last = layers[-1]
    cmp = compare_sample_output(np.load(res.files["expected"]), run.out_dir / "sampleoutput.h",
                                int(last["output_processors"]), int(last["out_offset"]),
                                int(last.get("write_gap", 0)))
    assert cmp.values_compared == cmp.values_total and cmp.mismatches == 0, cmp.first_mismatch
