"""``python -m nas sample`` (random specs from a search space) and ``describe`` (layer table)."""

from __future__ import annotations

import argparse
from pathlib import Path

from nas._cli import SubParsers, num_classes
from nas.spec import ArchSpec, get_reference, list_references
from search_spaces import get_space, sample_specs


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "sample", help="write N random architectures from a search space as JSON",
        description="Write N random specs from a search space as JSON files "
                    "(same seed -> identical files).",
    )
    p.add_argument("--space", default="unet_max78000", help="search space name")
    p.add_argument("--n", type=int, default=10, help="number of specs (default 10)")
    p.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    p.add_argument("--num-classes", type=num_classes, default=4, help="classes (default 4)")
    p.add_argument("--out", type=Path, default=Path("specs"), help="output folder")
    p.set_defaults(func=_sample)

    d = subparsers.add_parser(
        "describe", help="print an architecture's layer table, parameters and weight bytes",
        description="Print the chip-level layer table, parameter count and weight bytes.",
    )
    src = d.add_mutually_exclusive_group(required=True)
    src.add_argument("arch", nargs="?", type=Path, help="architecture JSON file")
    src.add_argument("--reference", metavar="NAME",
                     help=f"a reference architecture: {', '.join(list_references())}")
    d.add_argument("--num-classes", type=num_classes, default=4,
                   help="classes for --reference (default 4)")
    d.set_defaults(func=_describe)


def _sample(args: argparse.Namespace) -> int:
    specs = sample_specs(get_space(args.space), args.n, args.seed, args.num_classes)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, spec in enumerate(specs):
        path = args.out / f"{i:03d}_{spec.name}.json"
        spec.save(path)
        print(path)
    return 0


def describe(spec: ArchSpec) -> str:
    """The layer table and totals of ``spec`` as printable text (no torch needed)."""
    head = ("name", "op", "in", "out", "k", "pool", "scale", "groups", "bits", "relu", "bn",
            "inputs", "weights")
    rows = [head]
    for layer in spec.layers():
        rows.append((
            layer.name, "convT" if layer.op == "convtranspose2d" else "conv",
            str(layer.in_channels), str(layer.out_channels), f"{layer.kernel}x{layer.kernel}",
            str(layer.pool or "-"), f"1/{layer.scale}", str(layer.groups), str(layer.bits),
            "y" if layer.relu else "-", "y" if layer.bn else "-",
            "+".join(layer.inputs) or "input", f"{layer.weight_count:,}",
        ))
    width = [max(len(r[i]) for r in rows) for i in range(len(head))]
    right = {2, 3, 6, 7, 8, 12}
    lines = [
        f"{spec.name}: depth {spec.depth}, fold {spec.fold_ratio} "
        f"({spec.in_channels}x{spec.fold_ratio}^2 = {spec.input_channels} input channels), "
        f"{spec.num_classes} classes, batchnorm {spec.batchnorm}, "
        f"bias {'yes' if spec.bias else 'no'}, {len(rows) - 1} layers",
    ]
    for r in rows:
        lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, width, strict=True))).rstrip())
    weights, biases = spec.weight_count(), spec.bias_count()
    bn = sum(layer.out_channels for layer in spec.layers() if layer.bn)
    torch_params = weights + biases + (2 * bn if spec.batchnorm == "affine" else 0)
    bits = sorted({layer.bits for layer in spec.layers()})
    lines += [
        f"parameters: {weights + biases:,} = {weights:,} weights + {biases:,} biases "
        f"(PyTorch parameters: {torch_params:,})",
        f"layer weight bytes: {spec.layer_weight_bytes():,} (weights x bits / 8 of these layers,"
        f" bits {'/'.join(map(str, bits))}; izer's Weight memory, shown by `nas check` and "
        f"used by the search, adds the copy layers izer inserts for > 64-channel concats)",
    ]
    return "\n".join(lines)


def _describe(args: argparse.Namespace) -> int:
    if args.reference:
        spec = get_reference(args.reference, args.num_classes)
    else:
        spec = ArchSpec.load(args.arch)
    print(describe(spec))
    return 0
