"""What a search runs on: one input size and one device from the config to every step, and an
immediate, explained refusal of a task the chip cannot run."""

from __future__ import annotations

import dataclasses

import pytest

from nas.hardware import check
from nas.search import SearchConfig, run
from nas.search._components import components, forced_violations
from nas.search._protocols import Components
from nas.search.cli import main
from nas.train import get_preset
from search_spaces import get_space
from tests.search import fakes


def test_camvid11_on_max78000_stops_before_the_study_and_says_what_fits(tmp_path, capsys):
    code = main(["--task", "camvid11", "--studies-dir", str(tmp_path), "--no-progress",
                 "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    # the limit and its numbers: 11 classes x 16 (fold 4) = 176 channels = 3 passes x 88 x 88
    # x 4 B = 92,928 B per instance, over the MAX78000's 32 KiB instances
    assert "176 channels" in err and "92,928 B" in err and "32,768 B" in err
    # what would fit: 3 passes x 48 x 48 x 4 B = 27,648 B; 4 classes = 1 pass at 88x88
    assert "--input-size 48 48" in err and "<= 4 classes" in err
    assert not (tmp_path / "maxnas.db").exists()


def test_camvid11_fits_max78002_at_64x64_but_not_88x88():
    space = dataclasses.replace(get_space("unet_max78002"), num_classes=11)
    # 3 passes x 88 x 88 x 4 B = 92,928 B > 81,920 B (80 KiB instances); 64x64: 49,152 B
    (v,) = forced_violations(space, 11, "MAX78002", (88, 88))
    assert (v.value, v.allowed) == (92_928, 81_920)
    assert forced_violations(space, 11, "MAX78002", (64, 64)) == []
    cfg = SearchConfig(task="camvid11", device="MAX78002", space="unet_max78002",
                       input_size=(64, 64))
    comps = components(cfg)
    assert comps.space.input_size == (64, 64) and comps.space.num_classes == 11


def test_input_size_must_be_poolable_by_every_depth_of_the_space():
    with pytest.raises(ValueError) as e:
        components(SearchConfig(input_size=(60, 60)))  # depth 4 pools 3 times
    assert str(e.value) == (
        "--input-size 60 60: space 'unet_max78000' has nets of depth 4, which pool the input "
        "3 times, so both sides must be multiples of 8; e.g. --input-size 56 56 or "
        "--input-size 64 64")


def test_deployment_presets_crop_fold_times_the_input_size():
    full = get_preset("full")
    assert (full.crop, full.eval_crop) == (352, 352)  # 88x88 at fold 4
    assert full.at_input_size((64, 64), 4).crop == 256
    assert full.at_input_size((64, 64), 2).eval_crop == 128
    proxy = get_preset("proxy")
    assert proxy.at_input_size((64, 64), 4) is proxy  # a proxy keeps its own crops
    with pytest.raises(ValueError, match="square"):
        full.at_input_size((64, 48), 4)


SEEN: dict[str, list] = {"check": [], "train": []}


def _recording_check(spec, device="MAX78000", *, input_size=(88, 88), **kw):
    SEEN["check"].append((spec.fold_ratio, tuple(input_size)))
    return check(spec, device, input_size=input_size, **kw)


def _recording_train(spec, task, preset, *args, **kwargs):
    SEEN["train"].append((spec.fold_ratio, preset.crop, preset.eval_crop))
    return fakes.fake_train(spec, task, preset, *args, **kwargs)


def _fold2_components(cfg: SearchConfig) -> Components:
    comps = components(cfg)
    space = dataclasses.replace(comps.space, fold_ratios=(2,))
    return Components(space, comps.task, _recording_check, lambda name: None)


def test_a_fold_2_search_checks_and_trains_the_size_it_deploys(tmp_path):
    """Fold 2 at 64x64: check() sees 64x64, the trainer crops 2 x 64 = 128 pixels."""
    SEEN["check"].clear()
    SEEN["train"].clear()
    # 10 random trials: enough for a feasible one whichever weight widths the space draws
    cfg = SearchConfig(n_trials=10, study_name="f2", studies_dir=tmp_path, preset="full",
                       data_dir=tmp_path,
                       input_size=(64, 64), sampler="random", references=(), progress=False,
                       jobs=1,
                       trainer=_recording_train, components=_fold2_components)
    run(cfg)
    assert SEEN["check"] and {s for _, s in SEEN["check"]} == {(64, 64)}
    assert {f for f, _ in SEEN["check"]} == {2}
    assert SEEN["train"] and set(SEEN["train"]) == {(2, 128, 128)}


def test_an_8_bit_search_leaves_the_4_bit_references_out():
    """--weight-bits 8 cannot replay the -w4 references' parameters; a parameterless trial
    would leave GP and NSGA-II no search space, so they are not enqueued by default."""
    from nas.search import DEFAULT_REFERENCES

    assert SearchConfig(weight_bits=(8,)).references == ("ai85unetlarge", "unetmysmall")
    assert SearchConfig(weight_bits=(8, 4)).references == DEFAULT_REFERENCES
    # references the user names are kept as given
    assert SearchConfig(weight_bits=(8,), references=("unetmysmall-w4",)).references == (
        "unetmysmall-w4",)
