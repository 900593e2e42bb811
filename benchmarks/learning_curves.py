"""Proxy learning curves of a study's nets, and the early stop's margin, false stops and savings.

Retrains a random sample of a finished study's trained, searched trials with the study's
preset, evaluating val every ``--every`` epochs, and appends one CSV row per evaluation
(resumable: trials already in the CSV are skipped; ``--part i/n`` splits the sample between
processes). Then, for each margin, it replays the early-stop rule of ``--early-stop``
(:func:`nas.search._early_stop.cannot_reach_front`) on the recorded curves, against the front
of the study's trials that had finished when each trial started (as the search saw it):

- stopped: the first evaluated epoch whose mIoU + margin is below that front at its bytes;
- false stop: a stopped trial whose final mIoU would not have been below that front;
- saved: the training epochs a stop skips, as a share of the sample's epochs.

::

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.learning_curves \\
        --trials-csv studies/results/make-search/trials.csv --n 24 --part 1/2 \\
        --data-dir ../shared/datasets/camvid     # and --part 2/2 in a second process
    .venv/bin/python -m benchmarks.learning_curves \\
        --trials-csv studies/results/make-search/trials.csv --report-only
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import RESULTS, append_rows, done_keys, write_header
from nas.front import FrontPoint, front_miou_at
from nas.report import read_trials_csv
from nas.search._early_stop import cannot_reach_front
from nas.spec import ArchSpec

OUT = RESULTS / "learning_curves.csv"
FIELDS = ("trial", "param_bytes", "search_miou", "epoch", "epochs", "miou", "train_s")
MARGINS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2)


def sample_trials(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` trained, feasible, searched trials, uniformly at random."""
    ok = df[(df["state"] == "COMPLETE") & (df["trained"] == True)  # noqa: E712
            & (df["feasible"] == True) & (df["reference"].fillna("") == "")]  # noqa: E712
    return ok.sample(n=min(n, len(ok)), random_state=seed).sort_values("number")


def front_before(df: pd.DataFrame, trial: int) -> list[FrontPoint]:
    """The points the search judged ``trial`` against: trained, feasible trials (references
    included) that finished before it started."""
    start = pd.to_datetime(df.loc[df["number"] == trial, "datetime_start"].iloc[0])
    end = pd.to_datetime(df["datetime_start"]) + pd.to_timedelta(df["duration_s"], unit="s")
    done = df[(df["state"] == "COMPLETE") & (df["trained"] == True)  # noqa: E712
              & (df["feasible"] == True) & (end <= start)]  # noqa: E712
    return [FrontPoint(float(m), int(b)) for m, b in zip(done["miou"], done["param_bytes"],
                                                          strict=True)]


def loo_margins(curves: pd.DataFrame) -> dict[int, dict[int, float]]:
    """Per trial, per evaluated epoch: the largest gain to the last epoch that the *other*
    nets made after that epoch (a margin calibrated on curves the trial is not among)."""
    finals = curves.sort_values("epoch").groupby("trial")["miou"].last()
    gain = curves.assign(gain=curves["trial"].map(finals) - curves["miou"])
    out: dict[int, dict[int, float]] = {}
    for trial in finals.index:
        others = gain[gain["trial"] != trial]
        out[int(trial)] = {int(e): float(g.max()) for e, g in others.groupby("epoch")["gain"]}
    return out


def simulate(curves: pd.DataFrame, df: pd.DataFrame, margin: float | str) -> dict[str, float]:
    """The early stop at ``margin`` replayed on the recorded curves (see the module doc);
    ``margin="loo"``: per epoch, the largest gain the other nets still made after it."""
    stopped = false = epochs_all = epochs_saved = 0
    loo = loo_margins(curves) if margin == "loo" else {}
    for trial, c in curves.groupby("trial"):
        c = c.sort_values("epoch")
        total = int(c["epochs"].iloc[0])
        nbytes = int(c["param_bytes"].iloc[0])
        final = float(c["miou"].iloc[-1])
        points = front_before(df, int(trial))
        epochs_all += total
        for e, m in zip(c["epoch"], c["miou"], strict=True):
            at = loo[int(trial)][int(e)] if margin == "loo" else float(margin)
            if e < total and cannot_reach_front(float(m), nbytes, points, at):
                stopped += 1
                epochs_saved += total - int(e)
                bar = front_miou_at(points, nbytes)
                false += int(bar is not None and final >= bar)
                break
    n = curves["trial"].nunique()
    return {"margin": margin, "nets": n, "stopped": stopped, "false_stops": false,
            "false_stop_rate": false / stopped if stopped else 0.0,
            "epochs_saved_share": epochs_saved / epochs_all if epochs_all else 0.0}


def gains(curves: pd.DataFrame) -> pd.DataFrame:
    """Per evaluated epoch: what the nets still gained to their last epoch (max, p95, mean)."""
    rows = []
    for e, g in curves.groupby("epoch"):
        finals = curves.sort_values("epoch").groupby("trial")["miou"].last()
        gain = finals.loc[g["trial"]].to_numpy() - g["miou"].to_numpy()
        if int(e) == int(g["epochs"].iloc[0]):
            continue
        rows.append({"epoch": int(e), "nets": len(g), "max_gain": float(gain.max()),
                     "p95_gain": float(np.percentile(gain, 95)),
                     "mean_gain": float(gain.mean())})
    return pd.DataFrame(rows)


def train_curves(picked: pd.DataFrame, args: argparse.Namespace, done: set[tuple]) -> None:
    from nas.data import get_task
    from nas.train import get_preset, train

    task = get_task(args.task)
    for _, row in picked.iterrows():
        number = int(row["number"])
        if (number,) in done:
            print(f"trial {number}: in {args.out.name} already, skipped")
            continue
        spec = ArchSpec.from_json(row["spec"])
        preset = get_preset(args.preset).replace(eval_every=args.every)
        seen: list[tuple[int, float, float]] = []
        t0 = time.monotonic()

        def callback(epoch: int, metrics: dict, seen=seen, t0=t0) -> None:
            if "miou" in metrics:
                seen.append((epoch, float(metrics["miou"]), time.monotonic() - t0))

        train(spec, task, preset, args.data_dir, seed=args.seed, callback=callback,
              progress=False, threads=1)
        append_rows(args.out, [{"trial": number, "param_bytes": int(row["param_bytes"]),
                                "search_miou": round(float(row["miou"]), 4), "epoch": epoch,
                                "epochs": preset.epochs, "miou": round(miou, 4),
                                "train_s": round(secs, 1)} for epoch, miou, secs in seen],
                    FIELDS)
        print(f"trial {number}: " + ", ".join(f"ep{e} {m:.3f}" for e, m, _ in seen)
              + f" (search {float(row['miou']):.3f}), {time.monotonic() - t0:.0f} s",
              flush=True)


def report(curves: pd.DataFrame, df: pd.DataFrame) -> None:
    print(f"\n{curves['trial'].nunique()} nets; gain still to come after each evaluated epoch:")
    print(gains(curves).to_string(index=False, float_format="{:.3f}".format))
    last = curves.sort_values("epoch").groupby("trial").last()
    same = (last["miou"] - last["search_miou"]).abs()
    print(f"\nfinal mIoU vs the search's own (same seed and preset): max |diff| "
          f"{same.max():.4f}")
    print("\nearly stop replayed on these curves against the front each trial saw:")
    print(pd.DataFrame([simulate(curves, df, m) for m in (*MARGINS, "loo")]).to_string(
        index=False, float_format="{:.3f}".format))
    print("(margin loo: per epoch, the largest gain the other nets still made after it)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials-csv", type=Path, required=True,
                    help="a study's trials.csv (studies/<name>/trials.csv)")
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--every", type=int, default=2, help="evaluate every this many epochs")
    ap.add_argument("--preset", default="proxy")
    ap.add_argument("--task", default="camvid4")
    ap.add_argument("--seed", type=int, default=0, help="sample and training seed")
    ap.add_argument("--part", default="1/1", help="i/n: this process trains every n-th net")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    if not args.trials_csv.is_file():
        raise SystemExit(f"error: {args.trials_csv} not found")
    df = read_trials_csv(args.trials_csv)
    if not args.report_only:
        i, n = (int(v) for v in args.part.split("/"))
        picked = sample_trials(df, args.n, args.seed).iloc[i - 1::n]
        write_header(args.out, FIELDS)  # now, before two parts race to append rows
        done = done_keys(args.out, ("trial",))
        train_curves(picked, args, done)
    if args.out.exists():
        report(pd.read_csv(args.out), df)


if __name__ == "__main__":
    main()
