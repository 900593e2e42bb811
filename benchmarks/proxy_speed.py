"""Train throughput (images/s) of the trainer's path against a plain fp32 eager baseline.

For both references (ai85unetlarge, unetmysmall) at the proxy and at the full (deployment)
resolution, in one process, it times optimiser steps of:

- ``baseline``: the same model in NCHW float32, each batch decoded from the JPEG/PNG files
  (PIL), scaled, randomly cropped, normalised and folded per step, the loss on logits
  unfolded to label resolution: what a plain PyTorch loop does;
- ``previous``: the trainer of commit 31da433, before this speed work: frames from the
  integer cache, bf16 autocast whatever the CPU, NCHW, loss on unfolded logits;
- ``trainer``: the trainer's own path (``nas.train``'s ``prepare_batch`` and
  ``forward_logits``: cached frames, the preset's ``amp`` resolved for this CPU
  (``nas.train.resolve_amp``) and ``channels_last``, loss and labels in the folded layout);
- ``trainer-cl`` / ``trainer-nchw`` (only with ``--variants``): the same with the layout
  forced, to choose a preset's ``channels_last``.

Variants take turns within each repeat; each repeat times ``--steps`` steps, and the table
gives the median over ``--repeats``. Throughput is per CPU second of this process
(``time.process_time``): on a shared machine it does not count the time the OS gave to other
processes, which wall time does (wall-clock medians are in the CSV too). With one thread it
is what a ``--jobs`` worker gets from its core.

Writes ``benchmarks/results/proxy_speed_t<threads>.csv`` (or ``--out``) row by row, prints a
Markdown table and, last,
``trainer vs fp32 eager: min N.NNx over the rows``. ``--profile STEPS`` instead prints where
the trainer's step spends its time, per op.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.proxy_speed \\
        --data-dir ../shared/datasets/camvid --threads 1
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from benchmarks._common import RESULTS
from nas.data import fold, get_task, load_split, normalize, random_crops, resolve_data_dir, unfold
from nas.models import build_model
from nas.spec import get_reference
from nas.train import get_preset, resolve_amp
from nas.train._data import prepare_batch
from nas.train._trainer import forward_logits

OUT = str(RESULTS / "proxy_speed_t{threads}.csv")
VARIANTS = ("baseline", "previous", "trainer")
EXTRA_VARIANTS = ("trainer-cl", "trainer-nchw")


def _label_lut(root: Path, task) -> np.ndarray:
    """SegNet 11-class index -> task index (benchmark-only; the data package has its own)."""
    names = {}
    for line in (root / "classes.csv").read_text().splitlines()[1:]:
        idx, name = line.split(",")[:2]
        names[int(idx)] = name.split(" ")[0]
    lut = np.full(256, task.ignore_index, dtype=np.uint8)
    other = task.class_names.index("Other") if "Other" in task.class_names else None
    for idx, name in names.items():
        if name in task.class_names:
            lut[idx] = task.class_names.index(name)
        elif other is not None:
            lut[idx] = other
    return lut


class JpegBatches:
    """Decode, scale and crop one batch of frames from disk per call (no cache)."""

    def __init__(self, root: Path, task, scale: float, crop: int, seed: int) -> None:
        self.images = sorted((root / "images" / "train").glob("*.jpg"))
        self.root, self.scale, self.crop = root, scale, crop
        self.lut = _label_lut(root, task)
        self.rng = np.random.default_rng(seed)

    def __call__(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for i in self.rng.integers(0, len(self.images), batch):
            img = Image.open(self.images[i]).convert("RGB")
            lab = Image.open(self.root / "labels" / "train" / (self.images[i].stem + ".png"))
            if self.scale != 1.0:
                size = (round(img.width * self.scale), round(img.height * self.scale))
                img = img.resize(size, Image.BILINEAR)
                lab = lab.resize(size, Image.NEAREST)
            x, y = np.asarray(img), self.lut[np.asarray(lab)]
            top = self.rng.integers(0, x.shape[0] - self.crop + 1)
            left = self.rng.integers(0, x.shape[1] - self.crop + 1)
            xs.append(x[top:top + self.crop, left:left + self.crop])
            ys.append(y[top:top + self.crop, left:left + self.crop])
        images = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2)
        return images, torch.from_numpy(np.stack(ys))


def make_step(ref: str, res: str, variant: str, args, task, splits):
    """A closure running one optimiser step of ``variant``; returns (step, batch size)."""
    preset = get_preset(args.proxy if res == "proxy" else args.full)
    spec = get_reference(ref, task.num_classes)
    r = spec.fold_ratio
    torch.manual_seed(0)
    model = build_model(spec).train()
    trainer = variant.startswith("trainer")
    cl = {"trainer": preset.channels_last, "trainer-cl": True}.get(variant, False)
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    data = splits[preset.scale]
    jpeg = JpegBatches(args.root, task, preset.scale, preset.crop, 0)
    bs = args.batch_size

    def cached_crops() -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, len(data.images), (bs,), generator=gen)
        sub = dataclasses.replace(data, images=data.images[idx], labels=data.labels[idx],
                                  names=[data.names[i] for i in idx.tolist()])
        return random_crops(sub, preset.crop, gen)

    def step() -> None:
        if trainer:
            x, t = prepare_batch(*cached_crops(), r, torch.device("cpu"), cl)
            loss = F.cross_entropy(forward_logits(model, x, r, preset.amp), t,
                                   ignore_index=task.ignore_index)
        else:
            images, labels = jpeg(bs) if variant == "baseline" else cached_crops()
            x = fold(normalize(images), r)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant == "previous"):
                y = model(x)
            loss = F.cross_entropy(unfold(y.float(), r), labels.long(),
                                   ignore_index=task.ignore_index)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step, bs


def measure_group(ref: str, res: str, args, task, splits) -> dict[str, dict[str, float]]:
    """Median CPU-time and wall-time images/s of every variant, timed in turns."""
    steps = {v: make_step(ref, res, v, args, task, splits) for v in args.variants}
    for step, _ in steps.values():
        for _ in range(args.warmup):
            step()
    cpu: dict[str, list[float]] = {v: [] for v in steps}
    wall: dict[str, list[float]] = {v: [] for v in steps}
    for _ in range(args.repeats):
        for v, (step, bs) in steps.items():
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(args.steps):
                step()
            cpu[v].append(args.steps * bs / (time.process_time() - c0))
            wall[v].append(args.steps * bs / (time.perf_counter() - w0))
    return {v: {"cpu": statistics.median(cpu[v]), "wall": statistics.median(wall[v])}
            for v in steps}


def profile_trainer(ref: str, res: str, args, task, splits) -> None:
    """Print the trainer step's ops by self CPU time (``torch.profiler``), top 15."""
    from torch.profiler import ProfilerActivity, profile

    step, _ = make_step(ref, res, "trainer", args, task, splits)
    for _ in range(args.warmup):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.profile):
            step()
    print(f"\n{ref}, {res}: trainer step, {args.profile} steps profiled")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15,
                                    max_name_column_width=40))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--task", default="camvid4")
    ap.add_argument("--proxy", default="proxy", help="preset giving the proxy resolution")
    ap.add_argument("--full", default="full", help="preset giving the full resolution")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--refs", default="ai85unetlarge,unetmysmall")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help=f"comma list of {VARIANTS + EXTRA_VARIANTS}; baseline is required")
    ap.add_argument("--out", type=Path, default=None,
                    help="CSV path (default benchmarks/results/proxy_speed_t<threads>.csv)")
    ap.add_argument("--resolutions", default="proxy,full")
    ap.add_argument("--profile", type=int, default=0, metavar="STEPS",
                    help="only profile this many trainer steps per row group (torch.profiler)")
    args = ap.parse_args()
    args.variants = tuple(args.variants.split(","))
    bad = [v for v in args.variants if v not in VARIANTS + EXTRA_VARIANTS]
    if bad or "baseline" not in args.variants:
        ap.error(f"--variants must include baseline and name only {VARIANTS + EXTRA_VARIANTS}, "
                 f"but got {args.variants}")
    torch.set_num_threads(args.threads)
    args.root = resolve_data_dir(args.data_dir)
    task = get_task(args.task)
    scales = {get_preset(args.proxy).scale, get_preset(args.full).scale}
    splits = {s: load_split(args.root, "train", task, scale=s, progress=False) for s in scales}
    if args.profile:
        for ref in args.refs.split(","):
            for res in args.resolutions.split(","):
                profile_trainer(ref, res, args, task, splits)
        return
    out = args.out or Path(OUT.format(threads=torch.get_num_threads()))
    out.parent.mkdir(parents=True, exist_ok=True)
    load0 = os.getloadavg()[0]
    rows: list[dict] = []
    with out.open("w", newline="") as f:
        w = None
        for ref in args.refs.split(","):
            for res in args.resolutions.split(","):
                preset = get_preset(args.proxy if res == "proxy" else args.full)
                got = measure_group(ref, res, args, task, splits)
                base = got["baseline"]
                for v, ips in got.items():
                    rows.append({
                        "model": ref, "resolution": f"{res} ({preset.crop} crop)",
                        "variant": v, "images_per_cpu_s": round(ips["cpu"], 1),
                        "images_per_wall_s": round(ips["wall"], 1),
                        "ratio_cpu": round(ips["cpu"] / base["cpu"], 2),
                        "ratio_wall": round(ips["wall"] / base["wall"], 2),
                    })
                    if w is None:
                        w = csv.DictWriter(f, fieldnames=list(rows[0]))
                        w.writeheader()
                    w.writerow(rows[-1])
                    f.flush()
                    print(rows[-1], flush=True)
    amps = {res: resolve_amp(get_preset(args.proxy if res == "proxy" else args.full).amp)
            for res in args.resolutions.split(",")}
    print(f"\nCPU {torch.backends.cpu.get_cpu_capability()}, trainer amp {amps}, load average "
          f"{load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, batch "
          f"{args.batch_size}, median of {args.repeats} repeats x {args.steps} steps after "
          f"{args.warmup} warm-up\n")
    print("| model | resolution | variant | img/s (CPU) | x baseline | img/s (wall) | "
          "x baseline (wall) |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['resolution']} | {r['variant']} | "
              f"{r['images_per_cpu_s']} | {r['ratio_cpu']} | {r['images_per_wall_s']} | "
              f"{r['ratio_wall']} |")
    worst = min(r["ratio_cpu"] for r in rows if r["variant"] == "trainer")
    if "previous" in args.variants:
        gain = min(t["ratio_cpu"] / p["ratio_cpu"] for t in rows if t["variant"] == "trainer"
                   for p in rows if p["variant"] == "previous"
                   and (p["model"], p["resolution"]) == (t["model"], t["resolution"]))
        print(f"trainer vs previous trainer: min {gain:.2f}x over the rows")
    print(f"trainer vs fp32 eager: min {worst:.2f}x over the rows")


if __name__ == "__main__":
    main()
