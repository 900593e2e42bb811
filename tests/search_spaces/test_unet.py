import json
import warnings

import optuna
import pytest
from optuna.trial import FixedTrial

from nas.spec import ArchSpec, get_reference, width_rule_ok
from search_spaces import UNetSpace, get_space, list_spaces, sample_specs

SPACE = get_space("unet_max78000")


def _chosen_widths(spec):
    for c in spec.prep + spec.head:
        yield c.out
    for lvl in spec.encoder:
        yield from (c.out for c in lvl.convs)
    for lvl in spec.decoder:
        yield lvl.up
        yield from (c.out for c in lvl.convs)


@pytest.fixture(scope="module")
def sampled():
    return sample_specs(SPACE, 200, seed=0)


def test_registry_lists_valid_names():
    assert {"unet_max78000", "unet_max78002"} <= set(list_spaces())
    with pytest.raises(ValueError, match="unet_max78000"):
        get_space("unet-small")


@pytest.mark.parametrize("name", ["ai85unetlarge", "unetmysmall"])
def test_fixed_trial_reproduces_reference(name):
    ref = get_reference(name)
    params = SPACE.params_for(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert SPACE(FixedTrial(params)) == ref


def test_ai85unetlarge_bottleneck_uses_per_pass_override():
    params = SPACE.params_for(get_reference("ai85unetlarge"))
    assert params["enc4_width"] == 128 and params["enc4_width_per_pass"] == 56
    with pytest.warns(UserWarning, match="out of"):
        SPACE(FixedTrial(params))


def test_x86_reference_needs_the_max78002_space():
    ref = get_reference("unetmysmall-x86")
    with pytest.raises(ValueError, match="depthwise"):
        SPACE.params_for(ref)
    space = get_space("unet_max78002")
    assert space(FixedTrial(space.params_for(ref))) == ref


def test_enqueued_reference_is_rebuilt_by_a_study():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    ref = get_reference("ai85unetlarge")
    study.enqueue_trial(SPACE.params_for(ref))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert SPACE(study.ask()) == ref


def test_sampled_specs_obey_width_rule_and_kernels(sampled):
    for spec in sampled:
        assert all(width_rule_ok(w) for w in _chosen_widths(spec)), spec.name
        assert all(layer.kernel in (1, 3) for layer in spec.layers()), spec.name
        assert 2 <= spec.depth <= 4 and spec.fold_ratio == 4
        assert not any(layer.groups > 1 for layer in spec.layers())  # no depthwise on 78000
    assert {s.depth for s in sampled} == {2, 3, 4}


def test_sampled_specs_round_trip_json(sampled):
    for spec in sampled:
        assert ArchSpec.from_json(spec.to_json()) == spec
        assert ArchSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_params_for_inverts_sampled_specs(sampled):
    for spec in sampled[:50]:
        assert SPACE(FixedTrial(SPACE.params_for(spec))) == spec


def _has(params, name):
    """``name`` or its data-memory-capped variant ``name_max<cap>`` was asked."""
    return any(k == name or k.startswith(f"{name}_max") and "_per_pass" not in k
               for k in params)


def test_parameters_are_conditional_on_depth():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(30):
        trial = study.ask()
        spec = SPACE(trial)
        study.tell(trial, 0.0)
        depth = trial.params["depth"]
        assert spec.depth == depth
        for level in range(1, 6):
            assert _has(trial.params, f"enc{level}_width") == (level <= depth)
            narrow = level < depth and spec.encoder[level - 1].width <= 64
            asked = f"dec{level}_skip" in trial.params or f"dec{level}_skip_unfit" in trial.params
            assert asked == narrow
            has_up = level < depth and not trial.params.get(f"dec{level}_skip", False)
            assert _has(trial.params, f"dec{level}_up") == has_up
        for i in range(3):
            assert (f"head{i}_width" in trial.params) == (i < trial.params["n_head"])


def test_each_parameter_name_keeps_one_distribution():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
    seen = {}
    for _ in range(150):
        trial = study.ask()
        SPACE(trial)
        study.tell(trial, 0.0)
        for name, dist in trial.distributions.items():
            assert seen.setdefault(name, dist) == dist, name
    assert any("_max" in name for name in seen)  # the capped variants were exercised


def _processors(width):
    return min(64, width)


def test_deeper_levels_leave_enc1_its_instances(sampled):
    """enc2 is written while enc1 lives; with the level-1 skip, so is all of levels 2-3."""
    for spec in sampled:
        w1 = spec.encoder[0].width
        skip1 = spec.decoder[-1].skip
        assert _processors(spec.encoder[1].width) <= 64 - w1, spec.name
        level2_out = spec.decoder[-2].convs[-1].out if spec.depth > 2 else spec.encoder[1].width
        assert _processors(level2_out) + spec.decoder[-1].up + (w1 if skip1 else 0) <= 64
        if skip1:
            assert 2 * w1 <= 60
            for lvl in spec.encoder[1:3]:
                assert lvl.width + w1 <= 64 or lvl is spec.encoder[-1] and spec.depth == 4
            for k, lvl in enumerate(spec.decoder[:-1]):
                level = spec.depth - 1 - k
                if level <= 3:
                    assert all(c.out + w1 <= 64 for c in lvl.convs), spec.name


def test_blocked_choices_are_int_parameters_a_fixed_trial_can_set():
    ref = get_reference("unetmysmall")  # its 32-channel level-3 skip does not fit beside enc1
    params = SPACE.params_for(ref)
    assert params["dec3_skip_unfit"] == 1 and "dec3_skip" not in params
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(100):
        trial = study.ask()
        SPACE(trial)
        study.tell(trial, 0.0)
        assert not any(v for k, v in trial.params.items() if k.endswith("_unfit"))


def test_most_sampled_specs_fit_max78000(sampled):
    from nas.hardware import check

    specs = sampled[:100]
    reports = [check(s, "MAX78000", (88, 88)) for s in specs]
    assert sum(r.feasible for r in reports) >= 60  # 22 of 100 before the data-memory caps
    feasible_bytes = [r.weight_bytes for r in reports if r.feasible]
    assert min(feasible_bytes) < 20_000 and max(feasible_bytes) > 150_000


def test_max78002_space_is_not_capped():
    space = get_space("unet_max78002")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(30):
        trial = study.ask()
        space(trial)
        study.tell(trial, 0.0)
        assert not any("_max" in k or k.endswith("_unfit") for k in trial.params)


def test_skip_ties_upsampling_width_to_the_skip(sampled):
    for spec in sampled:
        for k, lvl in enumerate(spec.decoder):
            if lvl.skip:
                assert lvl.up == spec.encoder[spec.depth - 2 - k].width


def test_sample_specs_is_deterministic():
    assert sample_specs(SPACE, 5, seed=7) == sample_specs(SPACE, 5, seed=7)
    assert sample_specs(SPACE, 5, seed=7) != sample_specs(SPACE, 5, seed=8)


def test_space_rejects_depth_that_cannot_pool_the_input():
    with pytest.raises(ValueError, match="divisible"):
        UNetSpace(name="bad", depth_range=(2, 5))  # 88 = 8 * 11
    assert UNetSpace(name="ok", depth_range=(2, 5), input_size=(64, 64)).depth_range == (2, 5)
    with pytest.raises(ValueError, match="widths"):
        UNetSpace(name="bad", widths=(4, 100))


@pytest.mark.filterwarnings("ignore:The value 1 of the parameter")
def test_num_classes_come_from_the_space():
    import dataclasses

    space = dataclasses.replace(SPACE, num_classes=11)
    ref = get_reference("unetmysmall", num_classes=11)
    assert space(FixedTrial(space.params_for(ref))) == ref
    assert {s.num_classes for s in sample_specs(SPACE, 3, seed=0, num_classes=11)} == {11}


def test_max78002_space_samples_depthwise_and_affine():
    specs = sample_specs(get_space("unet_max78002"), 40, seed=0)
    assert any(layer.groups > 1 for s in specs for layer in s.layers())
    assert {s.batchnorm for s in specs} == {"noaffine", "affine"}
    for spec in specs:
        assert all(width_rule_ok(w) for w in _chosen_widths(spec)), spec.name
        space = get_space("unet_max78002")
        assert space(FixedTrial(space.params_for(spec))) == spec
