"""Run or resume the architecture search (run_search.py = python -m nas search).

The study is kept in studies/<study-name>.db; a rerun of the same command runs
only the trials still missing. Reports: studies/<study-name>/report.html,
trials.csv and pareto.csv. Ctrl-C or SIGTERM stops cleanly (the running trial
is marked FAIL, the reports are written; exit status 130 / 143).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nas._cli import (
    SubParsers,
    add_device_argument,
    add_input_size,
    add_torch_device_argument,
    help_formatter,
    option_names,
)
from nas.search._config import (
    DEFAULT_STUDY_NAME,
    OBJECTIVES,
    SAMPLERS,
    SearchConfig,
    default_jobs,
)
from nas.search._run import run
from nas.search._signals import signal_of
from nas.search._summary import summary
from search_spaces import parse_weight_bits

# SearchConfig fields whose names appear in its ValueErrors -> the options that set them
OPTIONS = {
    "n_trials": "--trials", "study_name": "--study-name", "input_size": "--input-size",
    "weight_bits": "--weight-bits", "timeout": "--timeout",
    "max_weight_bytes": "--max-weight-bytes", "max_latency_ms": "--max-latency-ms",
    "torch_threads": "--torch-threads", "torch_device": "--torch-device",
    "heartbeat_interval": "--heartbeat-interval", "grace_period": "--grace-period",
    "early_stop_margin": "--early-stop-margin", "early_stop_every": "--early-stop-every",
    "promote_share": "--promote-share", "promote_margin": "--promote-margin",
}


def _objectives(text: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [n for n in names if n not in OBJECTIVES]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown objective(s) {bad}; valid: {list(OBJECTIVES)} (e.g. miou,bytes,latency)")
    return names


def _names(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _weight_bits(text: str) -> tuple[int, ...]:
    try:
        return parse_weight_bits(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = SearchConfig
    p.add_argument("--trials", type=int, default=d.n_trials,
                   help="COMPLETE trials the study should hold, references and infeasible "
                        "ones included; a rerun only runs the missing ones (default %(default)s)")
    p.add_argument("--study-name", default=DEFAULT_STUDY_NAME,
                   help="study name; default storage studies/<name>.db (default %(default)s)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="Optuna storage URL, e.g. sqlite:///studies/x.db or "
                        "postgresql://user:pass@host/db (default: SQLite in studies/)")
    p.add_argument("--studies-dir", type=Path, default=d.studies_dir,
                   help="folder for the default database, reports and checkpoints")
    p.add_argument("--space", default=d.space, help="search space (default %(default)s)")
    p.add_argument("--task", default=d.task,
                   help="task: camvid4 or camvid11 (default %(default)s)")
    add_device_argument(p)
    add_input_size(p)
    p.add_argument("--preset", default=None,
                   help=f"training preset: smoke, proxy, full, ... (default {d.preset}, or "
                        "the first of --rungs)")
    p.add_argument("--rungs", type=_names, default=d.rungs, metavar="LIST",
                   help="comma list of presets, e.g. proxy,medium: every trial trains with the "
                        "first; the top of each rung's front is retrained with the next, as "
                        "trials complete (its own study <name>@<preset>; default: none)")
    p.add_argument("--promote-share", type=float, default=d.promote_share, metavar="SHARE",
                   help="with --rungs, promote at most this share of a rung's trained trials "
                        "(references always; default %(default)s)")
    p.add_argument("--promote-margin", type=float, default=d.promote_margin, metavar="MIOU",
                   help="with --rungs, promote only trials within this mIoU of the rung's "
                        "front at their bytes, closest first (default %(default)s)")
    p.add_argument("--sampler", default=d.sampler, choices=SAMPLERS,
                   help="multi-objective sampler (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed,
                   help="sampler and training seed (default %(default)s)")
    p.add_argument("--weight-bits", type=_weight_bits, default=d.weight_bits, metavar="LIST",
                   help="weight widths sampled per layer group, from 8,4,2,1; the first layer "
                        "and the classifier stay 8-bit (default "
                        f"{','.join(map(str, d.weight_bits))}; 8 = all 8-bit)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="CamVid folder (default: $CAMVID_DIR, else data/CamVid)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="start no new trial after this many seconds")
    p.add_argument("--objectives", type=_objectives, default=d.objectives, metavar="LIST",
                   help="comma list: miou,bytes (default) or miou,bytes,latency; bytes = "
                        "param bytes (weights + biases) of the hardware model")
    p.add_argument("--max-weight-bytes", type=int, default=None,
                   help="budget on param bytes, weights + biases (a constraint)")
    p.add_argument("--max-latency-ms", type=float, default=None,
                   help="budget on the modelled inference latency in ms (a constraint)")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes on this machine, CPU threads split between them "
                        f"(default: one per CPU core as memory allows, {default_jobs()} here "
                        "with the proxy preset); at most 2 per core and ~1.4 GB of memory "
                        "each (~3 GB at 352 px crops: medium, full)")
    p.add_argument("--torch-threads", type=int, default=None,
                   help="threads per worker (default: CPU cores // jobs)")
    add_torch_device_argument(p)
    p.add_argument("--artifact-dir", type=Path, default=None,
                   help="checkpoint store (default studies/<name>/artifacts; shared folder "
                        "when workers run on several hosts)")
    p.add_argument("--heartbeat-interval", type=int, default=d.heartbeat_interval,
                   help="seconds between heartbeats of a running trial (default %(default)s)")
    p.add_argument("--grace-period", type=int, default=None,
                   help="seconds without heartbeat before a trial is failed and retried "
                        "(default: twice the interval)")
    p.add_argument("--early-stop", action=argparse.BooleanOptionalAction, default=d.early_stop,
                   help="stop a trial whose val mIoU + margin is below the current front at "
                        "its bytes (it stays COMPLETE, user attribute early_stopped; default "
                        "off)")
    p.add_argument("--early-stop-margin", default=str(d.early_stop_margin),
                   metavar="MIOU", help="mIoU a trial may still gain after an evaluated epoch: "
                                        "one value, or one per evaluation, the last repeating "
                                        "(proxy, every 2 epochs, as measured: "
                                        "0.66,0.39,0.21,0.15 with an fp32 trainer, "
                                        "0.67,0.55,0.29,0.12 with bf16; default "
                                        "%(default)s)")
    p.add_argument("--early-stop-every", type=int, default=d.early_stop_every, metavar="EPOCHS",
                   help="with --early-stop, evaluate val every this many epochs "
                        "(default %(default)s)")
    p.add_argument("--no-progress", action="store_true",
                   help="no status line: one line per event (as when stderr is not a terminal)")
    # tests: fakes, as "module:function"
    p.add_argument("--trainer", default=d.trainer, help=argparse.SUPPRESS)
    p.add_argument("--components", default=d.components, help=argparse.SUPPRESS)


def config_from_args(args: argparse.Namespace) -> SearchConfig:
    """``ValueError`` (naming the option and the bad value) for invalid combinations."""
    try:
        return _config(args)
    except ValueError as e:
        raise ValueError(option_names(str(e), OPTIONS)) from None


def _config(args: argparse.Namespace) -> SearchConfig:
    presets = args.rungs or (args.preset or SearchConfig.preset,)
    return SearchConfig(
        n_trials=args.trials, study_name=args.study_name, storage=args.storage,
        studies_dir=args.studies_dir, space=args.space, task=args.task, device=args.device,
        input_size=args.input_size,
        preset=args.preset or (args.rungs[0] if args.rungs else SearchConfig.preset),
        rungs=args.rungs, promote_share=args.promote_share,
        promote_margin=args.promote_margin, sampler=args.sampler, seed=args.seed,
        data_dir=args.data_dir,
        timeout=args.timeout, objectives=args.objectives,
        max_weight_bytes=args.max_weight_bytes, max_latency_ms=args.max_latency_ms,
        jobs=args.jobs if args.jobs is not None else default_jobs(presets, args.input_size),
        torch_threads=args.torch_threads, torch_device=args.torch_device,
        artifact_dir=args.artifact_dir, heartbeat_interval=args.heartbeat_interval,
        grace_period=args.grace_period, trainer=args.trainer, components=args.components,
        progress=not args.no_progress, weight_bits=args.weight_bits,
        early_stop=args.early_stop, early_stop_margin=args.early_stop_margin,
        early_stop_every=args.early_stop_every,
    )


def execute(args: argparse.Namespace) -> int:
    """Run the search; 0 = done, 1 = a worker failed, 128 + signal when stopped by one."""
    cfg = config_from_args(args)
    try:
        result = run(cfg)
    except ValueError as e:  # bad input found before the first trial (space, data, storage)
        raise ValueError(option_names(str(e), OPTIONS)) from None
    except KeyboardInterrupt as e:  # before the first trial (loading, checking): nothing to save
        print("interrupted before the first trial; nothing to save", file=sys.stderr)
        return 128 + signal_of(e)
    print(summary(result))
    return result.exit_status


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser("search", help="run or resume the architecture search",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=execute)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=prog, formatter_class=help_formatter(argparse.RawDescriptionHelpFormatter),
        description="Hardware-aware NAS for MAX78000/MAX78002: Pareto front of val mIoU vs\n"
                    "param bytes (weights + biases), in an Optuna study.\n\n" + __doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config_from_args(args)
    except ValueError as e:  # a bad option value: one line, exit 2 (as python -m nas search)
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    try:
        return execute(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
