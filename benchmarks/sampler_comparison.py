"""Compare samplers at the same budget: hypervolume of the feasible front after N trials.

Each study is a full run of ``run_search.py`` with one ``--sampler`` (same space, proxy, task,
seed and enqueued references). The hypervolume (mIoU up, parameter bytes down, reference point
mIoU 0 / 442,368 bytes) is taken over the feasible complete trials among the first N by trial
number. Random search draws i.i.d. trials, so its spread at N is estimated without new training
by resampling N - 2 of its non-reference trials (the 2 references are in every study): without
replacement for N < its size, with replacement (bootstrap) at N = its size.

    .venv/bin/python -m benchmarks.sampler_comparison \\
        --study tpe=headline --study random=sampler-random --study nsga2=sampler-nsga2

``--ref-miou 0 0.6`` adds a second table with the reference point's mIoU raised to 0.6: with
mIoU 0 most of the area is the rectangle under any decent small net, which every sampler finds
early, so differences between samplers show better above 0.6. Each table also gives the
ceiling: the hypervolume of a single point with the best mIoU seen in any study at 0 bytes.

Writes ``studies/results/samplers/{hypervolume.csv,samplers.csv,samplers.md}`` and
``docs/samplers.png`` (HTML when kaleido cannot render a PNG).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from plotly.subplots import make_subplots

from nas.front import (
    HV_REFERENCE_BYTES,
    HV_REFERENCE_MIOU,
    hypervolume_2d,
    hypervolume_frame,
    pareto_frame,
)
from nas.report import trials_frame, write_figure


def load(name: str, storage: str | None) -> pd.DataFrame:
    """The study's complete trials in trial order (surplus trials left out)."""
    study = optuna.load_study(study_name=name, storage=storage or f"sqlite:///studies/{name}.db")
    df = trials_frame(study.get_trials(deepcopy=False))
    return df[df["state"] == "COMPLETE"].sort_values("number").reset_index(drop=True)


def hv_of(rows: pd.DataFrame, ref_miou: float) -> float:
    """Hypervolume of the feasible rows (reference: ``ref_miou``, HV_REFERENCE_BYTES)."""
    ok = rows[rows["feasible"] == True]  # noqa: E712
    return hypervolume_2d(ok["miou"].to_numpy(float), ok["param_bytes"].to_numpy(float),
                          ref_miou, HV_REFERENCE_BYTES)


def random_spread(df: pd.DataFrame, n: int, draws: int, ref_miou: float,
                  seed: int = 0) -> tuple[float, float, float]:
    """Mean, 5th and 95th percentile hypervolume of random search at budget ``n``."""
    refs = df[df["reference"] != ""]
    pool = df[df["reference"] == ""]
    k = n - len(refs)
    replace = k >= len(pool)
    rng = np.random.default_rng(seed)
    hv = [hv_of(pd.concat([refs, pool.iloc[rng.choice(len(pool), k, replace=replace)]]),
                ref_miou) for _ in range(draws)]
    return float(np.mean(hv)), float(np.percentile(hv, 5)), float(np.percentile(hv, 95))


def wall_minutes(df: pd.DataFrame) -> float:
    start = pd.to_datetime(df["datetime_start"]).min()
    end = (pd.to_datetime(df["datetime_start"]) + pd.to_timedelta(df["duration_s"], "s")).max()
    return (end - start).total_seconds() / 60


def comparison(studies: dict[str, pd.DataFrame], at: list[int], ref_miou: float,
               baseline: str, draws: int) -> tuple[pd.DataFrame, dict[str, np.ndarray], str]:
    """(table, curves, markdown) for one reference mIoU."""
    # df holds complete trials in trial order, so row i is the value after i + 1 of them
    curves = {label: hypervolume_frame(df, ref_miou)["hypervolume"].to_numpy()
              for label, df in studies.items()}
    rows = []
    for label, df in studies.items():
        row = {"sampler": label, "ref_miou": ref_miou, "trials": len(df),
               "feasible": int((df["feasible"] == True).sum()),  # noqa: E712
               "front": len(pareto_frame(df)), "wall_min": round(wall_minutes(df), 1)}
        for n in at:
            row[f"hv@{n}"] = float(curves[label][n - 1]) if n <= len(df) else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    best = max(df.loc[df["feasible"] == True, "miou"].max() for df in studies.values())  # noqa: E712
    ceiling = (best - ref_miou) * HV_REFERENCE_BYTES
    table["ceiling"] = ceiling
    if baseline in studies:
        base = table.set_index("sampler").loc[baseline]
        for n in at:
            table[f"x{baseline}@{n}"] = table[f"hv@{n}"] / base[f"hv@{n}"]
    md = [f"Reference point: mIoU {ref_miou}, {HV_REFERENCE_BYTES:,} bytes.", "",
          "| sampler | trials | feasible | front | wall min | "
          + " | ".join(f"HV@{n} (x {baseline})" for n in at) + " |",
          "|" + "---|" * (5 + len(at))]
    for r in table.to_dict("records"):
        cells = [r["sampler"], str(r["trials"]), str(r["feasible"]), str(r["front"]),
                 f"{r['wall_min']:.1f}"]
        for n in at:
            v, ratio = r[f"hv@{n}"], r.get(f"x{baseline}@{n}", np.nan)
            cells.append("-" if np.isnan(v) else f"{v:,.0f} ({ratio:.3f})")
        md.append("| " + " | ".join(cells) + " |")
    last = f"hv@{at[-1]}"
    base_hv = float(table.set_index("sampler").loc[baseline, last]) if baseline in studies \
        else np.nan
    versus = "" if np.isnan(base_hv) else f" = {ceiling / base_hv:.3f} x {baseline}@{at[-1]}"
    md += ["", f"Ceiling: the best feasible proxy mIoU of all studies ({best:.4f}) at 0 bytes "
               f"gives {ceiling:,.0f}{versus}."]
    if baseline in studies:
        spread = [(n, *random_spread(studies[baseline], n, draws, ref_miou))
                  for n in at if n <= len(studies[baseline])]
        md += ["", f"{baseline} search's own spread ({draws} resamples of its trials): "
               + "; ".join(f"@{n}: mean {m:,.0f}, 5-95 % {lo:,.0f}..{hi:,.0f}"
                           for n, m, lo, hi in spread)]
    return table, curves, "\n".join(md) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", action="append", required=True, metavar="LABEL=NAME",
                    help="a sampler label and its study name (repeat)")
    ap.add_argument("--storage", help="Optuna storage URL (default sqlite:///studies/NAME.db)")
    ap.add_argument("--at", type=int, nargs="*", default=[50, 100, 200])
    ap.add_argument("--ref-miou", type=float, nargs="*", default=[HV_REFERENCE_MIOU],
                    help="reference-point mIoU(s), one table and plot panel each (default 0)")
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

    args.out.mkdir(parents=True, exist_ok=True)
    tables, texts, curve_rows = [], [], []
    for ref in args.ref_miou:
        table, curves, text = comparison(studies, args.at, ref, args.baseline, args.draws)
        tables.append(table)
        texts.append(text)
        for label, c in curves.items():
            curve_rows.append(pd.DataFrame({"sampler": label, "ref_miou": ref,
                                            "trials": np.arange(1, len(c) + 1),
                                            "hypervolume": c}))
    pd.concat(curve_rows).to_csv(args.out / "hypervolume.csv", index=False)
    pd.concat(tables).to_csv(args.out / "samplers.csv", index=False)
    text = "\n".join(texts)
    (args.out / "samplers.md").write_text(text)
    print(text)

    fig = make_subplots(rows=1, cols=len(args.ref_miou), subplot_titles=[
        f"reference point mIoU {r}, {HV_REFERENCE_BYTES:,} B" for r in args.ref_miou])
    colours = dict(zip(studies, ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b"),
                       strict=False))
    for col, ref in enumerate(args.ref_miou, start=1):
        sub = pd.concat(curve_rows)
        sub = sub[sub["ref_miou"] == ref]
        for label, c in sub.groupby("sampler", sort=False):
            fig.add_scatter(x=c["trials"], y=c["hypervolume"], mode="lines", name=label,
                            line={"color": colours.get(label)}, legendgroup=label,
                            showlegend=col == 1, row=1, col=col)
        ceiling = tables[col - 1]["ceiling"].iloc[0]
        fig.add_hline(y=ceiling, line={"dash": "dot", "color": "grey"}, row=1, col=col,
                      annotation_text="ceiling: best mIoU seen, at 0 bytes")
    fig.update_layout(title="Hypervolume of the feasible front vs complete trials "
                            "(CamVid-4, MAX78000, proxy preset, seed 0)",
                      width=1200, height=520, template="plotly_white")
    fig.update_xaxes(title="complete trials")
    fig.update_yaxes(title="hypervolume (mIoU x bytes)", col=1)
    print(f"plot: {write_figure(fig, args.plot)}")


if __name__ == "__main__":
    main()
