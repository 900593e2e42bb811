"""Does the default search's front rank its nets as the full recipe does? The ground truth of
the trusted-default issue: for every net on a search's front at the value the default search
ends with (its first rung, ``miou``, or with ``--rung PRESET`` that rung's) and for every
reference, the full recipe's val mIoU (mean
over the seeds of its rows in ``finalists.csv`` files), and Kendall tau between the two.

Reads the study and the CSVs only (no training); prints which front nets still lack a full
row and the ``nas finalize --trial`` command that trains them::

    .venv/bin/python -m benchmarks.default_fidelity --study headline2 \\
        --studies-dir studies/results --first 200 \\
        --full studies/results/headline2/finalists.csv studies/results/refs-full/finalists.csv

Writes ``benchmarks/results/default_fidelity.csv`` (``name,param_bytes,search_miou,full_miou``
and ``trial``, ``full_seeds``, ``on_front``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import optuna
import pandas as pd

from benchmarks._common import RESULTS, kendall_tau
from benchmarks.loss_ranking import full_miou, spec_key
from nas.front import pareto_frame
from nas.report import rung_names
from nas.search import study_frame
from nas.studyio import load_study, miou_key

OUT = RESULTS / "default_fidelity.csv"
COLUMNS = ["name", "param_bytes", "search_miou", "full_miou", "trial", "full_seeds", "on_front"]


def fidelity_frame(trials: pd.DataFrame, full: pd.DataFrame, first: int | None = None,
                   column: str = "miou") -> pd.DataFrame:
    """One row per net on the front of ``trials`` (by ``column`` against param bytes, over
    the trials numbered below ``first``) and per reference with a value in ``column`` (a rung
    column holds only the promoted trials'), with its full-recipe mIoU where ``full``
    (:func:`benchmarks.loss_ranking.full_miou`) has it."""
    df = trials if first is None else trials[trials["number"] < first]
    df = df.assign(reference=df["reference"].fillna(""))
    front = pareto_frame(df.assign(miou=df[column]))
    on_front = set(front["number"])
    keep = df[df["number"].isin(on_front)
              | ((df["reference"] != "") & (df["state"] == "COMPLETE"))]
    keep = keep[(keep["spec"].fillna("") != "") & keep[column].notna()]  # NaN: not at that rung
    keep = keep.drop_duplicates("spec")  # a reference re-sampled by the search appears once
    out = pd.DataFrame({
        "name": [r or f"trial{n}" for r, n in zip(keep["reference"], keep["number"],
                                                  strict=True)],
        "param_bytes": keep["param_bytes"].astype(int).to_numpy(),
        "search_miou": keep[column].astype(float).to_numpy(),
        "trial": keep["number"].astype(int).to_numpy(),
        "on_front": keep["number"].isin(on_front).to_numpy(),
        "spec": [spec_key(s) for s in keep["spec"]]})
    out = out.merge(full, on="spec", how="left").drop(columns="spec")
    out["full_seeds"] = out["full_seeds"].fillna(0).astype(int)
    return out[COLUMNS].sort_values("param_bytes").reset_index(drop=True)


def fidelity_tau(df: pd.DataFrame) -> tuple[float, int]:
    """Kendall tau of ``search_miou`` against ``full_miou`` over the rows with a full row, and
    their count (nan below 2 rows)."""
    d = df.dropna(subset=["full_miou"])
    return (kendall_tau(d["search_miou"], d["full_miou"]) if len(d) >= 2 else float("nan"),
            len(d))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--study", required=True)
    ap.add_argument("--studies-dir", type=Path, default=Path("studies"))
    ap.add_argument("--first", type=int, default=None,
                    help="the front of the trials numbered below N (default: all)")
    ap.add_argument("--rung", default=None, metavar="PRESET",
                    help="read the front at this rung of a --rungs search (miou@PRESET), as "
                         "a default with rungs would end; default: the first rung (miou)")
    ap.add_argument("--full", type=Path, nargs="*", default=[],
                    help="finalists.csv files with full-recipe rows of the same nets")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    missing = [str(p) for p in args.full if not p.is_file()]
    if missing:
        raise SystemExit(f"--full: no such file: {', '.join(missing)}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = load_study(args.study, None, args.studies_dir)
    trials = study_frame(study)
    column = "miou" if args.rung is None else miou_key(args.rung)
    if column not in trials.columns:
        raise SystemExit(f"--rung {args.rung}: study {args.study} has no such rung; its rungs: "
                         f"{', '.join(rung_names(trials)) or 'none'}")
    df = fidelity_frame(trials, full_miou(args.full), args.first, column)
    print(df.round(4).to_string(index=False))
    tau, n = fidelity_tau(df)
    print(f"Kendall tau(search_miou, full_miou) = {tau:.3f} over {n} of {len(df)} nets")
    todo = df[df["full_miou"].isna() & (df["name"].str.startswith("trial"))]
    if len(todo):
        # a folder of their own: the study's finalists.csv stays the knees and budgets
        print(f"{len(todo)} front nets without a full row; train them with:\n"
              f"  python -m nas finalize --study {args.study} "
              f"--storage sqlite:///{args.studies_dir / args.study}.db "
              f"--studies-dir {args.studies_dir / 'front-full'} "
              f"--trial {','.join(str(t) for t in todo['trial'])} "
              f"--only {','.join(todo['name'])} --seeds 2\n"
              f"  (then add {args.studies_dir / 'front-full' / args.study / 'finalists.csv'} "
              f"to --full)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
