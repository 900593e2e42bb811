"""``python -m nas <command>``: a thin dispatcher over per-package CLIs.

Each command lives in the package it belongs to, in a module that defines
``register(subparsers)``; that function adds its parser and sets ``func`` (``args -> int``).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from typing import cast

from nas._cli import help_formatter

# command -> module defining register(subparsers). Order is the order shown in --help.
COMMANDS = {
    "data": "nas.data.cli",
    "sample": "nas.models.cli",
    "describe": "nas.models.cli",
    "check": "nas.hardware.cli",
    "train": "nas.train.cli",
    "export": "nas.export.cli",
    "search": "nas.search.cli",
    "finalize": "nas.finalize.cli",
}


DESCRIPTION = "maxnas: hardware-aware architecture search for the MAX78000 / MAX78002."
EPILOG = """\
examples:
  python -m nas search --trials 200      the search (= python run_search.py)
  python -m nas check --reference unetmysmall
  python -m nas finalize --study maxnas --k 4 --seeds 3
                                         knees + references, full recipe
  python -m nas export --study maxnas --trial 12 --out out/trial12

'python -m nas COMMAND --help' describes a command. Exit status: 0 ok, 1 the
command's own failure (e.g. check: the architecture does not fit), 2 bad input,
130 / 143 stopped by Ctrl-C / SIGTERM."""


def plain(text: str | None) -> str | None:
    """Docstring markup (``code``, :func:`name`) as plain text for --help."""
    if text is None:
        return None
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nas", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=help_formatter(argparse.RawDescriptionHelpFormatter))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    seen: set[str] = set()
    for module_name in dict.fromkeys(COMMANDS.values()):
        if module_name in seen:
            continue
        seen.add(module_name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and module_name.startswith(e.name):
                continue  # that package is not built yet
            raise
        module.register(sub)
    for command in sub.choices.values():
        command.description = plain(command.description)
        # every add_parser call passes an argparse formatter class (or none: HelpFormatter)
        command.formatter_class = help_formatter(
            cast("type[argparse.HelpFormatter]", command.formatter_class))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as e:  # user input errors: one clear line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print("interrupted", file=sys.stderr)
        return 128 + int(getattr(e, "signum", 2))


if __name__ == "__main__":
    sys.exit(main())
