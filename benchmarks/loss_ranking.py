"""Do a trial's training losses rank nets better than its proxy val mIoU? A free estimator
for the trusted-default issue: every search trial records ``train_losses`` (per epoch).

Over the trials a study promoted to its next rung, Kendall tau against that rung's val mIoU
(and, with ``--full``, against the full recipe's val mIoU, mean over seeds, of the nets with a
row in a ``finalists.csv``) of each estimator from the first rung's training:

- ``proxy_miou``: what the search records (val mIoU, low-bit penalty included);
- ``neg_loss_sum``: minus the sum of the per-epoch training losses (training speed);
- ``neg_loss_last``: minus the last epoch's training loss;
- ``rank_mean``: the mean of the ranks by ``proxy_miou`` and ``neg_loss_sum``.

Reads the study only (no training)::

    .venv/bin/python -m benchmarks.loss_ranking --study headline2 --studies-dir studies/results \\
        --full studies/results/headline2/finalists.csv studies/results/refs-full/finalists.csv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import optuna
import pandas as pd

from benchmarks._common import RESULTS, kendall_tau
from nas.studyio import RUNG_SEP, default_storage_url

ESTIMATORS = ("proxy_miou", "neg_loss_sum", "neg_loss_last", "rank_mean")


def spec_key(spec: str) -> str:
    """A spec's JSON without its name (the references are named, the same trial is not)."""
    d = json.loads(spec)
    d.pop("name", None)
    return json.dumps(d, sort_keys=True)


def promoted_trials(study: optuna.Study, upper: optuna.Study) -> pd.DataFrame:
    """One row per trial of ``study`` that ``upper`` (its next rung) trained to the end:
    the estimators from its first-rung training and ``upper_miou``."""
    first = {t.number: t for t in study.get_trials(deepcopy=False)
             if t.state == optuna.trial.TrialState.COMPLETE and t.user_attrs.get("train_losses")}
    rows = []
    for u in upper.get_trials(deepcopy=False):
        t = first.get(u.user_attrs.get("promotion_of", -1))
        if u.state != optuna.trial.TrialState.COMPLETE or t is None:
            continue
        losses = t.user_attrs["train_losses"]
        name = t.user_attrs.get("reference") or f"trial{t.number}"
        rows.append({"trial": t.number, "name": name,
                     "param_bytes": int(t.user_attrs["param_bytes"]),
                     "proxy_miou": t.values[0], "neg_loss_sum": -sum(losses),
                     "neg_loss_last": -losses[-1], "upper_miou": u.values[0],
                     "spec": spec_key(t.user_attrs["spec"])})
    df = pd.DataFrame(rows)
    if len(df):
        df["rank_mean"] = -(df["proxy_miou"].rank(ascending=False)
                            + df["neg_loss_sum"].rank(ascending=False)) / 2
    return df


def full_miou(csvs: list[Path]) -> pd.DataFrame:
    """``spec`` key and the mean full-recipe val mIoU over seeds from ``finalists.csv`` files
    (rows of the ``full`` preset only). A (net, seed) in several files counts once: finalize's
    ``--rows-from`` copies rows between studies."""
    parts = [pd.read_csv(p) for p in csvs if p.is_file()]
    if not parts:
        return pd.DataFrame(columns=["spec", "full_miou", "full_seeds"])
    df = pd.concat(parts, ignore_index=True)
    df = df[df.get("preset", "full") == "full"]
    df = df.assign(spec=[spec_key(s) for s in df["spec"]])
    df = df.drop_duplicates(["spec", "seed"])
    return (df.groupby("spec")["val_miou"].agg(["mean", "count"])
            .rename(columns={"mean": "full_miou", "count": "full_seeds"}).reset_index())


def agreement(df: pd.DataFrame, truth: str) -> pd.DataFrame:
    """Kendall tau of each estimator against the column ``truth``, over the rows that have it."""
    d = df.dropna(subset=[truth])
    return pd.DataFrame([{"truth": truth, "estimator": e, "n": len(d),
                          "kendall_tau": kendall_tau(d[truth], d[e]) if len(d) >= 2
                          else float("nan")} for e in ESTIMATORS])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--study", required=True)
    ap.add_argument("--studies-dir", type=Path, default=Path("studies"))
    ap.add_argument("--rung", default="medium", help="the upper rung to compare with")
    ap.add_argument("--full", type=Path, nargs="*", default=[],
                    help="finalists.csv files with full-recipe rows of the same nets")
    ap.add_argument("--out", type=Path, default=RESULTS / "loss_ranking.csv")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = default_storage_url(args.studies_dir, args.study)
    study = optuna.load_study(study_name=args.study, storage=storage)
    upper = optuna.load_study(study_name=f"{args.study}{RUNG_SEP}{args.rung}", storage=storage)
    df = promoted_trials(study, upper).rename(columns={"upper_miou": f"{args.rung}_miou"})
    if df.empty:
        raise SystemExit(f"{args.study}: no trial promoted to {args.rung} with train_losses")
    df = df.merge(full_miou(args.full), on="spec", how="left")
    table = pd.concat([agreement(df, f"{args.rung}_miou"), agreement(df, "full_miou")])
    print(df.drop(columns="spec").sort_values(f"{args.rung}_miou", ascending=False)
          .round(4).to_string(index=False))
    print(table.round(3).to_string(index=False))
    table.insert(0, "study", args.study)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
