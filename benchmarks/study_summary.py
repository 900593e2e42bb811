"""Summarise a finished (or running) study: throughput, feasibility, front, hypervolume.

Usage:
    python benchmarks/study_summary.py --study headline [--storage URL] [--at 50 100 200]

Wall time runs from the first trial's start to the last trial's completion (so a resumed study
counts only the time trials were running, not the gap between runs).
"""

from __future__ import annotations

import argparse

import optuna
import pandas as pd

from nas.report import trials_frame
from nas.search import front_quality, hypervolume_frame, log_hypervolume_frame, pareto_frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", required=True, help="study name")
    ap.add_argument("--storage", help="Optuna storage URL (default sqlite:///studies/NAME.db)")
    ap.add_argument("--at", type=int, nargs="*", default=[50, 100, 200],
                    help="report the hypervolume after this many trials")
    ap.add_argument("--device", default="MAX78000",
                    help="whose weight memory bounds the log-bytes hypervolume")
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
    for n in [*[n for n in args.at if n <= len(log_hv)], len(log_hv)]:
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
