"""Code-structure metrics of the repository, from its syntax tree (no imports of the code).

Prints the five longest functions in ``nas/`` and ``search_spaces/`` (lines, decorators
excluded), the number of imports of our own packages (``nas``, ``search_spaces``, ``studies``)
made inside a function, the number of uses of other packages' private API (an attribute such as
``._storage`` that none of our modules defines, or an import from a private module such as
``optuna._imports``), and mypy's error count on ``nas`` when mypy is installed.

    python -m benchmarks.structure_metrics                  # this checkout
    python -m benchmarks.structure_metrics --root /tmp/before --mypy-config pyproject.toml
    python -m benchmarks.structure_metrics --list           # also every counted site
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

OUR_PACKAGES = ("nas", "search_spaces", "studies")
# Where functions are measured; imports and private-API uses are counted in all of OUR_PACKAGES.
LENGTH_PACKAGES = ("nas", "search_spaces")
# Generated ai8x-training modules kept as example exports (ai8x's code, not ours).
EXCLUDED = ("studies/results",)


@dataclass(frozen=True)
class Site:
    """One counted place in the code."""

    path: str
    line: int
    text: str


def _files(root: Path, packages: tuple[str, ...]) -> Iterator[Path]:
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if not any(rel.startswith(prefix) for prefix in EXCLUDED):
                yield path


def _trees(root: Path, packages: tuple[str, ...]) -> Iterator[tuple[str, ast.Module]]:
    for path in _files(root, packages):
        yield path.relative_to(root).as_posix(), ast.parse(path.read_text(), str(path))


def _functions(tree: ast.AST) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method, with its dotted name inside the module."""

    def walk(node: ast.AST, prefix: str) -> Iterator:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                yield name, child
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def longest_functions(root: Path, n: int = 5) -> list[tuple[int, str]]:
    """The ``n`` longest functions as (lines from ``def`` to the last line, 'path:name')."""
    rows = []
    for rel, tree in _trees(root, LENGTH_PACKAGES):
        for name, fn in _functions(tree):
            rows.append((fn.end_lineno - fn.lineno + 1, f"{rel}:{name}"))
    return sorted(rows, key=lambda row: (-row[0], row[1]))[:n]


def _is_ours(module: str | None, level: int) -> bool:
    return level > 0 or (module or "").split(".")[0] in OUR_PACKAGES


def function_imports(root: Path) -> list[Site]:
    """Imports of our own packages inside a function body."""
    sites = []
    for rel, tree in _trees(root, OUR_PACKAGES):
        for _, fn in _functions(tree):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    ours = any(_is_ours(alias.name, 0) for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    ours = _is_ours(node.module, node.level)
                else:
                    continue
                if ours:
                    sites.append(Site(rel, node.lineno, ast.unparse(node)))
    # a nested function's imports are seen from each enclosing function: count each once
    return sorted(set(sites), key=lambda s: (s.path, s.line))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _own_private_names(trees: list[tuple[str, ast.Module]]) -> set[str]:
    """Private names our code defines: functions, classes, attributes, buffers.

    Module names are left out: ``study._storage`` is Optuna's, not ``nas/search/_storage.py``
    (our code reaches its own private modules by ``from`` imports, not attribute access).
    """
    names: set[str] = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                # names registered by string, e.g. register_buffer("_scale", ...)
                if node.value.isidentifier():
                    names.add(node.value)
    return {name for name in names if _private(name)}


def private_api_uses(root: Path) -> list[Site]:
    """Attribute accesses and imports of other packages' private names."""
    trees = list(_trees(root, OUR_PACKAGES))
    own = _own_private_names(trees)
    sites = []
    for rel, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own:
                sites.append(Site(rel, node.lineno, ast.unparse(node)))
            elif isinstance(node, ast.ImportFrom) and not _is_ours(node.module, node.level):
                parts = (node.module or "").split(".")
                if any(_private(part) for part in parts) or any(
                    _private(alias.name) for alias in node.names
                ):
                    sites.append(Site(rel, node.lineno, ast.unparse(node)))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if not _is_ours(alias.name, 0) and any(_private(p) for p in parts):
                        sites.append(Site(rel, node.lineno, ast.unparse(node)))
    return sorted(sites, key=lambda s: (s.path, s.line))


def mypy_errors(root: Path, config: Path | None) -> tuple[int | None, str]:
    """mypy's error count on ``nas`` (None when mypy is not installed), and its summary line."""
    try:
        import mypy  # noqa: F401
    except ImportError:
        return None, "mypy is not installed"
    command = [sys.executable, "-m", "mypy", "nas"]
    if config is not None:
        command += ["--config-file", str(config.resolve())]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    summary = lines[-1] if lines else done.stderr.strip()
    found = re.search(r"Found (\d+) errors?", summary)
    if found:
        return int(found.group(1)), summary
    if summary.startswith("Success"):
        return 0, summary
    return None, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1],
                        help="repository checkout to measure (default: this one)")
    parser.add_argument("--mypy-config", type=Path, default=None,
                        help="mypy config file to use instead of the checkout's own")
    parser.add_argument("--no-mypy", action="store_true", help="skip the mypy run")
    parser.add_argument("--list", action="store_true", help="print every counted site")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "nas").is_dir():
        parser.error(f"--root {args.root} has no nas/ package")

    print(f"root: {root}")
    print("longest functions (lines):")
    for lines, name in longest_functions(root):
        print(f"  {lines:4d}  {name}")
    imports = function_imports(root)
    print(f"in-function imports of {', '.join(OUR_PACKAGES)}: {len(imports)}")
    if args.list:
        for site in imports:
            print(f"  {site.path}:{site.line}  {site.text}")
    private = private_api_uses(root)
    print(f"private-API uses of other packages: {len(private)}")
    if args.list:
        for site in private:
            print(f"  {site.path}:{site.line}  {site.text}")
    if not args.no_mypy:
        count, summary = mypy_errors(root, args.mypy_config)
        print(f"mypy errors in nas: {'n/a' if count is None else count}  ({summary})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
