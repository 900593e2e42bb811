"""``python -m nas <command>``: a thin dispatcher over per-package CLIs.

Each command lives in the package it belongs to, in a module that defines
``register(subparsers)``; that function adds its parser and sets ``func`` (``args -> int``).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> module defining register(subparsers). Order is the order shown in --help.
COMMANDS = {
    "data": "nas.data.cli",
    "sample": "nas.models.cli",
    "describe": "nas.models.cli",
    "check": "nas.hardware.cli",
    "train": "nas.train.cli",
    "export": "nas.export.cli",
    "search": "nas.search.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nas", description=__doc__.splitlines()[0])
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as e:  # user input errors: one clear line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
