"""How much of a search's front uses low-bit weights, and what the front reaches: studies side
by side from their committed ``trials.csv``, each over its first N trials so that a running
search is compared with finished ones at the same count.

Per (study, N): trained trials, front size, front nets below 8 bits (searched ones; the
``-w4`` references are counted apart), param bytes to reach val mIoU 0.7 and 0.75, and the
log-bytes hypervolume (MAX78000's weight memory as the reference bytes)::

    .venv/bin/python -m benchmarks.bits_on_front --at 90 200 \\
        --studies studies/results/rungs-es studies/results/plain-bf16 studies/results/headline2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from benchmarks._common import RESULTS
from nas.front import front_quality, pareto_frame

OUT = RESULTS / "bits_on_front.csv"


def low_bit(arch: object) -> bool:
    """Whether a trial's ``arch`` line (``... bits 4/8``) has a width below 8 bits."""
    text = str(arch)
    if "bits " not in text:
        return False
    widths = text.rsplit("bits ", 1)[1].split(",")[0].strip().split("/")
    return any(w.isdigit() and int(w) < 8 for w in widths)


def summarise(trials: pd.DataFrame, study: str, first: int) -> dict:
    """The figures of one study over its trials numbered below ``first``."""
    df = trials[trials["number"] < first]
    df = df.assign(reference=df["reference"].fillna(""))
    front = pareto_frame(df)
    searched = front[front["reference"] == ""]
    q = front_quality(df)
    return {"study": study, "trials": len(df),
            "trained": int((df["trained"] == True).sum()),  # noqa: E712
            "front": len(front), "front_searched": len(searched),
            "front_searched_low_bit": int(searched["arch"].map(low_bit).sum()),
            "bytes_to_0.7": q.bytes_to_reach.get(0.7), "bytes_to_0.75": q.bytes_to_reach.get(0.75),
            "log_hv_0.6": round(q.hypervolume.get(0.6, float("nan")), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--studies", type=Path, nargs="+", required=True,
                    help="study folders, each with its trials.csv")
    ap.add_argument("--at", type=int, nargs="+", default=[200],
                    help="compare each study over its first N trials (default 200)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = []
    for folder in args.studies:
        path = folder / "trials.csv"
        if not path.is_file():
            raise SystemExit(f"{path}: no such file (a study folder holds its trials.csv)")
        trials = pd.read_csv(path)
        for n in args.at:
            rows.append(summarise(trials, folder.name, n))
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    table.to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
