"""Summarise a finished (or running) study: throughput, feasibility, front, hypervolume.

Usage:
    python -m benchmarks.study_summary --study headline [--storage URL] [--at 50 100 200]

Wall time runs from the first trial's start to the last trial's completion. A study resumed
across runs (or sessions) also gets its busy time: the union of its trials' running intervals,
its rungs' included (``--rungs``), which leaves out the gaps between runs.
"""

from __future__ import annotations

import argparse

import optuna
import pandas as pd

from nas._cli import add_device_argument
from nas.report import early_stop_summary, trials_frame
from nas.search import front_quality, hypervolume_frame, log_hypervolume_frame, pareto_frame
from nas.studyio import rung_studies


def busy_hours(trials: list[optuna.trial.FrozenTrial]) -> float:
    """Hours during which at least one of ``trials`` was running. COMPLETE trials only: a
    trial killed with its process is failed by the next run's stale-heartbeat check, so its
    completion time would span the gap between the runs."""
    spans = sorted((t.datetime_start, t.datetime_complete) for t in trials
                   if t.state == optuna.trial.TrialState.COMPLETE
                   and t.datetime_start and t.datetime_complete)
    total, end = 0.0, None
    for a, b in spans:
        if end is None or a > end:
            total += (b - a).total_seconds()
            end = b
        elif b > end:
            total += (b - end).total_seconds()
            end = b
    return total / 3600


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", required=True, help="study name")
    ap.add_argument("--storage", help="Optuna storage URL (default sqlite:///studies/NAME.db)")
    ap.add_argument("--at", type=int, nargs="*", default=[50, 100, 200],
                    help="report the hypervolume after this many trials")
    add_device_argument(ap)  # whose weight memory bounds the log-bytes hypervolume
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = args.storage or f"sqlite:///studies/{args.study}.db"
    study = optuna.load_study(study_name=args.study, storage=storage)
    trials = study.get_trials(deepcopy=False)
    df = trials_frame(trials)
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    start = min(t.datetime_start for t in trials if t.datetime_start)
    end = max(t.datetime_complete for t in done)
    hours = (end - start).total_seconds() / 3600
    complete = df[df["state"] == "COMPLETE"]
    feasible = complete[complete["feasible"] == True]  # noqa: E712
    front = pareto_frame(df)
    trained = complete[complete["trained"] == True]  # noqa: E712
    print(f"study {args.study}: {len(complete)} complete trials in {hours * 60:.1f} min "
          f"({len(complete) / hours:.0f} trials/hour)")
    rungs = rung_studies(study)
    busy = busy_hours(trials + [t for r in rungs for t in r.get_trials(deepcopy=False)])
    print(f"busy time (complete trials of the study{' and its rungs' if rungs else ''} running): "
          f"{busy * 60:.1f} min ({len(complete) / busy:.0f} search trials/hour)")
    for r in rungs:
        n = sum(t.state == optuna.trial.TrialState.COMPLETE for t in r.get_trials(deepcopy=False))
        print(f"rung {r.study_name}: {n} complete promotions")
    if (stop := early_stop_summary(df)) is not None:
        print(f"{stop.line()}; training time saved (est.) {stop.seconds_saved_share:.1%}")
    print(f"feasible {len(feasible)} / {len(complete)} ({len(feasible) / len(complete):.0%}); "
          f"trained {len(trained)}, mean train s {trained['train_seconds'].mean():.1f}, "
          f"total train s {trained['train_seconds'].sum():.0f}")
    hv = hypervolume_frame(complete.reset_index(drop=True))
    for n in args.at:
        if n <= len(hv):
            print(f"hypervolume after {n} complete trials: {hv['hypervolume'].iloc[n - 1]:.0f}")
    print(f"hypervolume at the end ({len(hv)} trials): {hv['hypervolume'].iloc[-1]:.0f}")
    # the metric that tells samplers apart: (mIoU, log10 bytes), reference mIoU 0.5/0.6/0.7
    log_hv = log_hypervolume_frame(complete.reset_index(drop=True), args.device)
    # the checkpoints asked for, then the end (once, where it is one of them)
    for n in sorted({*[n for n in args.at if n <= len(log_hv)], len(log_hv)}):
        row = log_hv.iloc[n - 1]
        print(f"log-bytes hypervolume after {n} trials: " + ", ".join(
            f"ref. mIoU {r}: {row[r]:.4f}" for r in log_hv.columns if r != "number"))
    print("\n".join(front_quality(df, args.device).lines()))
    print(f"front ({len(front)} trials):")
    with pd.option_context("display.width", 160, "display.max_colwidth", 70):
        print(front[["number", "reference", "miou", "param_bytes", "latency_ms", "arch"]]
              .to_string(index=False))
    refs = complete[complete["reference"] != ""]
    print("references:")
    print(refs[["number", "reference", "feasible", "miou", "param_bytes", "latency_ms"]]
          .to_string(index=False))


if __name__ == "__main__":
    main()
