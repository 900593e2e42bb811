"""Feasibility of a search space: the share of random samples that ``nas.hardware.check`` accepts.

Samples ``--n`` architectures from a space (Optuna ``RandomSampler``, ``--seed``), checks each on
``--device`` at ``--size`` and prints the feasible fraction, the violation kinds that made
specs infeasible (a spec counts once per kind), and the weight-byte range of the feasible
specs (min, quartiles, max), so that a space made feasible by only keeping tiny nets shows.

    PYTHONPATH=. nice -n 5 .venv/bin/python benchmarks/space_feasibility.py --n 1000
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nas.hardware import check  # noqa: E402
from search_spaces import get_space, parse_weight_bits, sample_specs  # noqa: E402


def _kb(x: float) -> str:
    return f"{x / 1000:.1f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="unet_max78000")
    p.add_argument("--device", default="MAX78000")
    p.add_argument("--n", type=int, default=1000, help="architectures to sample")
    p.add_argument("--size", type=int, nargs=2, default=(88, 88), metavar=("H", "W"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weight-bits", default=None,
                   help="comma-separated weight widths the space samples (default: the space's)")
    args = p.parse_args(argv)
    size = tuple(args.size)

    space = get_space(args.space)
    if args.weight_bits:
        space = space.with_weight_bits(parse_weight_bits(args.weight_bits))
    specs = sample_specs(space, args.n, seed=args.seed)
    kinds: collections.Counter[str] = collections.Counter()
    feasible_bytes, all_bytes = [], []
    by_depth: dict[int, list[int]] = collections.defaultdict(lambda: [0, 0])
    for spec in specs:
        report = check(spec, args.device, size)
        all_bytes.append(report.weight_bytes)
        by_depth[spec.depth][1] += 1
        if report.feasible:
            feasible_bytes.append(report.weight_bytes)
            by_depth[spec.depth][0] += 1
        for limit in {v.limit for v in report.violations}:
            kinds[limit] += 1

    n = len(specs)
    print(f"# space_feasibility: {n} samples from {args.space} (seed {args.seed}), "
          f"{args.device}, {size[0]}x{size[1]}")
    print(f"feasible: {len(feasible_bytes)}/{n} = {len(feasible_bytes) / max(n, 1):.1%}")
    bits = collections.Counter(layer.bits for spec in specs for layer in spec.layers())
    total = sum(bits.values())
    print("layers per weight width: " + ", ".join(
        f"{b}-bit {c / total:.1%}" for b, c in sorted(bits.items(), reverse=True)))
    print("by depth: " + ", ".join(f"{d}: {f}/{t}" for d, (f, t) in sorted(by_depth.items())))
    print("violation kinds (specs with at least one):")
    for kind, count in kinds.most_common(6):
        print(f"  {kind}: {count} ({count / n:.1%})")
    for label, xs in (("feasible", feasible_bytes), ("all sampled", all_bytes)):
        if len(xs) >= 2:
            q1, q2, q3 = statistics.quantiles(xs, n=4)
            print(f"weight kB of {label}: min {_kb(min(xs))}, q1 {_kb(q1)}, median {_kb(q2)}, "
                  f"q3 {_kb(q3)}, max {_kb(max(xs))}")
    big = sum(b >= 100_000 for b in feasible_bytes)
    print(f"feasible with >= 100 kB of weights: {big} ({big / max(n, 1):.1%} of samples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
