"""Train a study's knee points and both references with the final recipe; test-split table.

The knees come from the study's feasible front (``nas.search.knee_points``); ai85unetlarge
and unetmysmall are added. Each finalist is trained with ``--preset`` (default ``full``: 352
crops, 100 epochs, the last 20 quantisation-aware) on the train split, monitored on val, and
its final (QAT) model is scored once on the **test** split. Hardware figures come from
``nas.hardware.check`` at the deployment input (88x88 folded, MAX78000).

Each finalist's row is written to ``OUT/NAME.json`` as soon as it is done and its checkpoint to
``CKPT_DIR/NAME.pt``; a rerun skips finished finalists, so an interrupted run loses at most the
trainings in progress. ``--only`` splits the work between processes (one thread each is the
fastest use of a shared 2-core machine). ``--report-only`` builds ``finalists.csv``,
``finalists.md`` and the plot (``docs/finalists.png`` when kaleido can render it, else HTML).

    nice .venv/bin/python benchmarks/finalists.py --study headline \\
        --data-dir ../shared/datasets/camvid --only ai85unetlarge,52,88
    nice .venv/bin/python benchmarks/finalists.py --study headline \\
        --data-dir ../shared/datasets/camvid --only unetmysmall,109,122
    .venv/bin/python benchmarks/finalists.py --study headline --report-only
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import optuna
import pandas as pd
import plotly.graph_objects as go

from nas._atomic import atomic_open
from nas.data import eval_tiles, get_task, load_split
from nas.hardware import check
from nas.report import trials_frame, write_figure
from nas.search import knee_points, pareto_frame
from nas.spec import ArchSpec, get_reference
from nas.train import evaluate, get_preset, model_from_checkpoint, train

REFERENCES = ("ai85unetlarge", "unetmysmall")


def finalists(study: optuna.Study, k: int) -> tuple[pd.DataFrame, list[dict]]:
    """The study's trials frame, and one dict (name, role, trial, proxy mIoU, spec) each."""
    df = trials_frame(study.get_trials(deepcopy=False))
    knees = knee_points(pareto_frame(df), k)
    out = []
    for r in knees.itertuples():
        spec_json = df.loc[df["number"] == r.number, "spec"].iloc[0]
        out.append({"name": f"trial{r.number}", "role": "knee", "trial": int(r.number),
                    "proxy_miou": float(r.miou), "spec": ArchSpec.from_json(spec_json)})
    for ref in REFERENCES:
        row = df[df["reference"] == ref]
        out.append({"name": ref, "role": "reference",
                    "trial": int(row["number"].iloc[0]) if len(row) else None,
                    "proxy_miou": float(row["miou"].iloc[0]) if len(row) else None,
                    "spec": get_reference(ref)})
    return df, out


def run_one(f: dict, args: argparse.Namespace, out_dir: Path, ckpt_dir: Path) -> dict:
    """Train one finalist, score it on test, and return its table row."""
    task = get_task(args.task)
    preset = get_preset(args.preset)
    spec: ArchSpec = f["spec"]
    t0 = time.perf_counter()
    res = train(spec, task, preset, args.data_dir, seed=args.seed, threads=args.threads,
                checkpoint_path=ckpt_dir / f"{f['name']}.pt", progress=args.progress)
    model = model_from_checkpoint(res.checkpoint_path)
    test_split = load_split(args.data_dir, "test", task, scale=preset.scale, progress=False)
    images, labels = eval_tiles(test_split, preset.eval_crop)
    cm = evaluate(model, spec, images, labels, num_classes=task.num_classes,
                  ignore_index=task.ignore_index, amp=preset.amp, channels_last=False)
    test = cm.summary(task.class_names)
    hw = check(spec, args.device, (preset.crop // spec.fold_ratio,) * 2)
    row = {
        "name": f["name"], "role": f["role"], "trial": f["trial"], "proxy_miou": f["proxy_miou"],
        "val_miou": res.miou, "test_miou": test["miou"],
        "test_pixel_accuracy": test["pixel_accuracy"],
        **{f"test_iou_{k}": v for k, v in test["per_class_iou"].items()},
        "weight_bytes": hw.weight_bytes, "bias_bytes": hw.bias_bytes,
        "param_bytes": hw.param_bytes, "latency_cycles": hw.latency_cycles,
        "latency_ms": hw.latency_ms, "fits": hw.feasible,
        "violations": "; ".join(v.message for v in hw.violations),
        "preset": preset.name, "epochs": res.epochs, "seed": args.seed,
        "train_seconds": res.seconds, "wall_seconds": time.perf_counter() - t0,
        "spec": json.loads(spec.to_json()),
    }
    with atomic_open(out_dir / f"{f['name']}.json", "w", encoding="utf-8") as fh:
        json.dump(row, fh, indent=2)
    return row


def load_rows(out_dir: Path) -> pd.DataFrame:
    rows = [json.loads(p.read_text()) for p in sorted(out_dir.glob("*.json"))]
    if not rows:
        raise SystemExit(f"no finished finalists in {out_dir}; run without --report-only first")
    return pd.DataFrame(rows).sort_values("param_bytes").reset_index(drop=True)


def markdown_table(df: pd.DataFrame) -> str:
    classes = [c for c in df.columns if c.startswith("test_iou_")]
    head = (["finalist", "proxy mIoU (val)", "full mIoU (val)", "**test mIoU**"]
            + [c.removeprefix("test_iou_") for c in classes]
            + ["pixel acc", "weight B", "bias B", "latency cycles", "latency ms", "fits"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in df.to_dict("records"):
        name = r["name"] if r["role"] == "reference" else f"{r['name']} (knee)"
        cells = [name, f"{r['proxy_miou']:.3f}" if pd.notna(r["proxy_miou"]) else "-",
                 f"{r['val_miou']:.3f}", f"**{r['test_miou']:.3f}**"]
        cells += [f"{r[c]:.3f}" for c in classes]
        cells += [f"{r['test_pixel_accuracy']:.3f}", f"{r['weight_bytes']:,}",
                  f"{r['bias_bytes']:,}", f"{r['latency_cycles']:,}", f"{r['latency_ms']:.2f}",
                  "yes" if r["fits"] else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def goal_lines(df: pd.DataFrame) -> list[str]:
    """The issue's goal: a knee with >= a reference's test mIoU at <= half its weight bytes."""
    out = []
    knees = df[df["role"] == "knee"]
    for ref in REFERENCES:
        r = df[df["name"] == ref]
        if r.empty:
            continue
        r = r.iloc[0]
        ok = knees[(knees["test_miou"] >= r["test_miou"])
                   & (knees["weight_bytes"] <= r["weight_bytes"] / 2)]
        if ok.empty:
            best = knees[knees["weight_bytes"] <= r["weight_bytes"] / 2]
            best = best.sort_values("test_miou").iloc[-1] if len(best) else None
            tail = (f"; best knee within half its bytes: {best['name']} {best['test_miou']:.3f} "
                    f"at {best['weight_bytes']:,} B" if best is not None else "")
            out.append(f"NOT MET vs {ref} (test mIoU {r['test_miou']:.3f}, "
                       f"{r['weight_bytes']:,} weight B){tail}")
        else:
            b = ok.sort_values("weight_bytes").iloc[0]
            out.append(f"MET vs {ref} (test mIoU {r['test_miou']:.3f}, {r['weight_bytes']:,} "
                       f"weight B): {b['name']} {b['test_miou']:.3f} at {b['weight_bytes']:,} B "
                       f"({b['weight_bytes'] / r['weight_bytes']:.0%} of its weight bytes)")
    return out


def figure(df: pd.DataFrame, trials: pd.DataFrame | None) -> go.Figure:
    """Test mIoU (full recipe) against weight bytes, with each reference's goal corner.

    The search front (proxy val mIoU) is drawn in grey for context. A reference's goal is the
    region left of half its weight bytes and above its test mIoU (dotted corner).
    """
    fig = go.Figure()
    x_min = df["weight_bytes"].min()
    if trials is not None:
        front = pareto_frame(trials).merge(trials[["number", "weight_bytes"]], on="number")
        x_min = min(x_min, front["weight_bytes"].min())
        fig.add_scatter(x=front["weight_bytes"], y=front["miou"], mode="lines+markers",
                        line={"shape": "hv", "color": "lightgrey"}, marker={"size": 5},
                        name="search front (proxy mIoU, val)")
    top = max(df["test_miou"].max(), df["val_miou"].max()) + 0.02
    for r in df[df["role"] == "reference"].itertuples():
        half = r.weight_bytes / 2
        fig.add_scatter(x=[x_min, half, half], y=[r.test_miou, r.test_miou, top], mode="lines",
                        line={"dash": "dot", "color": "#d62728", "width": 1},
                        name=f"goal vs {r.name}: >= its mIoU at <= half its bytes")
    for role, sym, colour in (("knee", "circle", "#1f77b4"), ("reference", "diamond", "#d62728")):
        d = df[df["role"] == role]
        labels = [f"{n}{'' if fits else ' (does not fit)'}"
                  for n, fits in zip(d["name"], d["fits"], strict=True)]
        fig.add_scatter(x=d["weight_bytes"], y=d["test_miou"], mode="markers+text", text=labels,
                        textposition="top center", marker={"symbol": sym, "size": 12,
                                                           "color": colour},
                        name=f"{role}s: full recipe, test mIoU")
    fig.update_layout(title="Finalists on MAX78000 (88x88): test mIoU vs weight bytes",
                      xaxis={"title": "weight bytes (log)", "type": "log"},
                      yaxis={"title": "mIoU (CamVid-4)"}, width=1000, height=600,
                      template="plotly_white", legend={"x": 0.99, "xanchor": "right", "y": 0.01})
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", required=True, help="study name")
    ap.add_argument("--storage", help="Optuna storage URL (default sqlite:///studies/NAME.db)")
    ap.add_argument("--knees", type=int, default=5, help="knee bins over the front (default 5)")
    ap.add_argument("--preset", default="full", help="training preset (default full)")
    ap.add_argument("--task", default="camvid4")
    ap.add_argument("--device", default="MAX78000")
    ap.add_argument("--data-dir", help="CamVid root")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--only", help="comma-separated finalist names or trial numbers")
    ap.add_argument("--out", type=Path, help="rows (default studies/results/STUDY/finalists)")
    ap.add_argument("--checkpoints", type=Path, help="default studies/finalists-STUDY")
    ap.add_argument("--plot", type=Path, default=Path("docs/finalists.png"))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--list", action="store_true", help="print the finalists and exit")
    ap.add_argument("--progress", action="store_true", help="tqdm bar per training")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = args.storage or f"sqlite:///studies/{args.study}.db"
    out_dir = args.out or Path("studies/results") / args.study / "finalists"
    ckpt_dir = args.checkpoints or Path("studies") / f"finalists-{args.study}"
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    study = optuna.load_study(study_name=args.study, storage=storage)
    trials, todo = finalists(study, args.knees)
    if args.list:
        for f in todo:
            print(f["name"], f["role"], f["proxy_miou"], check(f["spec"]).weight_bytes)
        return
    if not args.report_only:
        wanted = set(args.only.split(",")) if args.only else None
        for f in todo:
            keys = {f["name"], str(f["trial"])}
            if wanted is not None and not keys & wanted:
                continue
            if (out_dir / f"{f['name']}.json").exists():
                print(f"{f['name']}: done already, skipped")
                continue
            print(f"{f['name']}: training with {args.preset} ...", flush=True)
            row = run_one(f, args, out_dir, ckpt_dir)
            print(f"{f['name']}: test mIoU {row['test_miou']:.4f} (val {row['val_miou']:.4f}), "
                  f"{row['wall_seconds']:.0f} s", flush=True)
    df = load_rows(out_dir)
    df.drop(columns=["spec"]).to_csv(out_dir.parent / "finalists.csv", index=False)
    text = markdown_table(df) + "\n" + "\n".join(f"- {g}" for g in goal_lines(df)) + "\n"
    (out_dir.parent / "finalists.md").write_text(text)
    print(text)
    fig = figure(df, trials)
    print(f"plot: {write_figure(fig, args.plot)}")


if __name__ == "__main__":
    main()
