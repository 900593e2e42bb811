"""Every --help fits 80 columns however wide the terminal, and spells options as typed."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nas.__main__ import COMMANDS, build_parser
from nas.__main__ import main as nas_main
from nas.search.cli import main as search_main

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def _help(main, argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    return capsys.readouterr().out


def test_every_registered_command_is_checked():
    assert set(COMMANDS) <= set(_commands())


@pytest.mark.parametrize("command", [None, *_commands()])
def test_help_fits_80_columns_on_a_wide_terminal(command, monkeypatch, capsys):
    """argparse wraps option help to $COLUMNS; descriptions and epilogs written for
    RawDescriptionHelpFormatter are printed as they are (run_search.py's was 121 wide)."""
    monkeypatch.setenv("COLUMNS", "200")
    text = _help(nas_main, [command, "--help"] if command else ["--help"], capsys)
    wide = [line for line in text.splitlines() if len(line) > 80]
    assert not wide, "\n".join(wide)
    assert "H W [H W ...]" not in text


def test_run_search_help_fits_80_columns(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    text = _help(lambda argv: search_main(argv, prog="run_search.py"), ["--help"], capsys)
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "[--input-size H W]" in text and "H W [H W ...]" not in text


def test_run_search_help_in_a_real_wide_terminal():
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "run_search.py", "--help"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "--jobs" in out


def test_a_narrow_terminal_keeps_its_width(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "60")
    text = _help(nas_main, ["check", "--help"], capsys)
    usage = text.split("\n\n")[0]
    assert max(len(line) for line in usage.splitlines()) <= 60, usage


@pytest.mark.parametrize("argv", [["88", "80"], ["88x80"]])
def test_input_size_is_still_typed_as_h_w_or_hxw(argv):
    parser = build_parser()
    args = parser.parse_args(["check", "--reference", "unetmysmall", "--input-size", *argv])
    assert args.input_size == (88, 80)
    args = parser.parse_args(["check", "--reference", "unetmysmall", "--input-size", "64"])
    assert args.input_size == (64, 64)


def test_a_bad_input_size_says_what_to_type(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["check", "--input-size", "abc"])
    assert "--input-size: input size must be two integers (rows, columns), e.g. 88 88, but " \
           "got 'abc'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["data", "--scale", "2"], "argument --scale: must be in (0, 1], but got 2"),
    (["describe", "--reference", "unetmysmall", "--num-classes", "1"],
     "argument --num-classes: must be >= 2, but got 1"),
    (["check", "--reference", "unetmysmall", "--num-classes", "1"],
     "argument --num-classes: must be >= 2, but got 1"),
    (["sample", "--num-classes", "x"], "argument --num-classes: must be an integer >= 2"),
])
def test_errors_name_the_option_typed(argv, message, capsys):
    """They said 'scale must be in (0, 1], got scale=2.0' and 'num_classes must be >= 2'."""
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err
