"""Early stop in a real study (``run_search.py --early-stop``): the training it saved, and its
false-stop rate, found by training a sample of the stopped trials to the end.

Each sampled stopped trial is retrained with the study's preset, input size and ``--seed``
(the search's seed: same preset, seed and one thread give the same numbers, so the rerun's
first epochs are the stopped trial's), and one CSV row per trial is appended as it finishes
(resumable; ``--part i/n`` splits the sample between processes). A stop is false when the
trial's final mIoU reaches the bar it was stopped at (``early_stop_front_miou``: the front at
its bytes when it stopped); the report also counts those that would have been on the study's
final front (its fully trained trials)::

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.early_stop_audit \\
        --study NAME --n 12 --part 1/2 --data-dir ../shared/datasets/camvid   # and 2/2
    .venv/bin/python -m benchmarks.early_stop_audit --study NAME --report-only
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pandas as pd

from benchmarks._common import RESULTS, append_row, done_keys, write_header
from nas.front import front_miou_at
from nas.report import early_stop_summary, trials_frame
from nas.search._early_stop import front_points
from nas.spec import ArchSpec

FIELDS = ("trial", "param_bytes", "stop_epoch", "epochs", "stopped_miou", "bar",
          "final_miou", "final_front_miou", "train_s")


def stopped_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's COMPLETE trials that early stop stopped, in trial order."""
    return [t for t in study.get_trials(deepcopy=False)
            if t.state == optuna.trial.TrialState.COMPLETE and t.user_attrs.get("early_stopped")]


def audit_rows(rows: pd.DataFrame) -> dict[str, float]:
    """Counts over the retrained sample: false stops (the final mIoU reached the bar it was
    stopped at) and those that would have been on the final front."""
    n = len(rows)
    false = int((rows["final_miou"] >= rows["bar"]).sum())
    front = int((rows["final_front_miou"].isna()
                 | (rows["final_miou"] >= rows["final_front_miou"])).sum())
    return {"retrained": n, "false_stops": false, "false_stop_rate": false / n if n else 0.0,
            "on_final_front": front}


def retrain(study: optuna.Study, picked: list[optuna.trial.FrozenTrial], out: Path, *,
            seed: int = 0, data_dir: str | None = None, train_fn: Callable | None = None
            ) -> None:
    """Train each of ``picked`` to the end with the study's preset and input size and append
    its row to ``out`` (trials already there are skipped). ``train_fn``: ``nas.train.train``
    or a stand-in with its signature."""
    from nas.data import get_task
    from nas.train import get_preset, train

    train_fn = train_fn or train
    config = study.user_attrs.get("config") or {}
    size = tuple(int(v) for v in config.get("input_size", (88, 88)))
    task = get_task(config.get("task", "camvid4"))
    full = front_points(study.get_trials(deepcopy=False))  # trained to the end
    done = done_keys(out, ("trial",))
    for t in picked:
        if (t.number,) in done:
            print(f"trial {t.number}: in {out.name} already, skipped")
            continue
        spec = ArchSpec.from_json(t.user_attrs["spec"])
        preset = get_preset(config.get("preset", "proxy")).at_input_size(size, spec.fold_ratio)
        t0 = time.monotonic()
        result = train_fn(spec, task, preset, data_dir, seed=seed, progress=False, threads=1)
        nbytes = int(t.user_attrs["param_bytes"])
        row = {"trial": t.number, "param_bytes": nbytes, "stop_epoch": t.user_attrs["epochs"],
               "epochs": preset.epochs, "stopped_miou": round(float(t.values[0]), 4),
               "bar": round(float(t.user_attrs["early_stop_front_miou"]), 4),
               "final_miou": round(float(result.miou), 4),
               "final_front_miou": front_miou_at(full, nbytes),
               "train_s": round(time.monotonic() - t0, 1)}
        append_row(out, row, FIELDS)
        print(row, flush=True)


def pick(stopped: list[optuna.trial.FrozenTrial], n: int, sample_seed: int, part: str
         ) -> list[optuna.trial.FrozenTrial]:
    """``n`` of the stopped trials at random (the same ones for every part), this part's
    share (``i/n``: every n-th)."""
    i, k = (int(v) for v in part.split("/"))
    chosen = pd.Series(range(len(stopped))).sample(n=min(n, len(stopped)),
                                                   random_state=sample_seed)
    return [stopped[j] for j in sorted(chosen)][i - 1::k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", required=True, help="study name")
    ap.add_argument("--storage", help="Optuna storage URL (default sqlite:///studies/NAME.db)")
    ap.add_argument("--n", type=int, default=12, help="stopped trials to retrain")
    ap.add_argument("--seed", type=int, default=0, help="the search's --seed")
    ap.add_argument("--sample-seed", type=int, default=0)
    ap.add_argument("--part", default="1/1", help="i/n: this process trains every n-th trial")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, help="default benchmarks/results/early_stop_NAME.csv")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    args.out = args.out or RESULTS / f"early_stop_{args.study}.csv"
    study = optuna.load_study(study_name=args.study,
                              storage=args.storage or f"sqlite:///studies/{args.study}.db")
    stopped = stopped_trials(study)
    if not args.report_only:
        write_header(args.out, FIELDS)  # now, before two parts race to append rows
        retrain(study, pick(stopped, args.n, args.sample_seed, args.part), args.out,
                seed=args.seed, data_dir=args.data_dir)
    summary = early_stop_summary(trials_frame(study.get_trials(deepcopy=False)))
    if summary is None:
        raise SystemExit(f"error: study {args.study!r} has no trial trained with early stop")
    print(f"{summary.line()}; training time saved (est.) {summary.seconds_saved_share:.1%} "
          f"({summary.seconds_saved:,.0f} of {summary.seconds_run + summary.seconds_saved:,.0f}"
          f" s)")
    if args.out.exists():
        rows = pd.read_csv(args.out)
        print(rows.to_string(index=False))
        a = audit_rows(rows)
        print(f"false stops: {a['false_stops']} of {a['retrained']} retrained "
              f"({a['false_stop_rate']:.0%}); on the final front had they run: "
              f"{a['on_final_front']}")


if __name__ == "__main__":
    main()
