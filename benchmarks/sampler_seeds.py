"""Samplers over many seeds at CPU cost: real search space + real ``nas check``, surrogate mIoU.

Each sampler (``nas.search`` ``make_sampler``, as ``run_search.py --sampler`` builds it) runs
``--seeds`` studies of ``--trials`` trials on the 8-bit ``unet_max78000`` space (the surrogate
was fit on 8-bit trials only) with the two references enqueued first, as a real study does.
Feasibility and bytes are exact (``nas.hardware.check``); only the mIoU of a feasible trial
(and of a reference) comes from ``benchmarks/surrogate.py``. One CSV per sampler under
``--out`` gets each finished (sampler, seed) run, so an interrupted run resumes where it
stopped. ``--summary`` then writes ``benchmarks/results/sampler_seeds.csv`` (columns
``sampler,seed,trials,hypervolume,is_default``; hypervolume in (mIoU, log10 bytes) at the
reference point (0.6, log10 of the MAX78000's weight memory)), a markdown table with the
0.5 and 0.7 reference points and bytes-to-reach beside it, and ``docs/samplers_seeds.png``.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/sampler_seeds.py \\
        --samplers tpe,random,nsga2 --seeds 10 --trials 200
    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/sampler_seeds.py --samplers gp
    PYTHONPATH=. .venv/bin/python benchmarks/sampler_seeds.py --summary
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import optuna  # noqa: E402
import surrogate as sg  # noqa: E402
from tqdm import tqdm  # noqa: E402

from nas.front import (  # noqa: E402
    HEADLINE_REF_MIOU,
    REACH_MIOUS,
    REF_MIOUS,
    bytes_to_reach,
    log_hypervolume_curve,
    weight_memory_bytes,
)
from nas.hardware import check  # noqa: E402
from nas.search._config import SearchConfig  # noqa: E402
from nas.search._objective import CONSTRAINT_NAMES  # noqa: E402
from nas.search._study import make_sampler  # noqa: E402
from nas.spec import get_reference  # noqa: E402
from search_spaces import get_space  # noqa: E402

DEVICE = "MAX78000"
REFERENCES = ("ai85unetlarge", "unetmysmall")
CHECKPOINTS = (50, 100, 200)
RUN_COLUMNS = ["sampler", "seed", "trial", "reference", "feasible", "miou", "param_bytes",
               "seconds"]


def run_one(sampler: str, seed: int, trials: int, model: sg.Surrogate,
            space_name: str = "unet_max78000") -> pd.DataFrame:
    """One study: ``trials`` trials of ``sampler`` at ``seed``; a row per trial."""
    space = get_space(space_name)
    if hasattr(space, "with_weight_bits"):  # spaces before per-group weight bits: all 8-bit
        space = space.with_weight_bits((8,))
    cfg = SearchConfig(sampler=sampler, seed=seed, progress=False)
    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=make_sampler(cfg, seed))
    for name in REFERENCES:
        study.enqueue_trial(space.params_for(get_reference(name, space.num_classes)),
                            user_attrs={"reference": name})
    rows = []
    for number in range(trials):
        start = time.perf_counter()
        trial = study.ask()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reference params out of range on purpose
            spec = space(trial)
        ref = trial.user_attrs.get("reference")
        if ref is not None:
            spec = get_reference(ref, space.num_classes)
        hw = check(spec, DEVICE)
        constraints = [float(c) for c in hw.constraints(None, None)]
        for name, value in zip(CONSTRAINT_NAMES, constraints, strict=True):
            trial.set_constraint(name, value)
        feasible = all(c <= 0 for c in constraints)
        miou = model(spec) if feasible or ref is not None else 0.0
        param_bytes = int(hw.weight_bytes) + int(hw.bias_bytes)
        study.tell(trial, (miou, float(param_bytes)))
        rows.append((sampler, seed, number, ref or "", feasible, miou, param_bytes,
                     time.perf_counter() - start))
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def summarise(runs: pd.DataFrame, default: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sampler_seeds.csv rows at the headline reference, long table at every reference)."""
    ref_bytes = weight_memory_bytes(DEVICE)
    long = []
    for (sampler, seed), r in runs.groupby(["sampler", "seed"], sort=False):
        r = r.sort_values("trial")
        for ref in REF_MIOUS:
            curve = log_hypervolume_curve(r["miou"], r["param_bytes"], r["feasible"], ref,
                                          ref_bytes)
            for n in CHECKPOINTS:
                if n > len(r):
                    continue
                head = r.iloc[:n]
                ok = head[head["feasible"]]
                row = {"sampler": sampler, "seed": seed, "trials": n, "ref_miou": ref,
                       "hypervolume": curve[n - 1]}
                for m in REACH_MIOUS:
                    row[f"bytes_to_{m}"] = bytes_to_reach(ok["miou"], ok["param_bytes"], m)
                long.append(row)
    long_df = pd.DataFrame(long)
    head = long_df[long_df["ref_miou"] == HEADLINE_REF_MIOU][
        ["sampler", "seed", "trials", "hypervolume"]].copy()
    head["is_default"] = head["sampler"] == default
    return head.reset_index(drop=True), long_df


def markdown(long_df: pd.DataFrame, default: str, quality: dict[str, float] | None = None,
             skipped: str = "") -> str:
    """The tables of ``sampler_seeds.md``; ``quality``: the surrogate's held-out
    :func:`surrogate.evaluate`; ``skipped``: a sentence on samplers left out."""
    out = []
    if quality is not None:
        out += [f"Surrogate (benchmarks/surrogate.py): {quality['n']} trained specs of the "
                f"committed studies; 5-fold grouped held-out Kendall tau "
                f"{quality['kendall_tau']:.3f}, Spearman rho {quality['spearman_rho']:.3f}, "
                f"MAE {quality['mae']:.4f} mIoU.", ""]
    if skipped:
        out += [skipped, ""]
    for ref in REF_MIOUS:
        sub = long_df[long_df["ref_miou"] == ref]
        out += [f"Reference point (mIoU {ref}, log10 {weight_memory_bytes(DEVICE):,} B); "
                f"hypervolume in mIoU x decades, median [5th-95th percentile] over seeds:", "",
                "| sampler | seeds | " + " | ".join(f"HV@{n}" for n in CHECKPOINTS) + " |",
                "|---|---|" + "---|" * len(CHECKPOINTS)]
        for sampler, g in sub.groupby("sampler", sort=False):
            cells = []
            for n in CHECKPOINTS:
                hv = g.loc[g["trials"] == n, "hypervolume"].to_numpy()
                cells.append("-" if not hv.size else
                             f"{np.median(hv):.4f} [{np.percentile(hv, 5):.4f}-"
                             f"{np.percentile(hv, 95):.4f}]")
            name = f"**{sampler}** (default)" if sampler == default else sampler
            out.append(f"| {name} | {g['seed'].nunique()} | " + " | ".join(cells) + " |")
        out.append("")
        if "random" in set(sub["sampler"]) and default in set(sub["sampler"]):
            for n in CHECKPOINTS:
                d = sub[(sub["sampler"] == default) & (sub["trials"] == n)]["hypervolume"]
                r = sub[(sub["sampler"] == "random") & (sub["trials"] == n)]["hypervolume"]
                if len(d) and len(r):
                    med, p95 = float(np.median(d)), float(np.percentile(r, 95))
                    out.append(f"- @{n}: {default} median {med:.4f} vs random 95th "
                               f"percentile {p95:.4f}: {'above' if med > p95 else 'NOT above'}")
            out.append("")
    sub = long_df[(long_df["ref_miou"] == HEADLINE_REF_MIOU)]
    out += ["Bytes needed to reach mIoU m (median over seeds of the fewest param bytes among "
            "feasible trials with surrogate mIoU >= m; inf = not reached in that many "
            "trials; share of seeds that reached it):", "",
            "| sampler | trials | " + " | ".join(f"m={m}" for m in REACH_MIOUS) + " |",
            "|---|---|" + "---|" * len(REACH_MIOUS)]
    for (sampler, n), g in sub.groupby(["sampler", "trials"], sort=False):
        cells = []
        for m in REACH_MIOUS:
            v = g[f"bytes_to_{m}"].to_numpy(float)
            cells.append(f"{np.median(v):,.0f} ({np.isfinite(v).mean():.0%})")
        out.append(f"| {sampler} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def plot(long_df: pd.DataFrame, path: Path) -> Path:
    """One panel per reference mIoU: every seed's hypervolume (dots) and the median (line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"tpe": "#1f77b4", "random": "#d62728", "nsga2": "#2ca02c", "nsga3": "#ff7f0e",
               "gp": "#9467bd",
               "tpe-old-space": "#7f7f7f"}
    fig, axes = plt.subplots(1, len(REF_MIOUS), figsize=(15, 4.6))
    for ax, ref in zip(axes, REF_MIOUS, strict=True):
        sub = long_df[long_df["ref_miou"] == ref]
        samplers = list(dict.fromkeys(sub["sampler"]))
        for k, sampler in enumerate(samplers):
            g = sub[sub["sampler"] == sampler]
            shift = (k - (len(samplers) - 1) / 2) * 5
            c = colours.get(sampler)
            ax.scatter(g["trials"] + shift, g["hypervolume"], s=10, alpha=0.45, color=c)
            med = g.groupby("trials")["hypervolume"].median()
            ax.plot(med.index + shift, med.values, "-o", color=c, ms=4,
                    label=f"{sampler} ({g['seed'].nunique()} seeds)")
        ax.set_title(f"reference point: mIoU {ref}, {weight_memory_bytes(DEVICE):,} B")
        ax.set_xticks(list(CHECKPOINTS))
        ax.set_xlabel("trials")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("hypervolume (mIoU x decades of bytes)")
    axes[0].legend(fontsize=8)
    fig.suptitle("Hypervolume in (mIoU, log10 bytes) per seed (dots) and median (line): real "
                 "space and hardware check, surrogate proxy mIoU, MAX78000", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samplers", default="tpe,random,nsga2,gp")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/sampler_seeds"))
    ap.add_argument("--summary", action="store_true", help="only summarise the runs in --out")
    ap.add_argument("--csv", type=Path, default=Path("benchmarks/results/sampler_seeds.csv"))
    ap.add_argument("--plot", type=Path, default=Path("docs/samplers_seeds.png"))
    ap.add_argument("--note", default="", help="a sentence for the markdown (e.g. a sampler "
                    "left out and why)")
    args = ap.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    args.out.mkdir(parents=True, exist_ok=True)
    default = SearchConfig().sampler
    specs, miou = sg.load_trained()
    quality = sg.evaluate(specs, miou)
    print(f"surrogate held-out: Kendall tau {quality['kendall_tau']:.3f}, Spearman rho "
          f"{quality['spearman_rho']:.3f}")
    if not args.summary:
        model = sg.fit(specs, miou)
        for sampler in args.samplers.split(","):
            path = args.out / f"{sampler}.csv"
            done = set(pd.read_csv(path)["seed"]) if path.exists() else set()
            seeds = [s for s in range(args.first_seed, args.first_seed + args.seeds)
                     if s not in done]
            for seed in tqdm(seeds, desc=sampler, unit="seed"):
                runs = run_one(sampler, seed, args.trials, model)
                runs.to_csv(path, mode="a", header=not path.exists(), index=False)
                tqdm.write(f"{sampler} seed {seed}: {runs['seconds'].sum():.0f} s, "
                           f"{runs['feasible'].mean():.0%} feasible")
    files = sorted(args.out.glob("*.csv"))
    if not files:
        raise SystemExit(f"no runs in {args.out}")
    runs = pd.concat(pd.read_csv(f) for f in files)
    head, long_df = summarise(runs, default)
    head.to_csv(args.csv, index=False)
    long_df.to_csv(args.out.parent / "sampler_seeds_long.csv", index=False)
    text = markdown(long_df, default, quality, args.note)
    (args.out.parent / "sampler_seeds.md").write_text(text)
    print(text)
    print(f"plot: {plot(long_df, args.plot)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
