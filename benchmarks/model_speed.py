"""CPU speed of the built models: one training step (forward, backward, Adam) per mode.

Modes: ``fp32`` (contiguous), ``cl`` (channels_last), ``bf16`` (autocast), ``cl-bf16``; each in
float and in QAT mode. Also the per-forward Python overhead: a batch-1 forward on a tiny input
where the convolutions cost next to nothing, divided by the number of blocks.

    nice -n 5 .venv/bin/python -m benchmarks.model_speed --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

from nas.data import unfold
from nas.models import build_model, enable_qat
from nas.spec import get_reference

MODES = ("fp32", "cl", "bf16", "cl-bf16")


def step_seconds(name: str, mode: str, qat: bool, batch: int, size: int, steps: int) -> float:
    torch.manual_seed(0)
    spec = get_reference(name)
    model = build_model(spec).train()
    if qat:
        enable_qat(model)
    x = torch.rand(batch, spec.input_channels, size, size) * 2 - 1
    target = torch.randint(0, spec.num_classes, (batch, size * spec.fold_ratio,
                                                 size * spec.fold_ratio))
    if "cl" in mode:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled="bf16" in mode):
            logits = unfold(model(x), spec.fold_ratio)
        loss = F.cross_entropy(logits.float(), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up: oneDNN primitive creation
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def overhead_us_per_block(name: str, reps: int = 200) -> tuple[float, int]:
    spec = get_reference(name)
    model = build_model(spec).eval()
    x = torch.rand(1, spec.input_channels, 2 ** (spec.depth - 1), 2 ** (spec.depth - 1))
    with torch.no_grad():
        for _ in range(10):
            model(x)
        t = time.perf_counter()
        for _ in range(reps):
            model(x)
    n = len(model.blocks)
    return (time.perf_counter() - t) / reps / n * 1e6, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refs", nargs="+", default=["ai85unetlarge", "unetmysmall"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=88, help="folded input side (88 = 352/4)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {args.threads}, batch {args.batch}, "
          f"{args.size}x{args.size} folded, load average {os.getloadavg()[0]:.1f}")
    print("| model | QAT | " + " | ".join(f"{m} s/step" for m in MODES) + " |")
    print("|---|---|" + "---|" * len(MODES))
    for name in args.refs:
        for qat in (False, True):
            cells = [f"{step_seconds(name, m, qat, args.batch, args.size, args.steps):.3f}"
                     for m in MODES]
            print(f"| {name} | {'yes' if qat else 'no'} | " + " | ".join(cells) + " |")
    for name in args.refs:
        us, n = overhead_us_per_block(name)
        print(f"{name}: {n} blocks, tiny-input forward {us:.0f} us per block")


if __name__ == "__main__":
    main()
