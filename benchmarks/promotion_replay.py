"""What `--rungs` would have promoted in recorded studies, replayed in completion order.

For each trials.csv, the trials are replayed in the order they completed; after each one,
:func:`nas.search.select_promotions` picks what a worker would promote then (asynchronously,
never taken back). The table gives, per share and margin, how many nets were promoted and how
many of the study's final front and knees were among them::

    .venv/bin/python -m benchmarks.promotion_replay \\
        studies/results/headline/trials.csv studies/results/samplers/random/trials.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from nas.report import read_trials_csv
from nas.search import RungPoint, knee_points, pareto_frame, select_promotions


def replay(df: pd.DataFrame, share: float, margin: float) -> set[int]:
    """Trial numbers promoted when the trials of ``df`` complete in their recorded order."""
    done = df[df["state"] == "COMPLETE"].copy()
    done["end"] = (pd.to_datetime(done["datetime_start"])
                   + pd.to_timedelta(done["duration_s"], unit="s"))
    promoted: list[int] = []
    points: list[RungPoint] = []
    for _, r in done.sort_values("end").iterrows():
        ref = str(r["reference"] or "")
        if r["trained"] is True and (r["feasible"] is True or ref):
            points.append(RungPoint(int(r["number"]), float(r["miou"]),
                                    int(r["param_bytes"]), ref))
        promoted += select_promotions(points, promoted, share, margin)
    return set(promoted)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trials", type=Path, nargs="+", help="trials.csv files")
    ap.add_argument("--shares", default="0.05,0.1,0.2")
    ap.add_argument("--margins", default="0.02,0.05,0.1")
    args = ap.parse_args()
    rows = []
    for path in args.trials:
        df = read_trials_csv(path)
        front = pareto_frame(df)
        knees = set(knee_points(front, 4)["number"])
        trained = int(((df["state"] == "COMPLETE") & (df["trained"] == True)).sum())  # noqa: E712
        for share in map(float, args.shares.split(",")):
            for margin in map(float, args.margins.split(",")):
                got = replay(df, share, margin)
                rows.append({"study": path.parent.name, "trained": trained, "share": share,
                             "margin": margin, "promoted": len(got),
                             "front promoted": f"{len(got & set(front['number']))}/{len(front)}",
                             "knees promoted": f"{len(got & knees)}/{len(knees)}"})
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
