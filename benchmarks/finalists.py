"""Train a study's knee points and its references with the final recipe; test-split table.

A thin wrapper over ``python -m nas finalize`` (``nas.finalize``) that also copies the table
into ``studies/results/STUDY/`` (committed) and the plot to ``--plot``. Everything else
(knees from the front, every reference the study trained, seeds, resume per (model, seed),
``--jobs``) is the command's; see ``python -m nas finalize --help``.

    nice .venv/bin/python -m benchmarks.finalists --study headline --k 4 --seeds 3 \\
        --data-dir ../shared/datasets/camvid --jobs 2 --threads 1

The 2026-11-22 headline rows in ``studies/results/headline/finalists/*.json`` were written by
the earlier, single-seed form of this script (one JSON per finalist; see git history).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from nas.finalize import FinalizeConfig, finalize
from nas.finalize.cli import add_arguments


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    ap.add_argument("--results", type=Path, default=Path("studies/results"),
                    help="copy finalists.csv / .md to RESULTS/STUDY/ (default %(default)s)")
    ap.add_argument("--plot", type=Path, default=Path("docs/finalists.png"))
    args = ap.parse_args(argv)
    try:
        cfg = FinalizeConfig(
            study_name=args.study, k=args.k, seeds=args.seeds, preset=args.preset,
            jobs=args.jobs, storage=args.storage, studies_dir=args.studies_dir,
            data_dir=args.data_dir, trials=args.trial, torch_device=args.torch_device,
            threads=args.threads, trainer=args.trainer, tester=args.tester,
            progress=args.progress)
        result = finalize(cfg)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = args.results / args.study
    out.mkdir(parents=True, exist_ok=True)
    for what in ("csv", "md"):
        shutil.copy(result.paths[what], out / result.paths[what].name)
    plot = result.paths["plot"]
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(plot, args.plot.with_suffix(plot.suffix))
    print(result.paths["md"].read_text())
    print(f"copied to {out}/ and {args.plot.with_suffix(plot.suffix)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
