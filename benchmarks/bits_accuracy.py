"""What do low-bit weights cost in val mIoU, and how many QAT epochs does the proxy need?

For each reference and each weight width (``nas.spec.with_inner_bits``: every inner layer at
``bits``, the first layer and the classifier at 8), train with the ``proxy`` preset whose
last ``q`` epochs are quantisation-aware (``Preset.replace(qat_epochs=q)``), for every ``q``
given. ``q = 0`` trains in float, where the weight width changes nothing; that one float model
per reference is then also evaluated post-training-quantised at every width (fold BN, fake
quantisation at the layer's bits, no further training): what a proxy without QAT would
report if it quantised before evaluating.

Rows go to ``benchmarks/results/bits_accuracy.csv`` as they finish; a re-run skips rows that
are already there.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python -m benchmarks.bits_accuracy \\
        --data-dir ../shared/datasets/camvid --bits 8 4 2 --qat 0 2 5 --threads 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from benchmarks._common import RESULTS, append_row, done_keys
from nas.spec import get_reference, with_inner_bits
from nas.train import evaluate, get_preset, load_checkpoint, train

OUT = RESULTS / "bits_accuracy.csv"
FIELDS = ["arch", "bits", "qat_epochs", "mode", "preset", "miou", "pixel_accuracy", "seconds",
          "weight_bytes", "qat_lr_scale"]


def _done(path: Path) -> set[tuple[str, int, int, str, float]]:
    """(arch, bits, qat_epochs, mode, qat_lr_scale) of the rows in ``path`` (files written
    before ``--qat-lr-scale`` existed lack the column: 1.0)."""
    return done_keys(path, ("arch", "bits", "qat_epochs", "mode", "qat_lr_scale"),
                     defaults={"qat_lr_scale": 1.0})


def _append(path: Path, row: dict) -> None:
    append_row(path, row, FIELDS)
    print({k: row[k] for k in ("arch", "bits", "qat_epochs", "mode", "miou", "seconds")},
          flush=True)


def _ptq_rows(ckpt_path: Path, ref: str, bits_list: list[int], args: argparse.Namespace,
              preset_name: str) -> list[dict]:
    """Evaluate one float checkpoint post-training-quantised at each width."""
    from nas.data import get_task
    from nas.models import build_model, enable_qat
    from nas.train._data import load_frames

    ckpt = load_checkpoint(ckpt_path)
    task = get_task(args.task)
    preset = get_preset(args.preset)
    images, labels = load_frames(args.data_dir, "val", task, preset.scale,
                                 preset.max_val_frames, progress=False,
                                 tiles=preset.eval_crop)
    rows = []
    for bits in bits_list:
        t0 = time.perf_counter()
        spec = with_inner_bits(ckpt["spec"], bits)
        model = build_model(spec)
        model.load_state_dict(ckpt["state_dict"])
        enable_qat(model.eval())
        cm = evaluate(model, spec, images, labels, num_classes=task.num_classes,
                      ignore_index=task.ignore_index, batch_size=16, amp=preset.amp,
                      channels_last=False)
        s = cm.summary(task.class_names)
        rows.append({"arch": ref, "bits": bits, "qat_epochs": 0, "mode": "ptq",
                     "preset": preset_name, "miou": round(s["miou"], 4),
                     "pixel_accuracy": round(s["pixel_accuracy"], 4),
                     "seconds": round(time.perf_counter() - t0, 1),
                     "weight_bytes": spec.layer_weight_bytes(), "qat_lr_scale": 1.0})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--task", default="camvid4")
    ap.add_argument("--references", nargs="+", default=["ai85unetlarge", "unetmysmall"])
    ap.add_argument("--bits", nargs="+", type=int, default=[8, 4, 2])
    ap.add_argument("--qat", nargs="+", type=int, default=[0, 2, 5],
                    help="QAT epochs at the end of the proxy's 10 (0 = float + PTQ rows)")
    ap.add_argument("--preset", default="proxy")
    ap.add_argument("--qat-lr-scale", type=float, default=1.0,
                    help="learning-rate factor during the QAT epochs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    done = _done(args.out)
    base = get_preset(args.preset)
    for ref in args.references:
        spec8 = get_reference(ref)
        for q in args.qat:
            preset = base.replace(name=f"{base.name}-qat{q}", qat_epochs=q,
                                  qat_lr_scale=args.qat_lr_scale)
            widths = [8] if q == 0 else args.bits
            for bits in widths:
                if (ref, bits, q, "qat" if q else "float", args.qat_lr_scale) in done:
                    continue
                spec = with_inner_bits(spec8, bits)
                with tempfile.TemporaryDirectory() as tmp:
                    ckpt = Path(tmp) / "model.pth.tar"
                    r = train(spec, args.task, preset, args.data_dir, seed=args.seed,
                              progress=False, threads=args.threads, checkpoint_path=ckpt)
                    _append(args.out, {
                        "arch": ref, "bits": bits, "qat_epochs": q,
                        "mode": "qat" if q else "float", "preset": preset.name,
                        "miou": round(r.miou, 4), "pixel_accuracy": round(r.pixel_accuracy, 4),
                        "seconds": round(r.seconds, 1), "weight_bytes": spec.layer_weight_bytes(),
                        "qat_lr_scale": args.qat_lr_scale})
                    if q == 0:
                        for row in _ptq_rows(ckpt, ref, args.bits, args, preset.name):
                            if (ref, row["bits"], 0, "ptq", 1.0) not in done:
                                _append(args.out, row)


if __name__ == "__main__":
    main()
