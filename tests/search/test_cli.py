"""run_search.py options: defaults, clear errors for bad values, storage checked up front."""

from __future__ import annotations

import argparse

import pytest

from nas.__main__ import main as nas_main
from nas._cli import option_names
from nas.search import SearchConfig
from nas.search.cli import OPTIONS, add_arguments, config_from_args, main


def _parse(argv: list[str]) -> SearchConfig:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return config_from_args(p.parse_args(argv))


def test_defaults_match_the_issue():
    cfg = _parse(["--trials", "200"])
    assert (cfg.n_trials, cfg.space, cfg.task, cfg.device, cfg.preset, cfg.sampler) == (
        200, "unet_max78000", "camvid4", "MAX78000", "proxy", "tpe")
    assert cfg.objectives == ("miou", "bytes") and cfg.seed == 0
    assert cfg.storage_url == "sqlite:///studies/maxnas.db"
    assert cfg.references == ("ai85unetlarge", "unetmysmall", "ai85unetlarge-w4", "unetmysmall-w4")


def test_rungs_set_the_search_preset_to_the_first():
    cfg = _parse(["--rungs", "proxy-fast,medium"])
    assert (cfg.preset, cfg.rungs, cfg.upper_rungs) == ("proxy-fast", ("proxy-fast", "medium"),
                                                        ("medium",))
    assert _parse([]).rungs == ()


def test_latency_objective_and_budgets():
    cfg = _parse(["--objectives", "miou,bytes,latency", "--max-weight-bytes", "100000",
                  "--max-latency-ms", "12.5", "--jobs", "2"])
    assert cfg.objectives == ("miou", "bytes", "latency") and cfg.latency_objective
    assert (cfg.max_weight_bytes, cfg.max_latency_ms, cfg.jobs) == (100000, 12.5, 2)


@pytest.mark.parametrize("argv, message", [
    (["--sampler", "cmaes"], "invalid choice: 'cmaes'"),
    (["--objectives", "miou,flops"], "unknown objective(s) ['flops']"),
    (["--objectives", "bytes,miou"], "must start with 'miou', 'bytes'"),
    (["--trials", "0"], "--trials must be >= 1, but got --trials=0"),
    (["--jobs", "0"], "--jobs must be >= 1, but got --jobs 0"),
    (["--max-weight-bytes", "-5"],
     "--max-weight-bytes must be > 0, but got --max-weight-bytes=-5"),
    (["--study-name", "a/b"], "--study-name must be a non-empty name without '/'"),
    (["--rungs", "proxy,mediun"], "unknown preset 'mediun'; available: ['fidelity-full', "),
    (["--rungs", "proxy,medium", "--preset", "smoke"], "the first rung is the search's own"),
    (["--rungs", "proxy,medium", "--promote-share", "0"], "--promote-share must be in (0, 1]"),
    (["--torch-threads", "0"], "--torch-threads must be > 0, but got --torch-threads=0"),
    (["--early-stop-every", "0"], "--early-stop-every must be >= 1"),
])
def test_bad_values_name_the_value(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv, prog="run_search.py")
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_every_field_named_in_errors_maps_to_an_option_of_the_parser():
    p = argparse.ArgumentParser()
    add_arguments(p)
    options = {s for a in p._actions for s in a.option_strings}
    assert set(OPTIONS.values()) <= options, set(OPTIONS.values()) - options


def test_an_input_size_the_space_cannot_pool_names_the_option(tmp_path, capsys):
    """87 is not a multiple of 8 (depth 4 pools 3 times): the space's own error says 'lower
    depth_range or change input_size', neither of which a user can type."""
    code = main(["--input-size", "87", "88", "--trials", "1", "--studies-dir",
                 str(tmp_path / "s"), "--no-progress"], prog="run_search.py")
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: --input-size 87 88: space 'unet_max78000' has nets of "
                          "depth 4"), err
    assert "multiples of 8; e.g. --input-size 80 88 or --input-size 88 88" in err
    assert "depth_range" not in err and "input_size" not in err
    assert not (tmp_path / "s").exists()  # refused before anything was written
    assert nas_main(["search", "--input-size", "87", "88", "--trials", "1", "--studies-dir",
                     str(tmp_path / "s")]) == 2
    assert "--input-size 87 88: space" in capsys.readouterr().err


def test_an_input_size_too_large_for_the_chip_names_the_option(tmp_path, capsys):
    code = main(["--input-size", "400", "400", "--studies-dir", str(tmp_path)],
                prog="run_search.py")
    err = capsys.readouterr().err
    assert code == 2 and "use a smaller --input-size" in err, err


def test_option_names_leaves_options_and_longer_words_alone():
    opts = {"n_trials": "--trials", "timeout": "--timeout"}
    assert option_names("n_trials=0; --timeout 3; timeouts; my_n_trials", opts) == \
        "--trials=0; --timeout 3; timeouts; my_n_trials"


@pytest.mark.parametrize("url, message", [
    ("not a url", "is not a database URL"),
    ("nosuchdb://x/y", "cannot open --storage nosuchdb://x/y"),
    ("sqlite:///:memory:", "in-memory SQLite database cannot be shared"),
    ("postgresql://me:secret@127.0.0.1:1/nas", "cannot open --storage postgresql://me:***@"),
])
def test_bad_storage_is_a_clear_error_before_any_trial(fake_backend, tmp_path, url, message,
                                                        capsys):
    code = main(["--storage", url, "--studies-dir", str(tmp_path), "--no-progress",
                 *fake_backend.FAKE_ARGS])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "secret" not in err
    assert fake_backend.CALLS == []


def test_storage_that_is_not_sqlite_is_rejected(fake_backend, tmp_path, capsys):
    bad = tmp_path / "x.db"
    bad.write_text("this is not a database" * 100)
    code = main(["--storage", f"sqlite:///{bad}", "--no-progress", *fake_backend.FAKE_ARGS])
    assert code == 2 and "not a usable SQLite database" in capsys.readouterr().err


def test_resume_with_other_settings_is_refused(fake_backend, tmp_path, capsys):
    argv = ["--trials", "1", "--studies-dir", str(tmp_path), "--no-progress", "--preset",
            "smoke", *fake_backend.FAKE_ARGS]
    assert main(argv) == 0
    assert main(argv + ["--max-weight-bytes", "1000"]) == 2
    assert "created with other settings (--max-weight-bytes: stored None vs given 1000)" in \
        capsys.readouterr().err
