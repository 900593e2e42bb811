"""How well each rung ranks the top of a front: Kendall tau of each preset's val mIoU against
the full recipe's, on nets whose full-recipe val mIoU is recorded (a ``finalists`` folder).

Trains each finalist (its spec in ``<folder>/<name>.json``, its proxy and full val mIoU in
``finalists.csv``) with ``--preset`` (default ``medium``) at the study's input size, one
thread, and appends one CSV row per (name, preset, seed) as it finishes (resumable; ``--part
i/n`` splits the nets between processes). The report joins the rows with the recorded ones::

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.rung_fidelity \\
        --finalists studies/results/headline --part 1/2 --data-dir ../shared/datasets/camvid
    .venv/bin/python -m benchmarks.rung_fidelity \\
        --finalists studies/results/headline --report-only
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from benchmarks._common import RESULTS, append_row, done_keys, kendall_tau, write_header
from nas.spec import ArchSpec

OUT = RESULTS / "rung_fidelity.csv"
FIELDS = ("name", "trial", "role", "param_bytes", "preset", "seed", "val_miou", "train_s")


def load_finalists(folder: Path) -> pd.DataFrame:
    """``finalists.csv`` of ``folder`` (one row per net: its seed-0 row), with each spec, plus
    the front neighbours in ``folder/neighbours/<name>.json`` (name, role, trial, proxy_miou,
    param_bytes, spec), whose full-recipe val mIoU comes from this script's ``full`` rows."""
    df = pd.read_csv(folder / "finalists.csv")
    df = df[df["seed"] == 0].drop_duplicates("name").reset_index(drop=True)
    df["spec"] = [json.dumps(json.loads((folder / "finalists" / f"{n}.json").read_text())["spec"])
                  for n in df["name"]]
    extra = [json.loads(f.read_text()) for f in sorted((folder / "neighbours").glob("*.json"))]
    if extra:
        nb = pd.DataFrame(extra)
        nb["spec"] = [json.dumps(s) for s in nb["spec"]]
        df = pd.concat([df, nb], ignore_index=True)
    return df


def train_rows(nets: pd.DataFrame, args: argparse.Namespace) -> None:
    from nas.data import get_task
    from nas.train import get_preset, train

    done = done_keys(args.out, ("name", "preset", "seed"))
    task = get_task(args.task)
    preset = with_changes(get_preset(args.preset), args.set)
    label = args.label or args.preset
    for _, r in nets.iterrows():
        if (r["name"], label, args.seed) in done:
            print(f"{r['name']}: {label} seed {args.seed} in {args.out.name} already")
            continue
        spec = ArchSpec.from_json(r["spec"])
        p = preset.at_input_size((args.size, args.size), spec.fold_ratio)
        t0 = time.monotonic()
        result = train(spec, task, p, args.data_dir, seed=args.seed, progress=False, threads=1)
        row = {"name": r["name"], "trial": r["trial"], "role": r["role"],
               "param_bytes": int(r["param_bytes"]), "preset": label, "seed": args.seed,
               "val_miou": round(float(result.miou), 4),
               "train_s": round(time.monotonic() - t0, 1)}
        append_row(args.out, row, FIELDS)
        print(row, flush=True)


def with_changes(preset, changes: list[str]):  # -> Preset
    """``preset`` with ``FIELD=VALUE`` changes (VALUE read as JSON, else as a string)."""
    fields = {}
    for c in changes:
        k, _, v = c.partition("=")
        try:
            fields[k] = json.loads(v)
        except json.JSONDecodeError:
            fields[k] = v
    return preset.replace(**fields) if fields else preset


def report(nets: pd.DataFrame, rows: pd.DataFrame) -> None:
    table = nets[["name", "role", "param_bytes", "proxy_miou", "val_miou"]].rename(
        columns={"proxy_miou": "proxy", "val_miou": "full"})
    # a neighbour's full-recipe value is one this script trained (finalists.csv has the rest)
    full = rows[rows["preset"] == "full"].groupby("name")["val_miou"].mean()
    table["full"] = table["full"].fillna(table["name"].map(full))
    rows = rows[rows["preset"] != "full"]
    for preset, g in rows.groupby("preset"):
        table = table.merge(g.groupby("name")["val_miou"].mean().rename(preset),
                            left_on="name", right_index=True, how="left")
    print(table.sort_values("param_bytes").to_string(index=False, float_format="{:.3f}".format))
    rungs = [c for c in table.columns if c not in ("name", "role", "param_bytes", "full")]
    print("\nKendall tau against the full recipe's val mIoU (nets trained at both):")
    for c in rungs:
        d = table.dropna(subset=[c, "full"])
        tau = kendall_tau(d[c], d["full"]) if len(d) >= 2 else float("nan")
        print(f"  {c}: tau {tau:.3f} over {len(d)} nets{_per_seed(rows, c, table)}")


def _per_seed(rows: pd.DataFrame, preset: str, table: pd.DataFrame) -> str:
    """``(seed 0: tau ..., seed 1: tau ...)`` for a preset trained with several seeds: one
    seed's ranking of 8 nets is noisy, the spread says how much."""
    g = rows[rows["preset"] == preset]
    if g["seed"].nunique() < 2:
        return ""
    full = table.set_index("name")["full"]
    parts = []
    for seed, s in g.groupby("seed"):
        d = s.assign(full=s["name"].map(full)).dropna(subset=["full"])
        tau = kendall_tau(d["val_miou"], d["full"]) if len(d) >= 2 else float("nan")
        parts.append(f"seed {seed}: {tau:.3f} over {len(d)}")
    return " of the mean over seeds (" + ", ".join(parts) + ")"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--finalists", type=Path, required=True,
                    help="folder with finalists.csv and finalists/<name>.json")
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="change a field of --preset (a candidate rung), e.g. --set scale=1.0; "
                         "name the result with --label")
    ap.add_argument("--label", default=None, help="preset name in the CSV (default --preset)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=88, help="folded input size (square)")
    ap.add_argument("--task", default="camvid4")
    ap.add_argument("--part", default="1/1", help="i/n: this process trains every n-th net")
    ap.add_argument("--names", default=None,
                    help="comma-separated: train only these nets (e.g. the neighbours at full)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    nets = load_finalists(args.finalists)
    if not args.report_only:
        write_header(args.out, FIELDS)  # now, before two parts race to append rows
        todo = nets[nets["name"].isin(args.names.split(","))] if args.names else nets
        i, n = (int(v) for v in args.part.split("/"))
        # largest first, alternating, so both parts get similar work
        order = todo.sort_values("param_bytes", ascending=False).iloc[i - 1::n]
        train_rows(order, args)
    if args.out.exists():
        report(nets, pd.read_csv(args.out))


if __name__ == "__main__":
    main()
