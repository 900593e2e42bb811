"""Exports as an ai8x-training user runs them: the export README's commands with the real
train.py (and ai8x-synthesis' quantize.py) on the references, sampled nets, a mixed-bit net and
a trained net, and Top-1 (train.py's pixel accuracy) against ours on the same tiles.

Per export: copy the module into (a linked copy of) ai8x-training's models/; evaluate the float
checkpoint (exported QAT policy) and the quantised one with ``-8`` and the stock
``policies/qat_policy_camvid.yaml``; fine-tune 1 epoch and ``--resume-from ... --reset-optimizer``
(exported policy; the saved checkpoint must keep each layer's weight bits); ``quantize.py`` on
the float checkpoint == our ``-q`` file. "Ours" is ``simulate_int8`` on ai8x's own test tiles,
argmax (first maximum) vs torch.topk (what torchnet's meter uses) on ties.

Usage (one thread; data in ai8x's CamVid layout, here the 16-frame sample)::

    python benchmarks/ai8x_training_roundtrip.py --training-dir ../ai8x-training \\
        --training-python ../ai8x-venv/bin/python --synthesis-dir ../ai8x-synthesis \\
        --synthesis-python ../izer-venv/bin/python \\
        --data ../shared/datasets/camvid-ai8x-sample --sampled 3 \\
        --ai8x-checkpoint ../ai8x-synthesis/trained/ai85-camvid-unet-large.pth.tar \\
        --out runs/ai8x_training

Trained maxnas checkpoints (a finalist's ``finalists/<name>-seed<S>.pt``) alone::

    python benchmarks/ai8x_training_roundtrip.py ... --checkpoints-only \\
        --checkpoint studies/results/headline2/finalists/trial14-seed0.pt --out runs/winners
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nas.data import unfold
from nas.export import export, layer_params_from_ai8x, simulate_int8
from nas.export._ai8x_training import run_train, training_overlay
from nas.hardware import check
from nas.spec import ArchSpec, get_reference, with_bits_cycle

_DUMP_TILES = """
import argparse, sys
import numpy as np
import ai8x
from datasets.camvid import camvid_get_datasets_s352_c3
args = argparse.Namespace(act_mode_8bit=True, truncate_testset=False)
ai8x.set_device(85, True, False)
_, test = camvid_get_datasets_s352_c3((sys.argv[1], args), load_train=False)
x = np.stack([test[i][0].numpy() for i in range(len(test))])
y = np.stack([test[i][1] for i in range(len(test))])
np.savez(sys.argv[2], x=x, y=y)
"""




def sampled(n: int, seed: int, size: int, space: str) -> list[tuple[str, ArchSpec]]:
    from search_spaces import get_space, sample_specs

    out: list[tuple[str, ArchSpec]] = []
    tried = 0
    while len(out) < n and tried < 4000:
        for spec in sample_specs(get_space(space), 20, seed=seed + tried):
            if len(out) < n and check(spec, "MAX78000", (size, size)).feasible:
                out.append((f"sampled #{len(out)}", spec))
        tried += 20
    return out


def our_accuracy(spec: ArchSpec, qsd: dict, tiles: dict) -> dict:
    """Pixel accuracy of our int8 simulation on ai8x's tiles: argmax, topk, tied pixels."""
    last = spec.layers()[-1].name
    hits_argmax = hits_topk = ties = total = 0
    for x, y in zip(tiles["x"], tiles["y"], strict=True):
        out = simulate_int8(spec, qsd, x.astype(np.int64))[last]
        logits = unfold(torch.from_numpy(np.asarray(out, dtype=np.float32))[None],
                        spec.fold_ratio)[0]  # C, H, W
        flat = logits.permute(1, 2, 0).reshape(-1, logits.shape[0])
        target = torch.from_numpy(y.astype(np.int64)).reshape(-1)
        top = flat.max(dim=1).values
        ties += int(((flat == top[:, None]).sum(dim=1) > 1).sum())
        hits_argmax += int((flat.argmax(dim=1) == target).sum())
        hits_topk += int((flat.topk(1, 1, True, True).indices[:, 0] == target).sum())
        total += target.numel()
    return {"ours_argmax": 100 * hits_argmax / total, "ours_topk": 100 * hits_topk / total,
            "tied_pct": 100 * ties / total}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--training-dir", type=Path, required=True)
    p.add_argument("--training-python", required=True)
    p.add_argument("--synthesis-dir", type=Path, default=None)
    p.add_argument("--synthesis-python", default=sys.executable)
    p.add_argument("--data", type=Path, required=True,
                   help="CamVid in ai8x's layout (class_dict.csv, train/, test/, ...)")
    p.add_argument("--sampled", type=int, default=3)
    p.add_argument("--space", default="unet_max78000")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=32, help="izer input size of sampled nets")
    p.add_argument("--ai8x-checkpoint", type=Path, default=None,
                   help="trained ai8x-training ai85unetlarge checkpoint to export")
    p.add_argument("--checkpoint", type=Path, action="append", default=[], metavar="PATH",
                   help="also export this trained maxnas checkpoint (repeatable)")
    p.add_argument("--checkpoints-only", action="store_true",
                   help="export the --checkpoint nets alone (no references, sampled or mixed "
                        "nets)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.checkpoints_only and not args.checkpoint:
        p.error("--checkpoints-only needs at least one --checkpoint")
    for path in args.checkpoint:
        if not path.is_file():
            p.error(f"--checkpoint {path}: no such file")
    torch.set_num_threads(1)
    # absolute: train.py and the tile dump run with the overlay as working directory, and
    # quantize.py in the synthesis checkout
    args.out = args.out.resolve()
    for key in ("training_python", "synthesis_python"):
        if os.sep in getattr(args, key):  # a path, not a name looked up on $PATH
            setattr(args, key, str(Path(getattr(args, key)).absolute()))
    args.out.mkdir(parents=True, exist_ok=True)
    data_root = args.out / "data"
    data_root.mkdir(exist_ok=True)
    if not (data_root / "CamVid").exists():
        (data_root / "CamVid").symlink_to(args.data.resolve())

    # (label, spec, izer input size, folded params or None, trained model or None)
    jobs: list[tuple[str, ArchSpec, tuple[int, int], dict | None, Any]] = []
    if not args.checkpoints_only:
        jobs += [
            ("reference ai85unetlarge", get_reference("ai85unetlarge"), (88, 88), None, None),
            ("reference unetmysmall", get_reference("unetmysmall"), (32, 32), None, None),
        ]
        jobs += [(label, spec, (args.size, args.size), None, None)
                 for label, spec in sampled(args.sampled, args.seed, args.size, args.space)]
        jobs.append(("mixed-bit unetmysmall (4/2/1/8)",
                     with_bits_cycle(get_reference("unetmysmall")), (32, 32), None, None))
    for path in args.checkpoint:
        from nas.train import load_checkpoint, model_from_checkpoint

        ckpt = load_checkpoint(path)
        jobs.append((f"trained {path.name}", ckpt["spec"], (88, 88), None,
                     model_from_checkpoint(ckpt)))
    if args.ai8x_checkpoint:
        ref = get_reference("ai85unetlarge")
        # its own name: the untrained reference's module is in models/ too
        spec = ArchSpec.from_dict({**ref.to_dict(), "name": "ai85unetlarge_camvid_trained"})
        sd = torch.load(args.ai8x_checkpoint, map_location="cpu",
                        weights_only=False)["state_dict"]
        jobs.append((f"trained {args.ai8x_checkpoint.name}", spec, (88, 88),
                     layer_params_from_ai8x(spec, sd), None))

    results = []
    exports = []
    for i, (label, spec, size, params, model) in enumerate(jobs):
        res = export(spec, args.out / f"export{i}", params=params, model=model,
                     input_size=size, seed=i, force=True)
        exports.append((label, spec, res))
    if (args.out / "overlay").exists():
        shutil.rmtree(args.out / "overlay")
    overlay = training_overlay(args.training_dir, [r.files["module"] for _, _, r in exports],
                               args.out / "overlay")
    tiles_path = args.out / "tiles.npz"
    if not tiles_path.exists():
        proc = subprocess.run([args.training_python, "-c", _DUMP_TILES, str(data_root),
                               str(tiles_path)], cwd=overlay, capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
    tiles = dict(np.load(tiles_path))

    for i, (label, spec, res) in enumerate(exports):
        logs = args.out / f"logs{i}"
        common = ["--model", res.arch, "--dataset", "CamVid_s352_c3", "--data", str(data_root),
                  "--out-fold-ratio", str(spec.fold_ratio), "--use-bias", "--device",
                  "MAX78000", "--workers", "0", "--deterministic", "--out-dir", str(logs)]
        own = ["--qat-policy", str(res.files["qat_policy"])]
        train = ["--epochs", "1", "--optimizer", "Adam", "--lr", "0.001", "--wd", "0",
                 "--batch-size", "32", "--validation-split", "0", "--compress",
                 "policies/schedule-camvid.yaml"]
        bits = {layer.name: layer.bits for layer in spec.layers()}
        row = {"net": label, "arch": res.arch, "bits": sorted(set(bits.values())),
               "layers": len(bits), "weight_bytes": spec.layer_weight_bytes()}
        t0 = time.time()
        ev = run_train(overlay, ["--evaluate", *common, *own, "--exp-load-weights-from",
                                 str(res.files["float"])], args.training_python)
        row["eval_float"], row["top1_float"] = ev.ok, ev.top1
        ev8 = run_train(overlay, ["--evaluate", "-8", *common, "--qat-policy",
                                  "policies/qat_policy_camvid.yaml", "--exp-load-weights-from",
                                  str(res.files["quantized"])], args.training_python)
        row["eval_int8_stock_policy"], row["top1_int8"] = ev8.ok, ev8.top1
        for key, start in (("fine_tune", ["--exp-load-weights-from", str(res.files["float"])]),
                           ("resume", ["--resume-from", str(res.files["float"]),
                                       "--reset-optimizer"])):
            run = run_train(overlay, [*train, *common, *own, *start], args.training_python)
            saved = sorted(run.log_dir.glob("*checkpoint.pth.tar")) if run.log_dir else []
            kept = False
            if saved:
                sd = torch.load(saved[0], map_location="cpu", weights_only=False)["state_dict"]
                kept = {n: int(sd[f"{n}.weight_bits"].item()) for n in bits} == bits
            row[key] = run.ok
            row[f"{key}_bits_kept"] = kept
            if not run.ok:
                row[f"{key}_error"] = run.output.strip().splitlines()[-1][:200]
        if args.synthesis_dir:
            q = args.out / f"quantize{i}.pth.tar"
            env = {k: v for k, v in os.environ.items()
                   if k != "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"}
            proc = subprocess.run([args.synthesis_python, "quantize.py", str(res.files["float"]),
                                   str(q), "--device", "MAX78000"], cwd=args.synthesis_dir,
                                  capture_output=True, text=True, env=env)
            same = proc.returncode == 0
            if same:
                theirs = torch.load(q, weights_only=True)["state_dict"]
                ours = torch.load(res.files["quantized"], weights_only=True)["state_dict"]
                same = set(theirs) <= set(ours) and all(
                    torch.equal(v, ours[k]) for k, v in theirs.items())
            row["quantize_py_equal"] = same
        qsd = torch.load(res.files["quantized"], weights_only=True)["state_dict"]
        row.update(our_accuracy(spec, qsd, tiles))
        row["seconds"] = round(time.time() - t0)
        print(json.dumps(row), flush=True)
        results.append(row)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results, len(tiles["y"])))
    return 0


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"  # None: train.py failed (see its error)


def table(rows: list[dict], n_tiles: int) -> str:
    def yes(v) -> str:
        return "yes" if v else "NO"

    lines = ["| net | bits | evaluate float | evaluate -8 (stock policy) | fine-tune 1 ep "
             "(bits kept) | resume (bits kept) | quantize.py == ours | Top-1 -8 | ours argmax "
             "| ours topk | tied pixels |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['net']} (`{r['arch']}`) | {'/'.join(map(str, r['bits']))} | "
            f"{yes(r['eval_float'])} | {yes(r['eval_int8_stock_policy'])} | "
            f"{yes(r['fine_tune'])} ({yes(r['fine_tune_bits_kept'])}) | "
            f"{yes(r['resume'])} ({yes(r['resume_bits_kept'])}) | "
            f"{yes(r.get('quantize_py_equal')) if 'quantize_py_equal' in r else 'not run'} | "
            f"{_num(r['top1_int8'])} | {r['ours_argmax']:.3f} | {r['ours_topk']:.3f} | "
            f"{r['tied_pct']:.1f} % |")
    lines.append(f"\n({n_tiles} test tiles of 352x352.)")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
