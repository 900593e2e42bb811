"""Can the proxy learn low-bit weights if its QAT phase gets a learning-rate warm-up of its own?

Trains a reference at ``with_inner_bits(ref, BITS)`` with the ``proxy`` preset whose last ``K``
epochs are quantisation-aware, the float phase a one-cycle schedule of its own over the first
epochs and the QAT phase a second one-cycle (10 % warm-up, cosine) peaking at ``F`` x the
preset's LR, Adam's moments kept. ``SHIFT_Q`` < 1 takes the layer's power-of-two scale from
that quantile of |w, b| instead of the maximum (as ai8x's 2-bit QAT policies do with
``shift_quantile``). One JSON line per run::

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.qat_restart unetmysmall 4 r2_0.25 0 \\
        >> benchmarks/results/qat_restart.jsonl          # NET BITS rK_F SEED

Exploratory (BENCHMARKS.md, "Low-bit weights"): it patches the trainer's schedule and scale
functions in this process only.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import torch

import nas.models._blocks as blocks
import nas.train._trainer as trainer
from nas.spec import get_reference, with_inner_bits
from nas.train import get_preset, train


def main() -> None:
    net, bits, variant, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    spec = get_reference(net)
    spec = spec if bits == 8 else with_inner_bits(spec, bits)
    k_text, f_text = variant[1:].split("_")
    k, f = int(k_text), float(f_text)
    preset = get_preset("proxy").replace(low_bit_qat_epochs=k, low_bit_pricing=False)
    float_lr = trainer.lr_at

    def lr_at(step: int, total: int, p) -> float:
        qat_start = total * (p.epochs - k) // p.epochs
        if step < qat_start:
            return float_lr(step, qat_start, p)
        s, n, peak = step - qat_start, total - qat_start, p.lr * f
        warm = max(1, int(0.1 * n))
        if s < warm:
            return peak / 25 + (peak - peak / 25) * s / warm
        t = (s - warm) / max(n - warm, 1)
        return peak / 1000 + (peak - peak / 1000) * 0.5 * (1 + math.cos(math.pi * t))

    trainer.lr_at = lr_at
    q = float(os.environ.get("SHIFT_Q", "1"))
    if q < 1:
        def weight_shift(weight, bias, bits=8):
            with torch.no_grad():
                x = weight.detach().abs().flatten()
                if bias is not None:
                    x = torch.cat([x, bias.detach().abs().flatten()])
                m = torch.quantile(x.float(), q)
                return torch.floor(torch.log2(1.0 / m)).clamp_(-7.0 - bits, 23.0 - bits)

        blocks.weight_shift = weight_shift
    t0 = time.time()
    r = train(spec, "camvid4", preset, os.environ.get("CAMVID_DIR"), seed=seed, progress=False,
              threads=1)
    print(json.dumps({"net": net, "bits": bits, "variant": variant, "q": q, "seed": seed,
                      "miou": round(r.miou, 4), "s": round(time.time() - t0)}), flush=True)


if __name__ == "__main__":
    main()
