"""Compare samplers at the same budget: hypervolume of the feasible front after N trials.

Each study is a full run of ``run_search.py`` with one ``--sampler`` (same space, proxy, task,
seed and enqueued references). The hypervolume (mIoU up, parameter bytes down, reference point
mIoU 0 / 442,368 bytes) is taken over the feasible complete trials among the first N by trial
number. Random search draws i.i.d. trials, so its spread at N is estimated without new training
by resampling N - 2 of its non-reference trials (the 2 references are in every study): without
replacement for N < its size, with replacement (bootstrap) at N = its size.

    .venv/bin/python benchmarks/sampler_comparison.py \\
        --study tpe=headline --study random=sampler-random --study nsga2=sampler-nsga2

Writes ``studies/results/samplers/{hypervolume.csv,samplers.md}`` and ``docs/samplers.png``
(HTML when kaleido cannot render a PNG).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import plotly.graph_objects as go

from nas.search import hypervolume_2d, pareto_frame, trials_frame, write_figure
from nas.search._config import HV_REFERENCE_BYTES, HV_REFERENCE_MIOU
from nas.search._report import hypervolume_frame


def load(name: str, storage: str | None) -> pd.DataFrame:
    """The study's complete trials in trial order (surplus trials left out)."""
    study = optuna.load_study(study_name=name, storage=storage or f"sqlite:///studies/{name}.db")
    df = trials_frame(study.get_trials(deepcopy=False), n_objectives=len(study.directions))
    return df[df["state"] == "COMPLETE"].sort_values("number").reset_index(drop=True)


def hv_of(rows: pd.DataFrame) -> float:
    ok = rows[rows["feasible"] == True]  # noqa: E712
    return hypervolume_2d(ok["miou"].to_numpy(float), ok["param_bytes"].to_numpy(float))


def random_spread(df: pd.DataFrame, n: int, draws: int, seed: int) -> tuple[float, float, float]:
    """Mean, 5th and 95th percentile hypervolume of random search at budget ``n``."""
    refs = df[df["reference"] != ""]
    pool = df[df["reference"] == ""]
    k = n - len(refs)
    replace = k >= len(pool)
    rng = np.random.default_rng(seed)
    hv = [hv_of(pd.concat([refs, pool.iloc[rng.choice(len(pool), k, replace=replace)]]))
          for _ in range(draws)]
    return float(np.mean(hv)), float(np.percentile(hv, 5)), float(np.percentile(hv, 95))


def wall_minutes(df: pd.DataFrame) -> float:
    start = pd.to_datetime(df["datetime_start"]).min()
    end = (pd.to_datetime(df["datetime_start"]) + pd.to_timedelta(df["duration_s"], "s")).max()
    return (end - start).total_seconds() / 60


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", action="append", required=True, metavar="LABEL=NAME",
                    help="a sampler label and its study name (repeat)")
    ap.add_argument("--storage", help="Optuna storage URL (default sqlite:///studies/NAME.db)")
    ap.add_argument("--at", type=int, nargs="*", default=[50, 100, 200])
    ap.add_argument("--baseline", default="random", help="label the others are divided by")
    ap.add_argument("--draws", type=int, default=2000, help="resamples for random's spread")
    ap.add_argument("--out", type=Path, default=Path("studies/results/samplers"))
    ap.add_argument("--plot", type=Path, default=Path("docs/samplers.png"))
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    studies: dict[str, pd.DataFrame] = {}
    for item in args.study:
        label, sep, name = item.partition("=")
        if not sep or not label or not name:
            raise SystemExit(f"--study must be LABEL=NAME, but got {item!r}")
        studies[label] = load(name, args.storage)

    rows, curves = [], []
    for label, df in studies.items():
        hv = hypervolume_frame(df)
        curves.append(hv.assign(sampler=label, trials=np.arange(1, len(hv) + 1)))
        row = {"sampler": label, "trials": len(df),
               "feasible": int((df["feasible"] == True).sum()),  # noqa: E712
               "front": len(pareto_frame(df)), "wall_min": round(wall_minutes(df), 1)}
        for n in args.at:
            row[f"hv@{n}"] = float(hv["hypervolume"].iloc[n - 1]) if n <= len(hv) else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    if args.baseline in studies:
        base = table.set_index("sampler").loc[args.baseline]
        for n in args.at:
            table[f"x{args.baseline}@{n}"] = table[f"hv@{n}"] / base[f"hv@{n}"]
        pool = studies[args.baseline]
        spread = []
        for n in args.at:
            if n <= len(pool):
                mean, lo, hi = random_spread(pool, n, args.draws, seed=0)
                spread.append({"trials": n, "mean": mean, "p5": lo, "p95": hi})
        spread_df = pd.DataFrame(spread)
    else:
        spread_df = pd.DataFrame()

    args.out.mkdir(parents=True, exist_ok=True)
    pd.concat(curves).to_csv(args.out / "hypervolume.csv", index=False)
    table.to_csv(args.out / "samplers.csv", index=False)
    ideal = (1.0 - HV_REFERENCE_MIOU) * HV_REFERENCE_BYTES
    md = ["| sampler | trials | feasible | front | wall min | "
          + " | ".join(f"HV@{n} (x {args.baseline})" for n in args.at) + " |",
          "|" + "---|" * (5 + len(args.at))]
    for r in table.to_dict("records"):
        cells = [r["sampler"], str(r["trials"]), str(r["feasible"]), str(r["front"]),
                 f"{r['wall_min']:.1f}"]
        for n in args.at:
            v = r[f"hv@{n}"]
            ratio = r.get(f"x{args.baseline}@{n}", np.nan)
            cells.append("-" if np.isnan(v) else f"{v:,.0f} ({ratio:.3f})")
        md.append("| " + " | ".join(cells) + " |")
    md.append("")
    md.append(f"Hypervolume reference point: mIoU {HV_REFERENCE_MIOU}, {HV_REFERENCE_BYTES:,} "
              f"bytes (the largest possible value is {ideal:,.0f}).")
    if not spread_df.empty:
        md.append("")
        md.append(f"{args.baseline} search's spread from its own trials ({args.draws} resamples): "
                  + "; ".join(f"@{int(r.trials)}: mean {r.mean:,.0f}, 5-95 % "
                              f"{r.p5:,.0f}..{r.p95:,.0f}" for r in spread_df.itertuples()))
    text = "\n".join(md) + "\n"
    (args.out / "samplers.md").write_text(text)
    print(text)

    fig = go.Figure()
    for c in curves:
        fig.add_scatter(x=c["trials"], y=c["hypervolume"], mode="lines",
                        name=str(c["sampler"].iloc[0]))
    if not spread_df.empty:
        fig.add_scatter(x=spread_df["trials"], y=spread_df["p95"], mode="markers",
                        marker={"symbol": "line-ew-open", "size": 14, "color": "grey"},
                        name=f"{args.baseline}: 5-95 % over resamples")
        fig.add_scatter(x=spread_df["trials"], y=spread_df["p5"], mode="markers",
                        marker={"symbol": "line-ew-open", "size": 14, "color": "grey"},
                        showlegend=False)
    fig.update_layout(title="Hypervolume of the feasible front vs trials (CamVid-4, proxy)",
                      xaxis={"title": "trials"}, yaxis={"title": "hypervolume (mIoU x bytes)"},
                      width=1000, height=550, template="plotly_white")
    print(f"plot: {write_figure(fig, args.plot)}")


if __name__ == "__main__":
    main()
