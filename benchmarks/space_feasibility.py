"""Feasibility of a search space: the share of random samples that ``nas.hardware.check`` accepts.

Samples ``--n`` architectures from a space (Optuna ``RandomSampler``, ``--seed``), checks each on
``--device`` at ``--size`` and prints the feasible fraction, the violation kinds that made
specs infeasible (a spec counts once per kind), and the weight-byte range of the feasible
specs (min, quartiles, max), so that a space made feasible by only keeping tiny nets shows.
Data-memory failures are split into proven (the exact planner proved no layout exists),
undecided (it ran out of time) and greedy-only (``--exact-ms 0``: only the greedy planner ran);
specs placed only by the exact planner are counted too.

    nice -n 5 .venv/bin/python -m benchmarks.space_feasibility --n 1000
    nice -n 5 .venv/bin/python -m benchmarks.space_feasibility --n 1000 --exact-ms 0

``--without-caps`` samples the space with its data-memory caps off (``instance_bytes`` so large
that no cap applies; ``check`` still uses the real device) and, for each cap, counts how the
specs it would have cut off fare (each spec under the first cap ``params_for`` names).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import re
import statistics

from nas._cli import add_device_argument
from nas.hardware import check
from search_spaces import get_space, parse_weight_bits, sample_specs


def _kb(x: float) -> str:
    return f"{x / 1000:.1f}"


MEMORY_OUTCOMES = ("greedy plan", "exact plan only", "proven infeasible", "undecided",
                   "greedy-only failure", "not planned")


def _memory_outcome(report) -> str:
    """How the data-memory plan of one report came out (one of :data:`MEMORY_OUTCOMES`)."""
    if report.plan is not None:
        return "exact plan only" if report.plan.strategy == "exact" else "greedy plan"
    for v in report.violations:
        if v.limit == "data_memory_undecided":
            return "undecided"
        if v.limit == "data_memory_plan":
            return ("proven infeasible" if "no data-memory layout exists: proven" in v.message
                    else "greedy-only failure")
    return "not planned"  # rejected by a size or structure rule before planning


def _cap_that_cuts(space, spec) -> str:
    """What of ``space`` leaves ``spec`` out ("(none)" if nothing): the field the capped space
    cannot reproduce (a width above a data-memory cap), or the ``_unfit`` flag it sets."""
    try:
        params = space.params_for(spec)
    except ValueError as e:  # "spec 'x' is not in space 'y': field 'encoder' cannot be ..."
        reason = str(e).split(": ", 1)[-1]
        capped = re.match(r"(\w+)=\S+ does not fit", reason)
        if capped:  # "enc2_width=56 does not fit the 20 processors data memory leaves it"
            return f"{capped.group(1)} (processor cap)"
        return re.sub(r"\s*\(.*", "", reason).replace(" cannot be reproduced", "") or reason
    unfit = [k for k, v in params.items() if k.endswith("_unfit") and v]
    return ", ".join(unfit) if unfit else "(none)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="unet_max78000")
    add_device_argument(p)
    p.add_argument("--n", type=int, default=1000, help="architectures to sample")
    p.add_argument("--size", type=int, nargs=2, default=(88, 88), metavar=("H", "W"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--exact-ms", type=float, default=None,
                   help="exact planner budget per architecture, ms (0 = greedy only; "
                        "default: $NAS_PLAN_EXACT_MS or 1000)")
    p.add_argument("--without-caps", action="store_true",
                   help="sample with the space's data-memory caps off and split the outcome "
                        "by the cap that would have cut each spec off")
    p.add_argument("--weight-bits", default=None,
                   help="comma-separated weight widths the space samples (default: the space's)")
    args = p.parse_args(argv)
    if args.exact_ms is not None:
        if args.exact_ms < 0:
            p.error(f"--exact-ms must be >= 0, but got {args.exact_ms}")
        os.environ["NAS_PLAN_EXACT_MS"] = str(args.exact_ms)
    size = tuple(args.size)

    space = get_space(args.space)
    if args.weight_bits:
        space = space.with_weight_bits(parse_weight_bits(args.weight_bits))
    sampled = dataclasses.replace(space, data_memory_caps=False) if args.without_caps else space
    specs = sample_specs(sampled, args.n, seed=args.seed)
    by_cap: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    kinds: collections.Counter[str] = collections.Counter()
    feasible_bytes, all_bytes = [], []
    by_depth: dict[int, list[int]] = collections.defaultdict(lambda: [0, 0])
    memory: collections.Counter[str] = collections.Counter()  # data-memory outcome
    for spec in specs:
        report = check(spec, args.device, size)
        all_bytes.append(report.weight_bytes)
        by_depth[spec.depth][1] += 1
        if report.feasible:
            feasible_bytes.append(report.weight_bytes)
            by_depth[spec.depth][0] += 1
        for limit in {v.limit for v in report.violations}:
            kinds[limit] += 1
        memory[_memory_outcome(report)] += 1
        if args.without_caps:
            outcome = "feasible" if report.feasible else _memory_outcome(report)
            if outcome in ("greedy plan", "exact plan only", "not planned"):
                outcome = "other violation"
            by_cap[_cap_that_cuts(space, spec)][outcome] += 1

    n = len(specs)
    print(f"# space_feasibility: {n} samples from {args.space}"
          f"{' without its data-memory caps' if args.without_caps else ''} (seed {args.seed}), "
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
    print("data memory: " + ", ".join(
        f"{k} {memory[k]} ({memory[k] / max(n, 1):.1%})" for k in MEMORY_OUTCOMES))
    big = sum(b >= 100_000 for b in feasible_bytes)
    print(f"feasible with >= 100 kB of weights: {big} ({big / max(n, 1):.1%} of samples)")
    if args.without_caps:
        cols = ("feasible", "proven infeasible", "undecided", "other violation")
        print("\n| first cap that cuts the spec off | specs | " + " | ".join(cols) + " |")
        print("|---|---|" + "---|" * len(cols))
        for cap, c in sorted(by_cap.items(), key=lambda kv: -sum(kv[1].values())):
            print(f"| {cap} | {sum(c.values())} | " + " | ".join(str(c[k]) for k in cols)
                  + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
