"""Does the proxy rank architectures like full training? Kendall tau / Spearman rho.

Trains >= 12 architectures (both references, the rest sampled from the search space and
spread evenly over the weight-byte range; hardware-feasible ones only when
``nas.hardware.check`` is available) once with each proxy preset and once with the
full-resolution preset, on the val split, seed 0. Rows go to
``benchmarks/results/proxy_fidelity.csv`` as they finish; a re-run skips (arch, preset) pairs
already there, so an interrupted run loses at most one training.

    nice -n 5 .venv/bin/python -m benchmarks.proxy_fidelity \\
        --data-dir ../shared/datasets/camvid --proxy proxy --full fidelity-full
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks._common import RESULTS, append_row, done_keys, kendall_tau, read_rows
from nas.spec import ArchSpec, get_reference
from nas.train import get_preset, train

OUT = RESULTS / "proxy_fidelity.csv"
FIELDS = ["arch", "preset", "miou", "pixel_accuracy", "seconds", "weight_bytes", "weights",
          "per_class_iou", "spec"]


def spearman_rho(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the (average-tie) ranks."""
    import pandas as pd

    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


def pick_archs(n: int, num_classes: int, seed: int, pool: int) -> list[ArchSpec]:
    """Both references + ``n - 2`` samples spread evenly over the weight-byte range."""
    import search_spaces

    space = search_spaces.get_space("unet_max78000")
    specs = list(search_spaces.sample_specs(space, pool, seed=seed, num_classes=num_classes))
    try:
        from nas.hardware import check

        specs = [s for s in specs if check(s).feasible]
    except ImportError:
        pass
    specs.sort(key=lambda s: s.layer_weight_bytes())
    k = n - 2
    idx = np.linspace(0, len(specs) - 1, k).round().astype(int)
    chosen = []
    for i, j in enumerate(dict.fromkeys(idx.tolist())):
        d = specs[j].to_dict()
        d["name"] = f"sample{i:02d}"
        chosen.append(ArchSpec.from_dict(d))
    return [get_reference("ai85unetlarge", num_classes),
            get_reference("unetmysmall", num_classes)] + chosen


def report(rows: list[dict], proxies: list[str], full: str) -> None:
    by = {(r["arch"], r["preset"]): r for r in rows}
    archs = sorted({r["arch"] for r in rows if r["preset"] == full})
    print("\n| proxy | n | Kendall tau | Spearman rho | mean s/arch (proxy) |"
          "\n|---|---|---|---|---|")
    for p in proxies + ["weights (param count)"]:
        common = [a for a in archs if (a, p) in by or p.startswith("weights")]
        if len(common) < 3:
            continue
        f = np.array([float(by[(a, full)]["miou"]) for a in common])
        if p.startswith("weights"):
            x, secs = np.array([float(by[(a, full)]["weights"]) for a in common]), "-"
        else:
            x = np.array([float(by[(a, p)]["miou"]) for a in common])
            secs = f"{np.mean([float(by[(a, p)]['seconds']) for a in common]):.1f}"
        print(f"| {p} | {len(common)} | {kendall_tau(x, f):.3f} | {spearman_rho(x, f):.3f} | "
              f"{secs} |")
    print(f"\n| arch | weight bytes | {full} mIoU (s) | "
          + " | ".join(f"{p} mIoU (s)" for p in proxies) + " |")
    print("|---|---|---|" + "---|" * len(proxies))
    for a in sorted(archs, key=lambda a: -float(by[(a, full)]["miou"])):
        cells = [f"{float(by[(a, p)]['miou']):.3f} ({float(by[(a, p)]['seconds']):.0f})"
                 if (a, p) in by else "-" for p in [full] + proxies]
        print(f"| {a} | {by[(a, full)]['weight_bytes']} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--task", default="camvid4")
    ap.add_argument("--proxy", default="proxy", help="comma-separated proxy preset names")
    ap.add_argument("--full", default="fidelity-full", help="the reference preset")
    ap.add_argument("--n", type=int, default=12, help="architectures (incl. 2 references)")
    ap.add_argument("--pool", type=int, default=400, help="samples to spread over bytes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    from nas.data import get_task

    task = get_task(args.task)
    proxies = args.proxy.split(",")
    if not args.report_only:
        done = done_keys(OUT, ("arch", "preset"))
        specs = pick_archs(args.n, task.num_classes, args.seed, args.pool)
        # proxies first: they are cheap and show early whether the full runs are worth it
        for preset in proxies + [args.full]:
            get_preset(preset)
            for spec in specs:
                if (spec.name, preset) in done:
                    continue
                t = time.perf_counter()
                r = train(spec, task, preset, args.data_dir, seed=0, progress=False,
                          threads=args.threads)
                append_row(OUT, {
                    "arch": spec.name, "preset": preset, "miou": f"{r.miou:.5f}",
                    "pixel_accuracy": f"{r.pixel_accuracy:.5f}", "seconds": f"{r.seconds:.1f}",
                    "weight_bytes": spec.layer_weight_bytes(), "weights": spec.weight_count(),
                    "per_class_iou": json.dumps({k: round(v, 4) for k, v in
                                                 r.per_class_iou.items()}),
                    "spec": spec.to_json(indent=None),
                }, FIELDS)
                print(f"{spec.name:<14} {preset:<14} mIoU {r.miou:.4f}  "
                      f"{time.perf_counter() - t:.1f} s", flush=True)
    report(read_rows(OUT, FIELDS).to_dict("records"), proxies, args.full)


if __name__ == "__main__":
    main()
