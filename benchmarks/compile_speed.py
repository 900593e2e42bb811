"""Does ``torch.compile`` pay for the trainer? Train step of a reference, eager vs compiled.

Modes (one per process, so each compile starts cold apart from inductor's disk cache):

- ``eager``: the model as ``nas.train`` runs it (fp32 here; see ``--amp``);
- ``bn-act``: only the non-convolution tail of every block (batch norm without affine, /4,
  ReLU + int8 clamp) as one ``torch.compile(dynamic=True)`` function, so inductor fuses it
  into one kernel per direction;
- ``model``: ``torch.compile`` of the whole model (forward and backward).

Random input of the folded shape (``--size`` = folded side, 40 = proxy, 88 = full), batch 16,
cross-entropy on folded logits + Adam. Prints the wall time to the end of the first step
(compilation included) and the median train images per CPU second of ``--steps`` steps.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.compile_speed \\
        --reference unetmysmall --size 40 --mode bn-act --channels-last
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from nas.models import _blocks as blocks
from nas.models import build_model
from nas.spec import get_reference


def bn_act(x, running_mean, running_var, weight, lo: float, training: bool, momentum: float,
           eps: float):
    x = F.batch_norm(x, running_mean, running_var, weight, None, training, momentum, eps)
    return F.hardtanh(x, lo, blocks.ACT_MAX)


def use_compiled_tail() -> None:
    """Patch ``FusedBlock.forward`` (float path, NoAffine BN) to call a compiled tail."""
    fused = torch.compile(bn_act, dynamic=True, fullgraph=True)

    def forward(self, x):
        if self.pool is not None:
            x = F.max_pool2d(x, 2, 2)
        w, b = self.conv.weight, self.conv.bias
        if self._transposed:
            x = F.conv_transpose2d(x, w, b, 2, 1, 1)
        else:
            x = F.conv2d(x, w, b, 1, self.conv.padding, 1, self.conv.groups)
        bn = self.bn
        if bn is not None and not bn.affine:
            return fused(x, bn.running_mean, bn.running_var, self._bn_quarter, self._lo,
                         self.training, bn.momentum, bn.eps)
        return F.hardtanh(x, self._lo, blocks.ACT_MAX)

    blocks.FusedBlock.forward = forward


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default="ai85unetlarge")
    ap.add_argument("--size", type=int, default=40, help="folded input side (40 proxy, 88 full)")
    ap.add_argument("--mode", choices=("eager", "bn-act", "model"), default="eager")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--amp", choices=("none", "bf16"), default="none")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    spec = get_reference(args.reference, 4)
    r, hw, bs = spec.fold_ratio, args.size, 16
    t0 = time.perf_counter()
    if args.mode == "bn-act":
        use_compiled_tail()
    torch.manual_seed(0)
    model = build_model(spec).train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if args.mode == "model":
        model = torch.compile(model)
    opt = torch.optim.Adam(model.parameters())
    x = torch.randn(bs, spec.input_channels, hw, hw)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    t = torch.randint(0, spec.num_classes, (bs * r * r, hw, hw))

    def step() -> float:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.amp == "bf16"):
            y = model(x)
        y = y.to(torch.float32, memory_format=torch.contiguous_format)
        loss = F.cross_entropy(y.view(bs * r * r, -1, hw, hw), t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    loss = step()
    first = time.perf_counter() - t0
    step()
    ips = []
    for _ in range(args.steps):
        c0 = time.process_time()
        step()
        ips.append(bs / (time.process_time() - c0))
    print(f"{args.reference} {hw}x{hw} {args.mode} {'cl' if args.channels_last else 'nchw'} "
          f"{args.amp}: first step {first:.1f} s wall (loss {loss:.5f}), "
          f"{statistics.median(ips):.1f} train img/CPU-s (median of {args.steps})")


if __name__ == "__main__":
    main()
