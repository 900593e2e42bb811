"""Two studies' fronts at equal trials: where along the bytes axis does each one win?

For the first N complete trials of each study (by trial number, references included), the
front's mIoU at b bytes is the best val mIoU of a feasible trial with at most b param bytes.
On a log grid from the smallest trained net of either study to the device's weight memory,
it reports the share of the bytes range where A's front is above, level with (within
``--tie`` mIoU) or below B's, the log-bytes hypervolumes, and draws both fronts
(``--plot``, PNG through matplotlib)::

    .venv/bin/python -m benchmarks.front_dominance \\
        --a studies/results/make-search/trials.csv --a-label "TPE (default)" \\
        --b studies/results/confirm-random/trials.csv --b-label random \\
        --at 50 100 200 --plot docs/sampler_confirmation.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from nas._cli import add_device_argument
from nas.report import read_trials_csv
from nas.search import front_quality, weight_memory_bytes


def first_trials(df: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first ``n`` COMPLETE trials by number."""
    done = df[df["state"] == "COMPLETE"].sort_values("number")
    return done.head(n)


def front_curve(df: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """Best val mIoU among feasible trained trials with at most each grid value of bytes
    (NaN below the smallest)."""
    ok = df[(df["feasible"] == True) & (df["trained"] == True)]  # noqa: E712
    if "early_stopped" in ok.columns:
        ok = ok[ok["early_stopped"] != True]  # noqa: E712
    b = ok["param_bytes"].to_numpy(float)
    m = ok["miou"].to_numpy(float)
    out = np.full(len(grid), np.nan)
    for i, g in enumerate(grid):
        sel = m[b <= g]
        if len(sel):
            out[i] = sel.max()
    return out


def compare(a: pd.DataFrame, b: pd.DataFrame, n: int, device: str, tie: float,
            points: int = 400) -> dict[str, float]:
    """Shares of the log-bytes range where A is above / level / below B, at ``n`` trials."""
    a, b = first_trials(a, n), first_trials(b, n)
    lo = min(x[(x["trained"] == True)]["param_bytes"].min() for x in (a, b))  # noqa: E712
    grid = np.geomspace(lo, weight_memory_bytes(device), points)
    fa, fb = front_curve(a, grid), front_curve(b, grid)
    fa, fb = np.nan_to_num(fa, nan=0.0), np.nan_to_num(fb, nan=0.0)
    diff = fa - fb
    qa, qb = front_quality(a, device), front_quality(b, device)
    return {"trials": n, "n_a": len(a), "n_b": len(b),
            "a_above": float(np.mean(diff > tie)), "level": float(np.mean(np.abs(diff) <= tie)),
            "b_above": float(np.mean(diff < -tie)),
            "hv_a": qa.hypervolume[0.6], "hv_b": qb.hypervolume[0.6]}


def plot(a: pd.DataFrame, b: pd.DataFrame, labels: tuple[str, str], ns: list[int], device: str,
         path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ns), figsize=(5 * len(ns), 4), sharey=True, squeeze=False)
    for ax, n in zip(axes[0], ns, strict=True):
        da, db = first_trials(a, n), first_trials(b, n)
        lo = min(x[(x["trained"] == True)]["param_bytes"].min() for x in (da, db))  # noqa: E712
        grid = np.geomspace(lo, weight_memory_bytes(device), 400)
        for d, label, color in ((da, labels[0], "tab:red"), (db, labels[1], "tab:blue")):
            ok = d[(d["feasible"] == True) & (d["trained"] == True)]  # noqa: E712
            ax.scatter(ok["param_bytes"], ok["miou"], s=8, alpha=0.35, color=color)
            ax.step(grid, front_curve(d, grid), where="post", color=color, label=label)
        ax.set_xscale("log")
        ax.set_title(f"first {n} trials")
        ax.set_xlabel("param bytes (weights + biases)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("val mIoU (proxy)")
    axes[0][0].legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", type=Path, required=True, help="trials.csv of study A")
    ap.add_argument("--b", type=Path, required=True, help="trials.csv of study B")
    ap.add_argument("--a-label", default="A")
    ap.add_argument("--b-label", default="B")
    ap.add_argument("--at", type=int, nargs="+", default=[50, 100, 200])
    add_device_argument(ap)
    ap.add_argument("--tie", type=float, default=0.005, help="mIoU within which fronts are level")
    ap.add_argument("--plot", type=Path, default=None)
    args = ap.parse_args()
    a, b = read_trials_csv(args.a), read_trials_csv(args.b)
    n_max = min((a["state"] == "COMPLETE").sum(), (b["state"] == "COMPLETE").sum())
    ns = [n for n in args.at if n <= n_max] or [int(n_max)]
    rows = pd.DataFrame([compare(a, b, n, args.device, args.tie) for n in ns])
    print(f"A = {args.a_label} ({args.a}), B = {args.b_label} ({args.b})")
    print(rows.to_string(index=False, float_format="{:.3f}".format))
    if args.plot is not None:
        plot(a, b, (args.a_label, args.b_label), ns, args.device, args.plot)


if __name__ == "__main__":
    main()
