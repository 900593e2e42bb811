"""``python -m nas export``: write an ai8x-training / ai8x-synthesis export of one architecture.

Sources (exactly one): a study trial (``--study NAME --trial N``), an ArchSpec JSON file, or
``--reference NAME``. Weights: the trial's checkpoint, ``--checkpoint FILE``, or ``--untrained``
(random weights, for hardware-only checks with izer).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nas._cli import SubParsers, add_device_argument, add_input_size
from nas.data import DataError, DatasetNotFoundError, get_task
from nas.export._export import camvid_sample, export
from nas.export._preview import PREVIEW_FILE, Preview, load_preview
from nas.export._trial import load_trial
from nas.hardware import DEFAULT_DEVICE
from nas.spec import DEFAULT_INPUT_SIZE, ArchSpec, get_reference
from nas.train import load_checkpoint, model_from_checkpoint


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "export", help="export an architecture to ai8x-training / ai8x-synthesis (izer)",
        description="Write the ai8x-training model module, float and quantised checkpoints, "
                    "izer YAML (from the memory plan), a sample input, preview.png (a few val "
                    "tiles as the chip segments them; needs CamVid and trained weights) and a "
                    "README with the ai8xize.py commands and the figures izer should print.",
    )
    p.add_argument("arch", nargs="?", type=Path, help="ArchSpec JSON file")
    p.add_argument("--reference", metavar="NAME", help="a reference architecture")
    p.add_argument("--study", metavar="NAME", help="study name (studies/NAME.db)")
    p.add_argument("--trial", type=int, metavar="N", help="trial number in --study")
    p.add_argument("--storage", metavar="URL", help="Optuna storage URL (default SQLite)")
    p.add_argument("--studies-dir", type=Path, default=Path("studies"),
                   help="folder of study databases and artifacts (default studies)")
    p.add_argument("--artifact-dir", type=Path, default=None,
                   help="checkpoint store (default studies/NAME/artifacts)")
    p.add_argument("--checkpoint", type=Path, help="maxnas training checkpoint (.pth.tar)")
    p.add_argument("--search-checkpoint", action="store_true",
                   help="with --study: the search's checkpoint even when 'nas finalize' "
                        "or a --rungs promotion retrained the trial (by default the finalize "
                        "checkpoint, else the highest rung's, is taken)")
    p.add_argument("--untrained", action="store_true",
                   help="random weights and a synthetic sample (hardware-only check)")
    p.add_argument("--out", type=Path, required=True, help="export folder")
    p.add_argument("--force", action="store_true", help="overwrite an existing export folder")
    add_device_argument(p, default=None, note="the study's with --study, else ")
    add_input_size(p, default=None, note="the study's with --study, else ")
    p.add_argument("--task", default=None,
                   help="task (default: the checkpoint's, else camvid4)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="CamVid root for the sample crop (default $CAMVID_DIR, data/CamVid)")
    p.add_argument("--sample-index", type=int, default=0,
                   help="which validation tile becomes the sample (default 0)")
    p.add_argument("--synthetic-sample", action="store_true",
                   help="random sample input even with trained weights (no CamVid needed)")
    p.add_argument("--seed", type=int, default=0, help="seed of random weights / sample")
    p.set_defaults(func=run)


def _source(args: argparse.Namespace):
    """(spec, checkpoint path or None, description) from the mutually exclusive sources."""
    given = [n for n, v in (("ARCH.json", args.arch), ("--reference", args.reference),
                            ("--study", args.study)) if v is not None]
    if not given and args.checkpoint is not None and not args.untrained:
        # a maxnas checkpoint stores its architecture: it is enough on its own

        spec = load_checkpoint(args.checkpoint)["spec"]
        return spec, args.checkpoint, "the architecture stored in the checkpoint"
    if len(given) != 1:
        raise ValueError("give exactly one of ARCH.json, --reference NAME or --study NAME "
                         f"--trial N (or only --checkpoint FILE), but got {given or 'none'}")
    if (args.study is None) != (args.trial is None):
        raise ValueError("--study and --trial go together")
    if args.untrained and args.checkpoint:
        raise ValueError("--untrained and --checkpoint exclude each other")
    if args.study is not None:
        if args.checkpoint:
            raise ValueError("--checkpoint is not used with --study (the trial has one)")

        t = load_trial(args.study, args.trial, storage=args.storage,
                       studies_dir=args.studies_dir, artifact_dir=args.artifact_dir,
                       need_checkpoint=not args.untrained,
                       prefer_finalist=not args.search_checkpoint)
        # the study's device, input size and task unless the user gave others
        args.device = args.device or t.device
        args.input_size = args.input_size or t.input_size
        args.task = args.task or t.task
        weights = f" ({t.checkpoint_source} checkpoint)" if t.checkpoint_source else ""
        return t.spec, t.checkpoint, f"study {t.study_name} trial {t.number}{weights}"
    if not args.untrained and args.checkpoint is None:
        raise ValueError("no weights: pass --checkpoint FILE, or --untrained for random weights")
    if args.reference:
        num_classes = None
        if args.task:
            num_classes = get_task(args.task).num_classes
        spec = get_reference(args.reference, num_classes or 4)
        return spec, args.checkpoint, f"reference {args.reference}"
    return ArchSpec.load(args.arch), args.checkpoint, f"{args.arch}"


def _preview(args: argparse.Namespace, spec: ArchSpec, task: str,
             trained: bool) -> tuple[Preview | None, str]:
    """The val tiles for ``preview.png``, or None and why not (random weights, no CamVid)."""
    if not trained:
        return None, "random weights"
    try:
        return load_preview(spec, task, args.input_size, args.data_dir), ""
    except DataError as e:  # --synthetic-sample without CamVid: the export goes on
        return None, str(e).split(". ")[0]
    except ValueError as e:  # a non-square input size
        return None, str(e)


def run(args: argparse.Namespace) -> int:
    spec, ckpt_path, source = _source(args)
    args.device = args.device or DEFAULT_DEVICE
    args.input_size = args.input_size or DEFAULT_INPUT_SIZE
    extras: dict[str, Any] = {}
    model, epoch, task = None, 0, args.task
    if ckpt_path is not None:
        ckpt = load_checkpoint(ckpt_path)
        if ckpt["spec"].to_dict() != spec.to_dict():
            raise ValueError(f"checkpoint {ckpt_path} was trained for architecture "
                             f"{ckpt['spec'].name!r}, not for {spec.name!r}")
        model = model_from_checkpoint(ckpt)
        low = sorted({layer.bits for layer in spec.layers() if layer.bits < 8})
        # a search rung prices low bits instead of training them (low_bit_pricing): float,
        # or QAT at 8 bits (medium); the priced run's metrics keep its measured_miou
        priced = "measured_miou" in (ckpt.get("metrics") or {})
        if low and (priced or not ckpt.get("qat", False)):
            print(f"warning: {Path(ckpt_path).name} was trained as an 8-bit net, so its "
                  f"{'/'.join(map(str, low))}-bit weights are only quantised now, which can "
                  "lose most of the mIoU; train it with `nas finalize` (QAT) and export that",
                  file=sys.stderr)
        epoch = int(ckpt.get("epoch", 0))
        task = task or ckpt.get("task")
        metrics = ckpt.get("metrics", {}) or {}
        extras = {"maxnas_task": str(ckpt.get("task")),
                  "maxnas_preset": str(ckpt.get("preset"))}
        if "miou" in metrics:
            extras["maxnas_val_miou"] = float(metrics["miou"])
        if "pixel_accuracy" in metrics:  # ai8x's "top1" for segmentation is pixel accuracy
            extras["best_top1"] = 100.0 * float(metrics["pixel_accuracy"])
        source += f", checkpoint {Path(ckpt_path).name}"
    task = task or "camvid4"

    if get_task(task).num_classes != spec.num_classes:
        raise ValueError(f"task {task} has {get_task(task).num_classes} classes but the "
                         f"architecture has num_classes={spec.num_classes}")
    sample = None
    if model is not None and not args.synthetic_sample:
        try:
            sample = camvid_sample(spec, task, args.input_size, args.data_dir,
                                   index=args.sample_index)
        except DatasetNotFoundError as e:
            raise ValueError(f"{e} Without CamVid, --synthetic-sample exports with a "
                             "synthetic input instead of a val tile.") from None
        source += f", sample: val tile {args.sample_index}"
    else:
        source += ", sample: synthetic"
    preview, skipped = _preview(args, spec, task, trained=model is not None)
    result = export(
        spec, args.out, model=model, sample=sample, dataset=task, device=args.device,
        input_size=args.input_size, epoch=epoch, extras=extras, seed=args.seed,
        force=args.force, source=source, preview=preview,
    )
    print(f"exported {spec.name} ({'trained' if result.trained else 'random weights'}) "
          f"to {result.out_dir}/")
    print(f"  from {source}")
    if skipped:
        print(f"  {PREVIEW_FILE} skipped: {skipped}")
    for role, path in result.files.items():
        print(f"  {role:10s} {path.name}")
    p = result.predicted.get(args.device, {})
    if p and "error" not in p:
        lat = p.get("latency_cycles")
        print(f"izer should print: Weight memory {p['weight_bytes']:,} bytes, Bias memory "
              f"{p['bias_bytes']:,} bytes"
              + (f", latency {lat:,} cycles" if lat is not None else ""))
    print(f"ai8x-training: copy {result.files['module'].name} into models/, then "
          f"--model {result.arch} --qat-policy {result.files['qat_policy']}")
    print(f"see {result.files['readme']} for the ai8x-training and ai8xize.py commands")
    return 0
