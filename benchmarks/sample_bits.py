"""Weight widths `python -m nas sample` draws, and the share of its specs `nas check` accepts.

Runs ``python -m nas sample --n N --seed S`` (the CLI, so the numbers are what a user gets),
then for the written specs: the share of chip layers (and of weight bytes) at each weight
width, the share of specs with at least one layer below 8 bits, and the share that
``nas check`` (``nas.hardware.check`` at ``--device`` / ``--size``) accepts, split by whether
a spec has low-bit layers; the violation kinds of the rejected ones.

    nice -n 10 .venv/bin/python -m benchmarks.sample_bits --n 200 --seed 0
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

from nas._cli import add_device_argument
from nas.hardware import check
from nas.spec import ArchSpec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--space", default=None, help="passed to nas sample (default: its own)")
    add_device_argument(p)
    p.add_argument("--size", type=int, default=88, help="folded input size (default 88)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "nas", "sample", "--n", str(args.n), "--seed",
               str(args.seed), "--out", tmp]
        if args.space:
            cmd += ["--space", args.space]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       cwd=Path(__file__).resolve().parents[1])
        specs = [ArchSpec.from_json(f.read_text()) for f in sorted(Path(tmp).glob("*.json"))]
    layers_at: collections.Counter[int] = collections.Counter()
    bytes_at: collections.Counter[int] = collections.Counter()
    accepted = {True: 0, False: 0}
    total = {True: 0, False: 0}
    kinds: collections.Counter[str] = collections.Counter()
    saved = []
    for spec in specs:
        chip = spec.layers()
        for layer in chip:
            layers_at[layer.bits] += 1
            bytes_at[layer.bits] += layer.weight_count * layer.bits // 8
        low = any(layer.bits < 8 for layer in chip)
        total[low] += 1
        report = check(spec, args.device, (args.size, args.size))
        if report.feasible:
            accepted[low] += 1
            if low:
                saved.append(1 - spec.layer_weight_bytes() / sum(x.weight_count for x in chip))
        else:
            for kind in {v.limit for v in report.violations}:
                kinds[kind] += 1
    n_layers = sum(layers_at.values())
    print(f"{len(specs)} specs from `python -m nas sample --n {args.n} --seed {args.seed}`, "
          f"{n_layers} chip layers")
    n_bytes = sum(bytes_at.values())
    print("| weight bits | layers | share of layers | share of weight bytes |")
    print("|---|---|---|---|")
    for bits in sorted(layers_at, reverse=True):
        print(f"| {bits} | {layers_at[bits]} | {layers_at[bits] / n_layers:.1%} | "
              f"{bytes_at[bits] / n_bytes:.1%} |")
    n = len(specs)
    ok = accepted[True] + accepted[False]
    print(f"\nspecs with a layer below 8 bits: {total[True]}/{n} ({total[True] / n:.0%})")
    print(f"nas check accepts: {ok}/{n} ({ok / n:.0%}); mixed-bit {accepted[True]}/"
          f"{total[True]}, all-8-bit {accepted[False]}/{total[False]}")
    if saved:
        saved.sort()
        print(f"weight bytes saved vs the same shapes at 8 bits (accepted mixed-bit specs): "
              f"median {saved[len(saved) // 2]:.0%}, min {saved[0]:.0%}, max {saved[-1]:.0%}")
    print("rejected, by violation kind (a spec counts once per kind): "
          + (", ".join(f"{k} {c}" for k, c in kinds.most_common()) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
