"""Search throughput: 2 workers x 1 thread vs 1 worker x 2 threads, trials per hour.

Both configurations train the same feasible architectures (sampled once from the space and
enqueued), with the same preset, in fresh studies; the wall time includes the workers' start-up
and the reports, as a user sees it.

    nice -n 5 .venv/bin/python -m benchmarks.search_jobs \\
        --data-dir ../shared/datasets/camvid --preset proxy --trials 4
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from nas.hardware import check
from nas.search import SearchConfig, create_or_load_study, open_storage, run
from search_spaces import get_space, sample_specs


def feasible_params(n: int, seed: int) -> list[dict]:
    """Params of ``n`` feasible architectures of ``unet_max78000`` spread over their size."""
    space = get_space("unet_max78000")
    specs = [s for s in sample_specs(space, 40 * n, seed=seed) if check(s).feasible]
    if len(specs) < n:
        raise SystemExit(f"only {len(specs)} feasible specs among {40 * n} samples")
    specs.sort(key=lambda s: check(s).param_bytes)
    step = len(specs) / n
    return [space.params_for(specs[int(i * step)]) for i in range(n)]


def measure(root: Path, jobs: int, threads: int, params: list[dict], args) -> float:
    cfg = SearchConfig(n_trials=len(params), study_name=f"jobs{jobs}x{threads}",
                       studies_dir=root, preset=args.preset, data_dir=args.data_dir,
                       jobs=jobs, torch_threads=threads, references=(), progress=False,
                       sampler="random")
    study = create_or_load_study(cfg, open_storage(cfg))
    for p in params:
        study.enqueue_trial(p)
    start = time.perf_counter()
    result = run(cfg)
    wall = time.perf_counter() - start
    if result.counts["COMPLETE"] != len(params):
        raise SystemExit(f"{cfg.study_name}: {result.counts}")
    return wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--preset", default="proxy")
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat both configurations, alternating their order (ABBA...), "
                        "so a change in the machine's load hits both alike")
    args = p.parse_args()
    params = feasible_params(args.trials, args.seed)
    root = Path(tempfile.mkdtemp(prefix="maxnas-jobs-"))
    try:
        rows = []
        for r in range(args.rounds):
            order = ((1, 2), (2, 1)) if r % 2 == 0 else ((2, 1), (1, 2))
            for jobs, threads in order:
                load = os.getloadavg()[0]
                wall = measure(root / f"round{r}", jobs, threads, params, args)
                rows.append((jobs, threads, wall, args.trials / wall * 3600, load))
                print(f"jobs={jobs} threads={threads}: {wall:.1f} s", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{args.trials} trials, preset {args.preset}\n")
    print("| workers x threads | wall s | trials/hour | load avg at start |")
    print("|---|---|---|---|")
    for jobs, threads, wall, rate, load in rows:
        print(f"| {jobs} x {threads} | {wall:.0f} | {rate:.1f} | {load:.1f} |")


if __name__ == "__main__":
    main()
