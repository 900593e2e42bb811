"""Val mIoU of the references under one trainer: to compare two trainers (two checkouts).

Trains each reference with ``--preset`` (default ``proxy``), ``--amp`` overriding the
preset's, one thread, each seed, and appends one CSV row per run (written as it finishes).
It only uses API that older checkouts have too, so the nas package on ``PYTHONPATH``
decides which trainer runs (run it by path, not with ``python -m``, which would put the
current directory's nas ahead of ``PYTHONPATH``; for the same reason it imports nothing from
``benchmarks``)::

    git worktree add --detach /tmp/old 31da433
    PYTHONPATH=/tmp/old OMP_NUM_THREADS=1 .venv/bin/python benchmarks/trainer_miou.py \\
        --label old --amp none --data-dir ../shared/datasets/camvid
    PYTHONPATH=. OMP_NUM_THREADS=1 .venv/bin/python benchmarks/trainer_miou.py \\
        --label new --data-dir ../shared/datasets/camvid

With ``--epochs 2 --max-train-frames 32 --max-val-frames 4`` it is a one-minute check that
two trainers compute the same losses (column ``losses``, per epoch).
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import time
from pathlib import Path

import nas
from nas.spec import get_reference
from nas.train import get_preset, train

OUT = Path(__file__).parent / "results" / "trainer_miou.csv"
FIELDS = ("label", "commit", "reference", "preset", "amp", "channels_last", "epochs", "seed",
          "miou", "pixel_accuracy", "losses", "cpu_s", "wall_s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True, help="names the trainer in the CSV (old, new)")
    ap.add_argument("--refs", default="ai85unetlarge,unetmysmall")
    ap.add_argument("--preset", default="proxy")
    ap.add_argument("--amp", default=None, help="override the preset's amp (none, bf16, auto)")
    ap.add_argument("--seeds", default="0", help="comma list")
    ap.add_argument("--channels-last", choices=("preset", "on", "off"), default="preset")
    # a short run whose per-epoch losses show whether two trainers compute the same thing
    ap.add_argument("--epochs", type=int, default=None, help="override (evaluates each epoch)")
    ap.add_argument("--max-train-frames", type=int, default=None)
    ap.add_argument("--max-val-frames", type=int, default=None)
    ap.add_argument("--task", default="camvid4")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    root = Path(nas.__file__).resolve().parent.parent
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    preset = get_preset(args.preset)
    if args.amp is not None:
        preset = preset.replace(amp=args.amp)
    if args.channels_last != "preset":
        preset = preset.replace(channels_last=args.channels_last == "on")
    if args.epochs is not None:
        preset = preset.replace(epochs=args.epochs, eval_every=1,
                                max_train_frames=args.max_train_frames,
                                max_val_frames=args.max_val_frames)
    new_file = not args.out.exists()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new_file:
            w.writeheader()
        for ref in args.refs.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                c0 = time.process_time()
                r = train(get_reference(ref, 4), args.task, preset, args.data_dir, seed=seed,
                          threads=1, progress=False)
                w.writerow({
                    "label": args.label, "commit": commit, "reference": ref,
                    "preset": preset.name, "amp": preset.amp,
                    "channels_last": preset.channels_last, "epochs": preset.epochs,
                    "seed": seed, "miou": round(r.miou, 4),
                    "pixel_accuracy": round(r.pixel_accuracy, 4),
                    "losses": ";".join(f"{h['loss']:.7f}" for h in r.history),
                    "cpu_s": round(time.process_time() - c0, 1), "wall_s": round(r.seconds, 1),
                })
                f.flush()


if __name__ == "__main__":
    main()
