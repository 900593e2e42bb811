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


def test_parameters_are_conditional_on_depth():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(30):
        trial = study.ask()
        spec = SPACE(trial)
        study.tell(trial, 0.0)
        depth = trial.params["depth"]
        assert spec.depth == depth
        for level in range(1, 6):
            assert (f"enc{level}_width" in trial.params) == (level <= depth)
            narrow = level < depth and spec.encoder[level - 1].width <= 64
            assert (f"dec{level}_skip" in trial.params) == narrow
            has_up = level < depth and not trial.params.get(f"dec{level}_skip", False)
            assert (f"dec{level}_up" in trial.params) == has_up
        for i in range(3):
            assert (f"head{i}_width" in trial.params) == (i < trial.params["n_head"])


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
    assert UNetSpace(name="ok", depth_range=(2, 5), input_size=256).depth_range == (2, 5)
    with pytest.raises(ValueError, match="widths"):
        UNetSpace(name="bad", widths=(4, 100))


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
