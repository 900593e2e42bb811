"""Why low-bit weights collapse: per layer, the share of weights that quantise to 0.

For each float checkpoint given (a search trial's, trained without QAT), and each inner width
(:func:`nas.spec.with_inner_bits`), fold BN, fake-quantise as the chip does (izer's rule: the
bias shares the weights' power-of-two scale and bits, the scale set by max|w, b|) and report
per layer: ``max|bias| / max|weight|`` after folding, the share of weights that round to 0,
the share of zero activations on a few val tiles, and the val mIoU of that post-training-
quantised net::

    .venv/bin/python -m benchmarks.bits_diagnosis --checkpoint ai85unetlarge=PATH \\
        --bits 8 4 2 --data-dir ../shared/datasets/camvid

A layer whose folded bias is several times its largest weight gets a scale at which, with 2
bits (a step of 1/4 to 1/2 of max|w, b|), every weight rounds to 0: the layer then outputs its
bias alone, whatever its input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from nas.data import get_task
from nas.models import FusedBlock, build_model, enable_qat, fold_bn
from nas.spec import with_inner_bits
from nas.train import evaluate, get_preset, load_checkpoint
from nas.train._data import load_frames, prepare_batch


def layer_rows(state: dict, spec, bits: int, x: torch.Tensor) -> list[dict]:
    """One dict per chip layer of ``spec`` at ``bits`` inner bits (see the module docstring)."""
    sp = spec if bits == 8 else with_inner_bits(spec, bits)
    model = build_model(sp)
    model.load_state_dict(state)
    model.eval()
    fold_bn(model)
    ratio = {b.layer.name: float(b.conv.bias.abs().max() / b.conv.weight.abs().max())
             for b in model.modules() if isinstance(b, FusedBlock)}
    enable_qat(model)
    rows: list[dict] = []

    def hook(block: FusedBlock, _inp: object, out: torch.Tensor) -> None:
        w, _ = block.quantized_parameters()
        rows.append({"layer": block.layer.name, "bits": block.bits,
                     "bias_over_weight": round(ratio[block.layer.name], 2),
                     "zero_weights": round(float((w == 0).float().mean()), 3),
                     "zero_activations": round(float((out == 0).float().mean()), 3)})

    hooks = [b.register_forward_hook(hook) for b in model.modules() if isinstance(b, FusedBlock)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", nargs="+", required=True, metavar="NAME=PATH")
    p.add_argument("--bits", nargs="+", type=int, default=[8, 4, 2])
    p.add_argument("--preset", default="proxy", help="the preset the checkpoints trained with")
    p.add_argument("--data-dir", type=Path, default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    task = get_task("camvid4")
    preset = get_preset(args.preset)
    vi, vl = load_frames(args.data_dir, "val", task, preset.scale, None, progress=False,
                         tiles=preset.eval_crop)
    for item in args.checkpoint:
        name, path = item.split("=", 1)
        ck = load_checkpoint(path)
        spec = ck["spec"]
        x, _ = prepare_batch(vi[:16], vl[:16], spec.fold_ratio, torch.device("cpu"), False)
        for bits in args.bits:
            rows = layer_rows(ck["state_dict"], spec, bits, x)
            sp = spec if bits == 8 else with_inner_bits(spec, bits)
            m2 = build_model(sp)
            m2.load_state_dict(ck["state_dict"])
            m2.eval()
            enable_qat(m2)
            miou = evaluate(m2, sp, vi, vl, num_classes=task.num_classes,
                            ignore_index=task.ignore_index).summary(task.class_names)["miou"]
            dead = [r["layer"] for r in rows if r["zero_weights"] >= 0.999]
            print(f"{name} at {bits} inner bits: PTQ val mIoU {miou:.3f}; layers with every "
                  f"weight 0: {len(dead)} {dead}")
            for r in rows:
                print(f"  {r['layer']:12s} {r['bits']}b  max|b|/max|w| "
                      f"{r['bias_over_weight']:5.1f}  weights 0: {r['zero_weights']:.2f}  "
                      f"activations 0: {r['zero_activations']:.2f}")


if __name__ == "__main__":
    main()
