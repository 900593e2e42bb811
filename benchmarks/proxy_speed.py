"""Train throughput (images/s) of the trainer's fast path against a plain eager baseline.

For both references (ai85unetlarge, unetmysmall) at the proxy and at the full (deployment)
resolution, in the same process, it measures optimiser steps of:

- ``baseline``: the same model in NCHW float32, each batch decoded from the JPEG/PNG files
  (PIL), scaled, randomly cropped, normalised and folded per step;
- ``cache``: frames from the integer cache held in memory (``nas.data.load_split``), NCHW fp32;
- ``cache+bf16``: plus bfloat16 autocast: the trainer's default (``nas.train`` presets);
- ``cache+cl+bf16``: plus channels_last (off in the presets: it does not pay here).

Writes ``benchmarks/results/proxy_speed_t<threads>.csv`` and prints a Markdown table with the
ratio of each variant to the baseline.

    PYTHONPATH=. nice -n 5 .venv/bin/python benchmarks/proxy_speed.py \
        --data-dir ../shared/datasets/camvid --threads 1
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from nas.data import fold, get_task, load_split, normalize, random_crops, resolve_data_dir, unfold
from nas.models import build_model
from nas.spec import get_reference
from nas.train import get_preset

RESULTS = Path(__file__).parent / "results" / "proxy_speed_t{threads}.csv"
VARIANTS = {  # name -> (from cache, channels_last, bf16)
    "baseline": (False, False, False),
    "cache": (True, False, False),
    "cache+bf16": (True, False, True),
    "cache+cl+bf16": (True, True, True),
}


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


def measure(ref: str, res: str, variant: str, args, task, splits) -> float:
    preset = get_preset(args.proxy if res == "proxy" else "full")
    from_cache, cl, bf16 = VARIANTS[variant]
    spec = get_reference(ref, task.num_classes)
    torch.manual_seed(0)
    model = build_model(spec).train()
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    data = splits[preset.scale]
    jpeg = JpegBatches(args.root, task, preset.scale, preset.crop, 0)
    bs = args.batch_size

    def step() -> None:
        if from_cache:
            idx = torch.randint(0, len(data.images), (bs,), generator=gen)
            sub = dataclasses.replace(data, images=data.images[idx], labels=data.labels[idx],
                                      names=[data.names[i] for i in idx.tolist()])
            images, labels = random_crops(sub, preset.crop, gen)
        else:
            images, labels = jpeg(bs)
        x = fold(normalize(images), spec.fold_ratio)
        if cl:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = model(x)
        loss = F.cross_entropy(unfold(y.float(), spec.fold_ratio), labels.long(),
                               ignore_index=task.ignore_index)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    return args.steps * bs / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--task", default="camvid4")
    ap.add_argument("--proxy", default="proxy", help="preset giving the proxy resolution")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--refs", default="ai85unetlarge,unetmysmall")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.root = resolve_data_dir(args.data_dir)
    task = get_task(args.task)
    scales = {get_preset(args.proxy).scale, get_preset("full").scale}
    splits = {s: load_split(args.root, "train", task, scale=s, progress=False) for s in scales}
    rows = []
    for ref in args.refs.split(","):
        for res in ("proxy", "full"):
            base = None
            for variant in args.variants.split(","):
                ips = measure(ref, res, variant, args, task, splits)
                base = ips if variant == "baseline" else base
                crop = get_preset(args.proxy if res == "proxy" else "full").crop
                rows.append({"model": ref, "resolution": f"{res} ({crop} crop)",
                             "variant": variant, "images_per_s": round(ips, 1),
                             "ratio": round(ips / base, 2) if base else ""})
                print(rows[-1], flush=True)
    out = Path(str(RESULTS).format(threads=torch.get_num_threads()))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, batch "
          f"{args.batch_size}, {args.steps} timed steps after {args.warmup} warm-up\n")
    print("| model | resolution | variant | train img/s | x baseline |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['resolution']} | {r['variant']} | {r['images_per_s']} | "
              f"{r['ratio']} |")


if __name__ == "__main__":
    main()
