"""``--device`` is the chip in every command, ``--torch-device`` the PyTorch device in every
command that trains: one spelling, the same choices and defaults everywhere."""

from __future__ import annotations

import argparse

import pytest

from nas.__main__ import build_parser
from nas._resources import DEFAULT_TORCH_DEVICE, TORCH_DEVICES
from nas.finalize import FinalizeConfig
from nas.hardware import DEFAULT_DEVICE, list_devices
from nas.search import SearchConfig
from nas.search.cli import add_arguments as search_arguments

CHIP_COMMANDS = {"check", "export", "search"}
TRAINING_COMMANDS = {"train", "search", "finalize"}


def _parsers() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    run_search = argparse.ArgumentParser(prog="run_search.py")
    search_arguments(run_search)
    return {**sub.choices, "run_search.py": run_search}


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    """The option ``flag`` as --help shows it (hidden ones left out)."""
    return next((a for a in parser._actions
                 if flag in a.option_strings and a.help != argparse.SUPPRESS), None)


PARSERS = _parsers()


def test_the_commands_with_a_chip_or_a_training_are_the_expected_ones():
    with_device = {n for n, p in PARSERS.items() if _option(p, "--device")}
    with_torch = {n for n, p in PARSERS.items() if _option(p, "--torch-device")}
    assert with_device == CHIP_COMMANDS | {"run_search.py"}
    assert with_torch == TRAINING_COMMANDS | {"run_search.py"}


@pytest.mark.parametrize("name", sorted(CHIP_COMMANDS | {"run_search.py"}))
def test_device_is_the_chip_with_the_same_choices_and_default(name):
    action = _option(PARSERS[name], "--device")
    assert action is not None and action.option_strings == ["--device"]
    assert list(action.choices or ()) == list_devices()
    # export leaves it unset to take the study's; without a study it is the same default
    assert action.default == (None if name == "export" else DEFAULT_DEVICE)
    assert action.dest == "device"


@pytest.mark.parametrize("name", sorted(TRAINING_COMMANDS | {"run_search.py"}))
def test_torch_device_has_the_same_choices_in_every_training_command(name):
    action = _option(PARSERS[name], "--torch-device")
    assert action is not None and action.dest == "torch_device"
    assert tuple(action.choices or ()) == TORCH_DEVICES
    assert action.default in TORCH_DEVICES


def test_defaults_are_the_configs_defaults():
    assert SearchConfig.device == DEFAULT_DEVICE
    assert SearchConfig.torch_device == DEFAULT_TORCH_DEVICE
    assert _option(PARSERS["search"], "--torch-device").default == DEFAULT_TORCH_DEVICE
    assert _option(PARSERS["train"], "--torch-device").default == DEFAULT_TORCH_DEVICE
    # finalize keeps its own default: the full recipe runs on the CPU unless asked
    assert _option(PARSERS["finalize"], "--torch-device").default == FinalizeConfig.torch_device


@pytest.mark.parametrize("name", sorted(CHIP_COMMANDS))
def test_device_takes_any_case_and_refuses_what_is_not_a_chip(name, capsys):
    parser = PARSERS[name]
    required = {"check": ["--reference", "unetmysmall"], "export": ["--out", "x"]}.get(name, [])
    assert parser.parse_args([*required, "--device", "max78002"]).device == "MAX78002"
    for bad in ("cpu", "MAX9"):
        with pytest.raises(SystemExit):
            parser.parse_args([*required, "--device", bad])
        assert "MAX78000" in capsys.readouterr().err


def test_train_has_no_chip_and_points_the_old_torch_spelling_to_the_new(capsys):
    for argv in (["--device", "cpu"], ["--device"], ["--device=cuda"]):
        with pytest.raises(SystemExit) as e:
            PARSERS["train"].parse_args(["--reference", "unetmysmall", *argv])
        assert e.value.code == 2 and "--torch-device" in capsys.readouterr().err
    assert "--device" not in PARSERS["train"].format_help()
    args = PARSERS["train"].parse_args(["--reference", "unetmysmall", "--torch-device", "cpu"])
    assert args.torch_device == "cpu"
