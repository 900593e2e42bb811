"""``python -m nas train``: train one architecture with a named preset and print its metrics."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from nas._cli import SubParsers, add_renamed_option, add_torch_device_argument
from nas.data import get_task
from nas.spec import ArchSpec, get_reference
from nas.train._presets import get_preset, list_presets
from nas.train._trainer import train


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "train", help="train an architecture (ArchSpec JSON or a reference) with a preset",
        description="Train an ArchSpec on CamVid with a named preset, print mIoU, per-class "
                    "IoU, pixel accuracy and seconds, and write a checkpoint.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("arch", nargs="?", type=Path, help="ArchSpec JSON file")
    src.add_argument("--reference", metavar="NAME",
                     help="a reference architecture (ai85unetlarge, unetmysmall, ...)")
    p.add_argument("--preset", default="proxy", help=f"one of {list_presets()} (default proxy)")
    p.add_argument("--task", default="camvid4", help="camvid4 or camvid11 (default camvid4)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="CamVid root (default $CAMVID_DIR, else data/CamVid)")
    p.add_argument("--out", type=Path, default=None,
                   help="checkpoint path (default runs/NAME_TASK_PRESET.pth.tar)")
    p.add_argument("--seed", type=int, default=0)
    add_torch_device_argument(p)
    add_renamed_option(p, "--device", "--device is now --torch-device in nas train (--device is "
                                      "the chip in every command that has one)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    p.add_argument("--split", choices=("val", "test"), default="val",
                   help="evaluation split (test only for final reports)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    task = get_task(args.task)
    preset = get_preset(args.preset)
    if args.reference:
        spec = get_reference(args.reference, task.num_classes)
    else:
        spec = ArchSpec.load(args.arch)
    out = args.out or Path("runs") / f"{spec.name}_{task.name}_{preset.name}.pth.tar"
    result = train(
        spec, task, preset, args.data_dir, seed=args.seed, device=args.torch_device,
        checkpoint_path=out, progress=not args.no_progress, val_split=args.split,
        threads=args.threads,
    )
    if args.json:
        print(json.dumps({"arch": spec.name, "task": task.name, "preset": preset.name,
                          **result.to_dict()}, indent=2))
        return 0
    print(f"{spec.name}  task={task.name}  preset={preset.name}  split={args.split}  "
          f"seed={args.seed}")
    print(f"mIoU            {result.miou:.4f}")
    print(f"pixel accuracy  {result.pixel_accuracy:.4f}")
    print("per-class IoU")
    for name, iou in result.per_class_iou.items():
        print(f"  {name:<14}{'n/a' if math.isnan(iou) else f'{iou:.4f}'}")
    print(f"seconds         {result.seconds:.1f}  "
          f"({result.train_images_per_second:.1f} train images/s)")
    print(f"checkpoint      {result.checkpoint_path}")
    return 0
