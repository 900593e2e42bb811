"""``python -m nas finalize``: retrain the knees of a study's front and its references.

Picks K knees of the front (feasible, trained, non-reference trials), adds every
reference the study trained (the 4-bit -w4 ones included), trains each with
--preset (default full) for seeds 0..S-1, scores the test split once per
(model, seed) and writes studies/NAME/finalists.csv, finalists.md (mean ± std
over seeds) and finalists.png (HTML without kaleido). Rerunning the same
command skips the (model, seed) rows already in the CSV. The checkpoints go to
studies/NAME/finalists/, where 'python -m nas export --study NAME --trial N'
takes them in preference to the search's.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from nas._cli import SubParsers, add_torch_device_argument
from nas.finalize._config import FinalizeConfig
from nas.finalize._run import finalize, plan, rows_to_adopt


def _trial_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--trial takes trial numbers separated by commas, but got {text!r}") from None


def _bytes_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t.replace("_", "")) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--best-within takes weight bytes separated by commas (e.g. 27504,140656), "
            f"but got {text!r}") from None


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (exit status 143)."""

    signum = int(signal.SIGTERM)


def _term(signum: int, frame: object) -> None:
    raise Terminated("SIGTERM")


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = FinalizeConfig  # its defaults are the options' defaults

    p.add_argument("--study", required=True, metavar="NAME", help="study name")
    p.add_argument("--k", type=int, default=d.k,
                   help="knees of the front; 0 trains the references only (default %(default)s)")
    p.add_argument("--seeds", type=int, default=d.seeds,
                   help="seeds per model, 0..S-1 (default %(default)s)")
    p.add_argument("--preset", default=d.preset,
                   help="training preset (default %(default)s: 352 crops, 100 epochs, last 20 "
                        "quantisation-aware)")
    p.add_argument("--jobs", type=int, default=d.jobs,
                   help="trainings at once, one process each (default %(default)s); at most "
                        "2 per CPU core and ~3 GB of memory each with full")
    p.add_argument("--threads", type=int, default=None,
                   help="PyTorch threads per training (default: CPU cores // jobs)")
    p.add_argument("--trial", type=_trial_list, default=(), metavar="N[,M...]",
                   help="retrain these trials instead of knees (references still added)")
    p.add_argument("--best-within", type=_bytes_list, default=(), metavar="BYTES[,BYTES]",
                   help="also retrain, for each budget, the front net with the highest search "
                        "mIoU within that many weight bytes")
    p.add_argument("--rows-from", type=lambda t: tuple(x for x in t.split(",") if x),
                   default=(), metavar="STUDY[,STUDY]",
                   help="take over rows of these studies that trained the same net with the "
                        "same preset (references trained ahead of the search)")
    p.add_argument("--only", type=lambda t: tuple(x for x in t.split(",") if x), default=(),
                   metavar="NAME[,NAME]",
                   help="train only these finalists (names as in finalists.csv), e.g. to "
                        "split one study's trainings between two runs")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="Optuna storage URL (default SQLite in --studies-dir)")
    p.add_argument("--studies-dir", type=Path, default=d.studies_dir,
                   help="folder of study databases and reports (default %(default)s)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="CamVid folder (default: $CAMVID_DIR, else data/CamVid)")
    add_torch_device_argument(p, default=d.torch_device)
    p.add_argument("--dry-run", action="store_true",
                   help="list the finalists and the (model, seed) trainings left, train nothing")
    p.add_argument("--progress", action="store_true", help="a tqdm bar per training")
    # tests: fakes, as "module:function"
    p.add_argument("--trainer", default=d.trainer, help=argparse.SUPPRESS)
    p.add_argument("--tester", default=d.tester, help=argparse.SUPPRESS)


def config_from_args(args: argparse.Namespace):  # -> FinalizeConfig

    return FinalizeConfig(
        study_name=args.study, k=args.k, seeds=args.seeds, preset=args.preset, jobs=args.jobs,
        storage=args.storage, studies_dir=args.studies_dir, data_dir=args.data_dir,
        trials=args.trial, torch_device=args.torch_device, threads=args.threads,
        trainer=args.trainer, tester=args.tester, progress=args.progress,
        rows_from=args.rows_from, only=args.only, best_within=args.best_within)


def execute(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.dry_run:
        finalists, jobs, skipped, _, settings = plan(cfg)
        print(f"study {cfg.study_name}: {settings['task']} on {settings['device']} at "
              f"{settings['input_size'][0]}x{settings['input_size'][1]}, preset {cfg.preset}")
        for f in finalists:
            at = f" at {f.rung}" if f.rung else ""
            print(f"  {f.name:18s} {f.role:9s} trial {f.trial:4d}  search mIoU "
                  f"{f.search_miou:.3f}{at}  {f.spec.weight_count():,} weights")
        adopt = {(f.name, int(row["seed"])): other
                 for f, row, other in rows_to_adopt(cfg, finalists, settings)}
        for (name, seed), other in adopt.items():
            print(f"  {name} seed {seed}: taken over from study {other}")
        left = [j for j in jobs if (j.finalist.name, j.seed) not in adopt]
        print(f"{len(left)} trainings to run, {len(skipped)} done already"
              + (f", {len(adopt)} taken over" if adopt else ""))
        return 0
    # SIGINT too, as the search does: a shell starts background jobs with SIGINT ignored,
    # and Python then leaves it ignored, so `kill -INT` would not stop a finalize started by
    # a script with `&`.
    main = threading.current_thread() is threading.main_thread()
    old = {signal.SIGTERM: signal.signal(signal.SIGTERM, _term),
           signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler)} if main else {}
    try:
        result = finalize(cfg, log=lambda s: print(s, flush=True))
    except KeyboardInterrupt:
        print(f"interrupted; finished rows are in {cfg.csv}, rerun the same command to resume",
              file=sys.stderr)
        raise
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    print(f"{len(result.trained)} trained, {len(result.skipped)} done already")
    if result.paths:
        print((result.paths["md"]).read_text())
        for what, path in result.paths.items():
            print(f"{what:5s} {path}")
    return 0


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "finalize", help="retrain the knees of a study's front and its references, test split",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=execute)
