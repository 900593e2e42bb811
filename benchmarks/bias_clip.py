"""Does keeping folded biases within the weights' range let 2-bit layers train?

The full recipe's QAT phase, replayed from a trained net: the net's ``full`` 8-bit checkpoint
(BN folded, 20 QAT epochs behind it) is loaded into the same net at ``with_inner_bits(net,
BITS)``, then trains ``--epochs`` more QAT epochs at the learning rates the ``full`` schedule
has from epoch 81 on (its QAT phase), once per variant:

- ``max``: ai8x's rule, the layer's power-of-two scale from ``max|w, b|``;
- ``clip``: biases of the low-bit layers clipped to ``[-max|w|, max|w|]`` after every step
  (``Preset.bias_clip_bits``), so the weights set the scale;
- ``qNNN``: weights and biases of the low-bit layers clipped to the 0.NNN quantile of ``|w|``
  (``Preset.clip_quantile``), so the bulk of the weights sets the scale.

Epoch 0 is the checkpoint quantised at ``BITS`` without training (under the variant's rule).
One CSV row per evaluated epoch, ``net,bits,variant,seed,epoch,val_miou``, in
``benchmarks/results/bias_clip.csv``::

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.bias_clip --net unetmysmall --bits 2 \\
        --checkpoint studies/results/refs-full/finalists/unetmysmall-seed0.pt \\
        --epochs 4 --data-dir ../shared/datasets/camvid

A screening experiment (BENCHMARKS.md, "Low-bit weights"): the starting point is an 8-bit QAT
state, not the float state the full recipe's QAT phase starts from.
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks._common import RESULTS, append_row
from nas.data import get_task
from nas.spec import get_reference, with_inner_bits
from nas.train import get_preset
from nas.train._checkpoint import load_checkpoint
from nas.train._trainer import _load_data, _NoBar, _Run, evaluate  # noqa: PLC2701 (an experiment on the trainer's steps)

OUT = RESULTS / "bias_clip.csv"
FIELDS = ("net", "bits", "variant", "seed", "epoch", "val_miou")


def replay(net: str, bits: int, variant: str, ckpt_path: str, epochs: int, seed: int,
           data_dir: str | None) -> None:
    spec = with_inner_bits(get_reference(net), bits)
    clip_bits, quantile = (0, 1.0) if variant == "max" else (
        bits, float(variant[1:]) / 1000 if variant.startswith("q") else 1.0)
    preset = get_preset("full").at_input_size((88, 88), spec.fold_ratio).replace(
        bias_clip_bits=clip_bits, clip_quantile=quantile)
    task = get_task("camvid4")
    train_data, val_images, val_labels = _load_data(data_dir, task, preset, "val", None, False)
    run = _Run.start(spec, task, preset, torch.device("cpu"), seed, len(train_data.images))
    run.switch_to_qat()
    run.model.load_state_dict(load_checkpoint(ckpt_path)["state_dict"])
    run._clip_biases()
    first = preset.epochs - preset.qat_epochs + 1  # 81: the QAT phase's first epoch
    run.step = (first - 1) * run.steps_per_epoch

    def score(epoch: int) -> None:
        cm = evaluate(run.model, spec, val_images, val_labels, num_classes=task.num_classes,
                      ignore_index=task.ignore_index, channels_last=preset.channels_last)
        append_row(OUT, {"net": net, "bits": bits, "variant": variant, "seed": seed,
                         "epoch": epoch, "val_miou": round(cm.summary()["miou"], 4)}, FIELDS)
        print(f"{net} w{bits} {variant} epoch {epoch}: {cm.summary()['miou']:.4f} "
              f"({time.strftime('%H:%M:%S')})", flush=True)

    score(0)
    for e in range(epochs):
        run.train_epoch(first + e, train_data, _NoBar())
        score(e + 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", required=True, help="a reference name")
    ap.add_argument("--bits", type=int, default=2, help="inner-layer weight bits (default 2)")
    ap.add_argument("--checkpoint", required=True, help="the net's full 8-bit checkpoint")
    ap.add_argument("--epochs", type=int, default=4, help="QAT epochs to replay (default 4)")
    ap.add_argument("--variants", nargs="+", default=["max", "clip"],
                    help="max, clip, or qNNN (weights and biases clipped to the 0.NNN "
                         "quantile of |w|, e.g. q985)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    for variant in args.variants:
        replay(args.net, args.bits, variant, args.checkpoint, args.epochs, args.seed,
               args.data_dir)


if __name__ == "__main__":
    main()
