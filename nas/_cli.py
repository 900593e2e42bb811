"""Argument helpers shared by the command-line tools (one spelling of each option)."""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

from nas._resources import DEFAULT_TORCH_DEVICE, TORCH_DEVICES
from nas.hardware import DEFAULT_DEVICE, DEVICES, list_devices
from nas.spec import DEFAULT_INPUT_SIZE, input_size

# What ArgumentParser.add_subparsers() returns; argparse has no public name for its type.
SubParsers = argparse._SubParsersAction
# --help never wider than this, however wide the terminal (narrower terminals keep theirs).
HELP_WIDTH = 80


class _InputSize(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[str] | None, option_string: str | None = None) -> None:
        tokens = [values] if isinstance(values, str) else list(values or [])
        text = " ".join(tokens)
        if len(tokens) == 1 and text.isdigit():
            text = f"{text} {text}"  # one number: a square input
        try:
            setattr(namespace, self.dest, input_size(text))
        except ValueError as e:
            parser.error(f"{option_string}: {e}")


def help_formatter(base: type[argparse.HelpFormatter] = argparse.HelpFormatter
                   ) -> type[argparse.HelpFormatter]:
    """``base`` (a formatter class) writing --help within :data:`HELP_WIDTH` columns, with
    ``--input-size H W`` spelt as typed (argparse would write ``H W [H W ...]``).

    Descriptions and epilogs of a ``RawDescriptionHelpFormatter`` are printed as written:
    their lines must fit by themselves (``tests/test_help.py`` checks every command)."""

    class Formatter(base):  # type: ignore[valid-type, misc]
        def __init__(self, prog: str, *args: Any, **kwargs: Any) -> None:
            if kwargs.get("width") is None and len(args) < 3:
                # argparse's own default is the terminal's width less 2 columns
                columns = min(shutil.get_terminal_size().columns, HELP_WIDTH)
                kwargs["width"] = max(columns - 2, 20)
            super().__init__(prog, *args, **kwargs)

        def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
            if isinstance(action, _InputSize):
                return str(action.metavar)
            return str(super()._format_args(action, default_metavar))

    Formatter.__name__ = f"Capped{base.__name__}"
    return Formatter


def add_input_size(parser: argparse.ArgumentParser, default: tuple[int, int] | None
                   = DEFAULT_INPUT_SIZE, note: str = "") -> None:
    """``--input-size H W`` (also ``HxW`` or ``N``): the folded chip input, default 88 88.
    ``default=None`` leaves it unset so the caller can fill it in (``note`` says how)."""
    h, w = DEFAULT_INPUT_SIZE
    parser.add_argument(
        "--input-size", nargs="+", action=_InputSize, default=default,
        metavar="H W",
        help=f"folded chip input rows and columns (default {note or ''}{h} {w} = "
             f"{4 * h}x{4 * w} RGB crops at fold 4); also HxW, or N for N N",
    )


def _device_name(text: str) -> str:
    """A device of the table in any case (``max78002`` -> ``MAX78002``); other text is left
    as typed, for argparse to refuse with the valid choices."""
    return text.upper() if text.upper() in DEVICES else text


def add_device_argument(parser: argparse.ArgumentParser, default: str | None = DEFAULT_DEVICE,
                        note: str = "") -> None:
    """``--device``: the chip, one of the device table's (any case), default
    :data:`~nas.hardware.DEFAULT_DEVICE`. ``default=None`` leaves it unset so the caller can
    fill it in (``note`` says how)."""
    parser.add_argument(
        "--device", type=_device_name, choices=list_devices(), default=default,
        help=f"the chip, in any case (default {note}"
             f"{DEFAULT_DEVICE if default is None else default})")


def add_torch_device_argument(parser: argparse.ArgumentParser,
                              default: str = DEFAULT_TORCH_DEVICE) -> None:
    """``--torch-device``: where PyTorch trains and evaluates, one of
    :data:`nas._resources.TORCH_DEVICES`."""
    parser.add_argument(
        "--torch-device", choices=TORCH_DEVICES, default=default,
        help="PyTorch device; auto: cuda if PyTorch sees a GPU, else cpu (default "
             "%(default)s)")


class _Renamed(argparse.Action):
    def __init__(self, *args: Any, message: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.message = message

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[str] | None, option_string: str | None = None) -> None:
        parser.error(self.message)


def add_renamed_option(parser: argparse.ArgumentParser, old: str, message: str) -> None:
    """A hidden ``old`` option (with or without a value) that stops with ``message``: an old
    spelling gets a pointer to the new one, not argparse's guess about the value after it."""
    parser.add_argument(old, nargs="?", action=_Renamed, message=message, help=argparse.SUPPRESS)


def num_classes(text: str) -> int:
    """``--num-classes``: an integer >= 2 (argparse names the option in its error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2, but got {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2, but got {value}")
    return value


def option_names(message: str, options: Mapping[str, str]) -> str:
    """A config's field names in ``message`` written as the options a user types: with
    ``{"n_trials": "--trials"}``, ``n_trials must be >= 1, but got n_trials=0`` becomes
    ``--trials must be >= 1, but got --trials=0`` (a spelling argparse accepts)."""
    for name, option in options.items():
        message = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", option, message)
    return message
