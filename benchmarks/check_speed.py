"""Speed of the hardware model: ``nas.hardware.check`` over sampled architectures.

The search calls ``check`` once per trial, before training, so it must be cheap next to izer
(10-30 s per run, reference notes §6.2). This samples ``--n`` architectures from a search space
(Optuna RandomSampler, fixed seed; sampling is not timed), checks each once as a warm-up, then
times ``--repeats`` calls per architecture and keeps each architecture's median. Reported: the
median over architectures (target <= 5 ms), p90, max, split by whether the memory planner ran
(it only runs when izer's size checks pass) and whether the exact planner placed the net, and
the violation kinds that made specs infeasible. The exact planner's cache is cleared before each
timed call, so its solves are timed (the search rarely checks one architecture twice).

    nice -n 5 .venv/bin/python -m benchmarks.check_speed --n 1000 --exact-ms 0 1000
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import statistics
import sys
import time

from nas._cli import add_device_argument
from nas.hardware import check
from nas.hardware._plan_exact import plan_exact_cached
from nas.spec import get_reference


def _sample(space_name: str, n: int, seed: int) -> list:
    from search_spaces import get_space, sample_specs

    return sample_specs(get_space(space_name), n, seed=seed)


def _time(spec, device: str, size: tuple[int, int], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        plan_exact_cached.cache_clear()
        t = time.perf_counter()
        check(spec, device, size)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def _ms(x: float) -> str:
    return f"{x * 1e3:.2f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="unet_max78000")
    add_device_argument(p)
    p.add_argument("--n", type=int, default=1000, help="architectures to sample")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per architecture")
    p.add_argument("--size", type=int, nargs=2, default=(88, 88), metavar=("H", "W"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--exact-ms", type=float, nargs="+", default=[0.0, 1000.0],
                   help="exact planner budgets per architecture, ms (0 = greedy only); each "
                        "architecture is timed under each, alternating, in this process")
    args = p.parse_args(argv)
    if any(b < 0 for b in args.exact_ms):
        p.error(f"--exact-ms must be >= 0, but got {args.exact_ms}")
    size = tuple(args.size)

    specs = _sample(args.space, args.n, args.seed)
    sets = ("all", "memory planner ran", "exact planner ran (greedy failed)",
            "rejected by size/rule checks first")
    times = {b: {name: [] for name in sets} for b in args.exact_ms}
    kinds = {b: collections.Counter() for b in args.exact_ms}
    n_feasible = dict.fromkeys(args.exact_ms, 0)
    for spec in specs:
        for budget in args.exact_ms:
            os.environ["NAS_PLAN_EXACT_MS"] = str(budget)
            report = check(spec, args.device, size)  # warm-up, and the outcome
            dt = _time(spec, args.device, size, args.repeats)
            limits = {v.limit for v in report.violations}
            greedy_failed = bool(limits & {"data_memory_plan", "data_memory_undecided"})
            exact = report.plan is not None and report.plan.strategy == "exact"
            t = times[budget]
            t["all"].append(dt)
            t["memory planner ran" if report.plan is not None or greedy_failed
              else "rejected by size/rule checks first"].append(dt)
            if budget and (greedy_failed or exact):
                t["exact planner ran (greedy failed)"].append(dt)
            n_feasible[budget] += report.feasible
            kinds[budget].update(limits)
    refs = {}
    for budget in args.exact_ms:
        os.environ["NAS_PLAN_EXACT_MS"] = str(budget)
        for name in ("ai85unetlarge", "unetmysmall"):
            refs[budget, name] = _time(get_reference(name), args.device, size, 20)

    print(f"# check_speed: {args.n} architectures from {args.space}, {args.device}, "
          f"{size[0]}x{size[1]}, {args.repeats} timed calls each per exact-planner budget "
          f"(python {platform.python_version()}, {platform.machine()})")
    print("| exact budget ms | set | n | median ms | p90 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for budget in args.exact_ms:
        label = f"{budget:g}" + (" (greedy only)" if budget == 0 else "")
        for name in sets:
            xs = sorted(times[budget][name])
            if xs:
                print(f"| {label} | {name} | {len(xs)} | {_ms(statistics.median(xs))} | "
                      f"{_ms(xs[int(0.9 * (len(xs) - 1))])} | {_ms(xs[-1])} |")
        for name in ("ai85unetlarge", "unetmysmall"):
            print(f"| {label} | {name} (median of 20) | 1 | {_ms(refs[budget, name])} | | |")
    for budget in args.exact_ms:
        print(f"\nexact budget {budget:g} ms: feasible {n_feasible[budget]} of {len(specs)}; "
              "specs with a violation of kind: " + ", ".join(
                  f"{k} {v}" for k, v in kinds[budget].most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
