"""Speed of the hardware model: ``nas.hardware.check`` over sampled architectures.

The search calls ``check`` once per trial, before training, so it must be cheap next to izer
(10-30 s per run, reference notes §6.2). This samples ``--n`` architectures from a search space
(Optuna RandomSampler, fixed seed; sampling is not timed), checks each once as a warm-up, then
times ``--repeats`` calls per architecture and keeps each architecture's median. Reported: the
median over architectures (target <= 5 ms), p90, max, split by whether the memory planner ran
(it only runs when izer's size checks pass), and the violation kinds that made specs infeasible.

    PYTHONPATH=. nice -n 5 .venv/bin/python benchmarks/check_speed.py --n 1000
"""

from __future__ import annotations

import argparse
import collections
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nas.hardware import check  # noqa: E402
from nas.spec import get_reference  # noqa: E402


def _sample(space_name: str, n: int, seed: int) -> list:
    from search_spaces import get_space, sample_specs

    return sample_specs(get_space(space_name), n, seed=seed)


def _time(spec, device: str, size: tuple[int, int], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        check(spec, device, size)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def _ms(x: float) -> str:
    return f"{x * 1e3:.2f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="unet_max78000")
    p.add_argument("--device", default="MAX78000")
    p.add_argument("--n", type=int, default=1000, help="architectures to sample")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per architecture")
    p.add_argument("--size", type=int, nargs=2, default=(88, 88), metavar=("H", "W"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    size = tuple(args.size)

    specs = _sample(args.space, args.n, args.seed)
    times, planned, unplanned = [], [], []
    kinds: collections.Counter[str] = collections.Counter()
    n_feasible = 0
    for spec in specs:
        report = check(spec, args.device, size)  # warm-up, and the outcome
        dt = _time(spec, args.device, size, args.repeats)
        times.append(dt)
        ran_planner = report.plan is not None or any(
            v.limit == "data_memory_plan" for v in report.violations)
        (planned if ran_planner else unplanned).append(dt)
        n_feasible += report.feasible
        for limit in {v.limit for v in report.violations}:
            kinds[limit] += 1
    times.sort()
    refs = {name: _time(get_reference(name), args.device, size, 20)
            for name in ("ai85unetlarge", "unetmysmall")}

    print(f"# check_speed: {args.n} architectures from {args.space}, {args.device}, "
          f"{size[0]}x{size[1]}, {args.repeats} timed calls each "
          f"(python {platform.python_version()}, {platform.machine()})")
    print("| set | n | median ms | p90 ms | max ms |")
    print("|---|---|---|---|---|")
    for name, xs in (("all", times), ("memory planner ran", sorted(planned)),
                     ("rejected by size/rule checks first", sorted(unplanned))):
        if xs:
            print(f"| {name} | {len(xs)} | {_ms(statistics.median(xs))} | "
                  f"{_ms(xs[int(0.9 * (len(xs) - 1))])} | {_ms(xs[-1])} |")
    for name, dt in refs.items():
        print(f"| {name} (median of 20) | 1 | {_ms(dt)} | | |")
    print(f"\nfeasible: {n_feasible} of {len(specs)}")
    print("specs with a violation of kind: " + ", ".join(
        f"{k} {v}" for k, v in kinds.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
