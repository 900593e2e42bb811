import json
import warnings

import optuna
import pytest
from optuna.trial import FixedTrial

from nas.spec import ArchSpec, get_reference, list_references, width_rule_ok
from search_spaces import (
    UNetSpace,
    get_space,
    list_spaces,
    parse_weight_bits,
    sample_specs,
)

SPACE = get_space("unet_max78000")
SPACE8 = SPACE.with_weight_bits((8,))
CONDITIONAL = ("_per_pass", "_unfit")  # the only parameters a trial may lack


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
    assert SPACE.widths[params["enc4_width_idx"]] == 128 and params["enc4_width_per_pass"] == 56
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


def test_every_trial_draws_the_same_parameters_whatever_the_depth():
    """A fixed-length vector: levels below the depth, convs and layers not used are drawn
    too; only the single-valued _per_pass / _unfit flags are conditional."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    names, depths = [], set()
    for _ in range(60):
        trial = study.ask()
        spec = SPACE(trial)
        study.tell(trial, 0.0)
        assert spec.depth == trial.params["depth"]
        assert len(spec.head) == trial.params["n_head"]
        depths.add(spec.depth)
        names.append({k for k in trial.params if not k.endswith(CONDITIONAL)})
    assert depths == {2, 3, 4}
    assert all(n == names[0] for n in names)
    for level in range(1, 5):
        assert f"enc{level}_width_idx" in names[0] and f"enc{level}_bits" in names[0]
    assert {"dec3_skip", "dec3_up_idx", "dec1_conv1_width_idx", "head2_width_idx"} <= names[0]
    assert not any(k.startswith("enc5") for k in names[0])


@pytest.mark.parametrize("space", [SPACE, SPACE8, get_space("unet_max78002"),
                                   SPACE.at_input_size((64, 64))],
                         ids=["78000", "78000-8bit", "78002", "78000-64x64"])
def test_each_parameter_name_keeps_one_distribution(space):
    """Across depths and data-memory caps, a name always has one distribution (Optuna rejects
    dynamic ones), and widths are ordered int indices into the ladder."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
    seen = {}
    for _ in range(300):
        trial = study.ask()
        space(trial)
        study.tell(trial, 0.0)
        for name, dist in trial.distributions.items():
            assert seen.setdefault(name, dist) == dist, name
    widths = {k: d for k, d in seen.items() if k.endswith("_width_idx") or k.endswith("_up_idx")}
    assert widths and all(isinstance(d, optuna.distributions.IntDistribution)
                          for d in widths.values())
    assert not any("_max" in name for name in seen)  # caps no longer rename parameters
    assert seen["enc2_width_idx"].high == len(space.widths) - 1


def test_a_data_memory_cap_squeezes_the_width_index_in_order():
    """enc2 shares enc1's data-memory instances: its index is squeezed onto the widths left,
    keeping the order (a larger index never gives a smaller width)."""
    space = SPACE8
    base = space.params_for(get_reference("ai85unetlarge"))  # enc1 = 8 channels
    got = []
    for i in range(len(space.widths)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flags = {f"dec{lvl}_{k}_unfit": 0 for lvl in (1, 2, 3) for k in ("skip", "separable")}
            spec = space(FixedTrial(flags | base | {"enc2_width_idx": i}))
        got.append(spec.encoder[1].width)
    assert got == sorted(got)
    assert max(got) == 56  # 64 processors - enc1's 8
    assert set(got) == set(range(4, 57, 4))  # every width left is reachable


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
    assert params["dec3_skip_unfit"] == 1 and params["dec3_skip"] is False
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
    assert space.instance_bytes == 80 * 1024 and space.full_res_width() == 128
    assert SPACE.instance_bytes == 32 * 1024 and SPACE.full_res_width() == 64
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(30):
        trial = study.ask()
        space(trial)
        study.tell(trial, 0.0)
        assert not any(k.endswith("_unfit") for k in trial.params)


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
    ok = UNetSpace(name="ok", depth_range=(2, 5), input_size=(64, 64))
    assert ok.depth_range == (2, 5) and ok.input_size == (64, 64)
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


# -- references, incl. their 4-bit variants --------------------------------------------------
def _w4(spec):
    """All inner layers at 4 bits; the first layer and the classifier stay 8-bit."""
    import dataclasses

    def conv4(c):
        return dataclasses.replace(c, bits=4)

    prep = tuple(conv4(c) for c in spec.prep)
    enc = [type(lvl)(tuple(conv4(c) for c in lvl.convs)) for lvl in spec.encoder]
    if prep:
        prep = (dataclasses.replace(prep[0], bits=8),) + prep[1:]
    else:
        enc[0] = type(enc[0])((dataclasses.replace(enc[0].convs[0], bits=8),)
                              + enc[0].convs[1:])
    dec = tuple(dataclasses.replace(lvl, up_bits=4, convs=tuple(conv4(c) for c in lvl.convs))
                for lvl in spec.decoder)
    return dataclasses.replace(spec, name=spec.name + "-w4", prep=prep, encoder=tuple(enc),
                               decoder=dec, head=tuple(conv4(c) for c in spec.head))


@pytest.mark.parametrize("space_name,ref", [
    ("unet_max78000", "ai85unetlarge"), ("unet_max78000", "unetmysmall"),
    ("unet_max78002", "ai85unetlarge"), ("unet_max78002", "unetmysmall"),
    ("unet_max78002", "unetmysmall-x86"),
])
@pytest.mark.parametrize("bits", [(8,), (8, 4, 2), (8, 4, 2, 1)])
def test_encoding_round_trips_every_reference_and_its_w4_variant(space_name, ref, bits):
    space = get_space(space_name).with_weight_bits(bits)
    specs = [get_reference(ref)] + ([_w4(get_reference(ref))] if 4 in bits else [])
    for spec in specs:
        params = space.params_for(spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rebuilt = space(FixedTrial(params))
        assert rebuilt.to_dict() | {"name": 0} == spec.to_dict() | {"name": 0}
    if 4 not in bits:
        with pytest.raises(ValueError, match="bits|cannot be reproduced"):
            space.params_for(_w4(get_reference(ref)))


@pytest.mark.parametrize("ref", list_references())
def test_every_registered_reference_round_trips(ref):
    """Every reference the registry offers (a new one included) is rebuilt exactly by
    params_for + FixedTrial in each space that can express it, and some space can."""
    spaces = {"unet_max78000": get_space("unet_max78000").with_weight_bits((8, 4, 2, 1)),
              "unet_max78002": get_space("unet_max78002").with_weight_bits((8, 4, 2, 1))}
    spec = get_reference(ref)
    expressed = []
    for name, space in spaces.items():
        try:
            params = space.params_for(spec)
        except ValueError:
            continue  # e.g. depthwise convs on MAX78000
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert space(FixedTrial(params)) == spec, (ref, name)
        expressed.append(name)
    assert expressed, f"no space expresses {ref}"
    if ref != "unetmysmall-x86":
        assert "unet_max78000" in expressed


def test_old_spec_jsons_are_read_and_expressed():
    """Specs written before the new encoding (sampled trials of the committed headline study)
    still load and are rebuilt by the 8-bit space."""
    import pandas as pd

    df = pd.read_csv("studies/results/headline/trials.csv")
    specs = [ArchSpec.from_json(s) for s in df["spec"].dropna().head(60)]
    assert len(specs) == 60
    rebuilt = 0
    for spec in specs:
        try:
            params = SPACE8.params_for(spec)
        except ValueError:
            continue  # e.g. a level-2 width above its squeezed cap: not in today's space
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert SPACE8(FixedTrial(params)).to_dict() | {"name": 0} \
                == spec.to_dict() | {"name": 0}
        rebuilt += 1
    assert rebuilt >= 50


# -- weight bits -----------------------------------------------------------------------------
def test_sampled_specs_mix_weight_bits_per_group(sampled):
    bits = [layer.bits for s in sampled for layer in s.layers()]
    assert set(bits) == set(SPACE.weight_bits) == {8, 4}
    for spec in sampled:
        layers = spec.layers()
        assert layers[0].bits == 8 and spec.classifier_bits == 8, spec.name
        for lvl in spec.encoder:
            inner = lvl.convs[1:] if lvl is spec.encoder[0] and not spec.prep else lvl.convs
            assert len({c.bits for c in inner}) <= 1
        for lvl in spec.decoder:
            assert {c.bits for c in lvl.convs} == {lvl.up_bits}


def test_search_default_weight_bits_is_the_space_default():
    from nas.search import SearchConfig
    from search_spaces import DEFAULT_WEIGHT_BITS

    assert SearchConfig().weight_bits == DEFAULT_WEIGHT_BITS


def test_eight_bit_space_draws_no_bits_parameters():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        spec = SPACE8(trial)
        study.tell(trial, 0.0)
        assert not any(k.endswith("_bits") for k in trial.params)
        assert {layer.bits for layer in spec.layers()} == {8}


def test_weight_bits_subset_and_user_choice_for_first_and_last():
    import dataclasses

    space = dataclasses.replace(SPACE.with_weight_bits((2, 1)), first_layer_bits=None,
                                classifier_bits=None)
    specs = sample_specs(space, 30, seed=0)
    assert {layer.bits for s in specs for layer in s.layers()} == {2, 1}


@pytest.mark.parametrize("text,match", [("3", "got 3"), ("", "none"), ("8,8", "repeat"),
                                        ("8,x", "comma-separated"), ("16", "got 16")])
def test_bad_weight_bits_name_value_and_rule(text, match):
    with pytest.raises(ValueError, match=match):
        parse_weight_bits(text)
    with pytest.raises(ValueError, match=r"\(8, 4, 2, 1\)"):
        SPACE.with_weight_bits((3,))


def test_parse_weight_bits():
    assert parse_weight_bits("8,4,2") == (8, 4, 2) and parse_weight_bits(" 4 ") == (4,)


# -- device and input size -------------------------------------------------------------------
def test_space_refuses_a_mismatched_device():
    assert SPACE.device == "MAX78000" and SPACE.for_device("max78000") is SPACE
    with pytest.raises(ValueError, match="built for MAX78000, not MAX78002"):
        SPACE.for_device("MAX78002")
    with pytest.raises(ValueError, match="unknown device"):
        UNetSpace(name="x", device="MAX99999")
    with pytest.raises(ValueError, match="depthwise"):
        UNetSpace(name="x", device="MAX78000", depthwise=True)


def test_input_size_is_an_attribute_and_can_change():
    assert SPACE.input_size == (88, 88)
    small = SPACE.at_input_size((64, 48))
    assert small.input_size == (64, 48) and small.device == "MAX78000"
    # a 64x48 map is 12,288 B per instance and pass: two passes fit a 32 KiB instance
    assert small.full_res_width() == 128
    specs = sample_specs(small, 40, seed=0)
    for spec in specs:
        assert small(FixedTrial(small.params_for(spec))) == spec
    with pytest.raises(ValueError, match="divisible"):
        SPACE.at_input_size((84, 88))
    with pytest.raises(ValueError, match="data-memory instance"):
        SPACE.at_input_size((256, 256))


def test_sampling_feasibility_with_mixed_bits(sampled):
    from nas.hardware import check

    reports = [check(s, "MAX78000", (88, 88)) for s in sampled[:100]]
    assert sum(r.feasible for r in reports) >= 65
