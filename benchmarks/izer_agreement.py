"""Does the real izer agree with our hardware model and int8 simulation on our exports?

For the references and N feasible architectures sampled from a search space, this exports each
(random weights unless --checkpoint), runs ai8x-synthesis' ``ai8xize.py`` on the export, and
compares izer's log (Weight memory, Bias memory, estimated latency, and the per-layer
"Quadrant with bias" / "Bias offset" lists) with ``nas.hardware.check``, izer's expected
output (``sampleoutput.h``) with our int8 simulation, and re-checks the YAML's memory plan with
the liveness walker. ai8x-synthesis is not part of this repository: pass its
checkout with --synthesis-dir and an interpreter that has its requirements with --python.

    python -m benchmarks.izer_agreement --synthesis-dir ../ai8x-synthesis \\
        --python ../izer-venv/bin/python --sampled 10 --out runs/izer_agreement
    python -m benchmarks.izer_agreement ... --references --sampled 10 --strategy exact
    python -m benchmarks.izer_agreement ... --device MAX78002 \\
        --references unetmysmall-x86 unetmysmall --sampled 10   # space unet_max78002

Mixed-precision weights: ``--mixed-bits N`` adds N more sampled architectures whose layers
get random weight widths from ``--bits-choices`` (first layer and classifier stay 8-bit), and
the low-bit references (``ai85unetlarge-w4``, ``unetmysmall-w4``) can be listed in
``--references``. izer's kernel offsets and lengths (its ``--verbose`` configuration dump)
are compared with ``nas check``'s as well.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import hashlib
import json
import os
import random
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from nas._cli import add_device_argument
from nas.export import (
    check_yaml_liveness,
    compare_sample_output,
    export,
    read_yaml_layers,
    run_izer,
)
from nas.hardware import (
    bias_requests,
    check,
    get_device,
    groups_used,
    place_biases,
)
from nas.spec import ArchSpec, get_reference


def candidates(args: argparse.Namespace) -> list[tuple[str, ArchSpec, int]]:
    """(label, spec, folded input size); references may be given as NAME@SIZE."""
    from search_spaces import get_space, sample_specs

    out = []
    for ref in args.references:
        name, _, size = ref.partition("@")
        out.append((f"reference {name}", get_reference(name), int(size or args.size)))
    space = get_space(args.space)
    feasible: list[tuple[str, ArchSpec, int]] = []
    tried = 0
    while len(feasible) < args.sampled and tried < 200 * max(args.sampled, 1):
        batch = sample_specs(space, 20 * args.sampled, seed=args.seed + tried)
        tried += len(batch)
        for spec in batch:
            report = check(spec, args.device, (args.size, args.size))
            if report.feasible and args.strategy in (None, report.plan.strategy):
                feasible.append((f"sampled #{len(feasible)}", spec, args.size))
            if len(feasible) == args.sampled:
                break
    return out + feasible + mixed_bits_candidates(args)


def random_bits(spec: ArchSpec, rng: random.Random, choices: list[int]) -> ArchSpec:
    """``spec`` with a random weight width per conv (both chip layers of a separable one) and
    per upsampling layer; the first conv and the classifier stay 8-bit."""
    first = True

    def convs(cs):
        nonlocal first
        out = []
        for c in cs:
            out.append(c if first else dataclasses.replace(c, bits=rng.choice(choices)))
            first = False
        return tuple(out)

    prep = convs(spec.prep)
    encoder = tuple(dataclasses.replace(lvl, convs=convs(lvl.convs)) for lvl in spec.encoder)
    decoder = tuple(dataclasses.replace(lvl, up_bits=rng.choice(choices), convs=convs(lvl.convs))
                    for lvl in spec.decoder)
    head = convs(spec.head)
    new = dataclasses.replace(spec, prep=prep, encoder=encoder, decoder=decoder, head=head)
    tag = "".join(str(layer.bits) for layer in new.layers())
    digest = hashlib.sha1(tag.encode()).hexdigest()[:6]
    return dataclasses.replace(new, name=f"{spec.name}-b{digest}")


def mixed_bits_candidates(args: argparse.Namespace) -> list[tuple[str, ArchSpec, int]]:
    """``--mixed-bits`` feasible sampled architectures with random per-layer weight widths."""
    if args.mixed_bits <= 0:
        return []
    from search_spaces import get_space, sample_specs

    rng = random.Random(args.seed)
    space = get_space(args.space)
    out: list[tuple[str, ArchSpec, int]] = []
    tried = 0
    while len(out) < args.mixed_bits and tried < 200 * args.mixed_bits:
        batch = sample_specs(space, 20 * args.mixed_bits, seed=args.seed + 1_000_003 + tried)
        tried += len(batch)
        for spec in batch:
            spec = random_bits(spec, rng, args.bits_choices)
            if check(spec, args.device, (args.size, args.size)).feasible:
                out.append((f"mixed-bit #{len(out)}", spec, args.size))
            if len(out) == args.mixed_bits:
                break
    return out


_KERNEL_LINE = re.compile(r"^Kernel (offset|length)\s*=\s*\[([\d,\s]*)\]", re.M)


def izer_kernel_lists(text: str) -> dict[str, list[int]]:
    """izer's ``Kernel offset = [...]`` / ``Kernel length = [...]`` lines (``--verbose``)."""
    out = {}
    for key, values in _KERNEL_LINE.findall(text):
        out[f"kernel_{key}s"] = [int(v) for v in values.replace(",", " ").split()]
    return out


def izer_bias_layout(log: str) -> dict[str, list] | None:
    """izer's verbose "Quadrant with bias" and "Bias offset" lists from ``log.txt``."""
    out = {}
    for line in log.splitlines():
        key, _, value = line.partition("=")
        key = key.strip()
        if key in ("Quadrant with bias", "Bias offset") and key not in out:
            out[key] = ast.literal_eval(value.strip())
    if len(out) < 2:
        return None
    return {"quadrant": out["Quadrant with bias"], "offsets": out["Bias offset"]}


def our_bias_layout(report, zero_bias: set[str], device: str) -> dict[str, list]:
    """The same lists from the hardware model; layers whose quantised biases are all zero get
    none, as in izer (weight-blind ``check`` cannot know which)."""
    dev = get_device(device)
    masks = [(f.processors, f.output_processors) for f in report.figures]
    placed = place_biases(bias_requests(report.layers, masks, omit=zero_bias),
                          groups_used(masks, dev) or [0], dev)
    quadrant, offsets = [], []
    for layer in report.layers:
        group = placed.layer_group.get(layer.name)
        quadrant.append("all" if group == -1 else group)
        offsets.append(list(placed.layer_offsets.get(layer.name, (None,) * dev.groups)))
    return {"quadrant": quadrant, "offsets": offsets}


def one(label: str, spec: ArchSpec, size: tuple[int, int], args: argparse.Namespace,
        model=None, params=None, sample=None) -> dict:
    work = args.out / spec.name.replace("/", "_")
    shutil.rmtree(work, ignore_errors=True)
    report = check(spec, args.device, size)
    if not report.feasible:  # nothing to give izer: record why
        return {"label": label, "arch": spec.name, "layers": len(report.layers), "size": size[0],
                "trained": model is not None, "izer_rc": None, "izer_seconds": 0.0,
                "predicted": {}, "match": False,
                "error": "; ".join(v.message for v in report.violations)}
    result = export(spec, work / "export", model=model, params=params, sample=sample,
                    device=args.device, input_size=size, seed=args.seed)
    run = run_izer(args.synthesis_dir, result.out_dir, work / "izer", prefix=result.arch,
                   device=args.device, python=args.python)
    row = {
        "label": label, "arch": spec.name, "layers": len(report.layers), "size": size[0],
        "depthwise": sum(layer.groups > 1 for layer in report.layers),
        "trained": result.trained, "izer_rc": run.returncode,
        "izer_seconds": round(run.seconds, 1),
        # the export's prediction: check()'s figures, bias minus all-zero-bias layers
        "predicted": {k: result.predicted[args.device][k]
                      for k in ("weight_bytes", "bias_bytes", "latency_cycles")},
        "check_bias_bytes": report.bias_bytes,
        "zero_bias_layers": result.predicted[args.device].get("zero_bias_layers", []),
    }
    if run.log is None:
        row["error"] = run.stdout.strip().splitlines()[-1:] if run.stdout.strip() else []
        row["match"] = False
        return row
    row["izer"] = {"weight_bytes": run.log.weight_bytes, "bias_bytes": run.log.bias_bytes,
                   "latency_cycles": run.log.latency_cycles}
    row["match"] = row["izer"] == row["predicted"]
    izer_layout = izer_bias_layout((run.out_dir / "log.txt").read_text())
    ours = our_bias_layout(report, set(row["zero_bias_layers"]), args.device)
    row["bias_layout"] = None if izer_layout is None else {
        "layers": len(ours["offsets"]),
        "quadrant_differ": _differ(izer_layout["quadrant"], ours["quadrant"]),
        "offsets_differ": _differ(izer_layout["offsets"], ours["offsets"]),
    }
    row["match"] = row["match"] and izer_layout is not None and not (
        row["bias_layout"]["quadrant_differ"] or row["bias_layout"]["offsets_differ"])
    if run.log.layer_cycles and report.layer_cycles:
        row["layer_cycles_match"] = list(run.log.layer_cycles) == list(report.layer_cycles)
    log_path = run.out_dir / "log.txt"
    kernels = izer_kernel_lists(run.stdout + (log_path.read_text() if log_path.exists() else ""))
    if kernels:
        ours = {"kernel_offsets": list(report.kernel_offsets),
                "kernel_lengths": list(report.kernel_lengths)}
        row["kernels_match"] = all(kernels.get(k) == v for k, v in ours.items())
        if not row["kernels_match"]:
            row["kernels"] = {"izer": kernels, "ours": ours}
    row["bits"] = "".join(str(layer.bits) for layer in spec.layers())
    layers = read_yaml_layers(result.files["yaml"].read_text())
    qsd = torch.load(result.files["quantized"], weights_only=True)["state_dict"]
    names = [k[: -len(".op.weight")] for k in qsd if k.endswith(".op.weight")]
    ops = {layer.name: layer.op for layer in report.layers}
    channels = [qsd[f"{n}.op.weight"].shape[1 if ops.get(n) == "convtranspose2d" else 0]
                for n in names]
    row["liveness_problems"] = check_yaml_liveness(
        layers, channels, (spec.input_channels, *size), args.device)
    last = layers[-1]
    cmp = compare_sample_output(np.load(result.files["expected"]),
                                run.out_dir / "sampleoutput.h",
                                int(last["output_processors"]), int(last["out_offset"]),
                                int(last.get("write_gap", 0)), args.device)
    row["sim"] = {"compared": cmp.values_compared, "total": cmp.values_total,
                  "mismatches": cmp.mismatches, "first_mismatch": cmp.first_mismatch}
    return row


def _differ(a: list, b: list) -> int:
    """Layers whose entries differ (a length mismatch counts the extra layers)."""
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


def _layout_text(r: dict) -> str:
    b = r.get("bias_layout")
    if not b:
        return "-"
    if not b["quadrant_differ"] and not b["offsets_differ"]:
        return f"{b['layers']}/{b['layers']} equal"
    return f"{b['quadrant_differ']} quadrant, {b['offsets_differ']} offset rows differ"


def table(rows: list[dict]) -> str:
    head = ("| architecture | layers (depthwise) | input | weights | "
            "Weight memory (izer / ours) | Bias memory (izer / ours) | "
            "Bias offset + Quadrant with bias per layer | "
            "latency cycles (izer / ours) | izer s | match | int8 sim = sampleoutput.h | "
            "liveness | kernel offsets/lengths |")
    lines = [head, "|" + "---|" * head.count(" |")]
    for r in rows:
        if r["izer_rc"] is None:
            lines.append(f"| {r['label']}: `{r['arch']}` | {r['layers']} | {r['size']} | - | "
                         f"infeasible in our model: {r['error'][:120]} | | | | | | | |")
            continue
        p = r["predicted"]
        z = r.get("izer", {})

        def pair(key: str, z=z, p=p) -> str:
            a, b = z.get(key), p.get(key)
            fa = "-" if a is None else f"{a:,}"
            fb = "-" if b is None else f"{b:,}"
            return fa if a == b else f"{fa} / {fb}"

        sim = r.get("sim")
        sim_s = (f"{sim['compared']:,}/{sim['total']:,} equal" if sim and not sim["mismatches"]
                 else (f"{sim['mismatches']:,} differ" if sim else "-"))
        kern = {True: "equal", False: "DIFFER", None: "-"}[r.get("kernels_match")]
        live = "ok" if r.get("liveness_problems") == [] else (
            "-" if "liveness_problems" not in r else f"{len(r['liveness_problems'])} problems")
        lines.append(
            f"| {r['label']}: `{r['arch']}` | {r['layers']} ({r.get('depthwise', 0)}) | "
            f"{r['size']}x{r['size']} | "
            f"{'trained' if r['trained'] else 'random'} | {pair('weight_bytes')} | "
            f"{pair('bias_bytes')} | {_layout_text(r)} | {pair('latency_cycles')} | "
            f"{r['izer_seconds']} | "
            f"{'yes' if r['match'] else 'NO'} | {sim_s} | {live} | {kern} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synthesis-dir", type=Path,
                   default=os.environ.get("AI8X_SYNTHESIS_DIR"), required=False,
                   help="ai8x-synthesis checkout (default $AI8X_SYNTHESIS_DIR)")
    p.add_argument("--python", default=os.environ.get("AI8X_PYTHON", sys.executable),
                   help="interpreter with izer's requirements (default $AI8X_PYTHON)")
    p.add_argument("--references", nargs="*", default=["ai85unetlarge", "unetmysmall"],
                   help="reference names, optionally NAME@SIZE (default size: --size)")
    p.add_argument("--sampled", type=int, default=10, help="sampled feasible architectures")
    p.add_argument("--strategy", default=None, choices=("ai8x", "spread", "exact"),
                   help="only sample architectures whose data-memory plan this planner made "
                        "(exact: the greedy planner found none)")
    p.add_argument("--space", default=None,
                   help="search space to sample (default: unet_max78002 for --device MAX78002, "
                        "else unet_max78000)")
    p.add_argument("--mixed-bits", type=int, default=0, metavar="N",
                   help="also N sampled architectures with random per-layer weight widths")
    p.add_argument("--bits-choices", type=lambda t: [int(b) for b in t.split(",")],
                   default=[8, 4, 2, 1], metavar="B,B,..",
                   help="weight widths --mixed-bits draws from (default 8,4,2,1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=88, help="folded input size (default 88)")
    add_device_argument(p)
    p.add_argument("--checkpoint", action="append", default=[], metavar="PATH[@SIZE]",
                   help="also export and run this trained maxnas checkpoint (repeatable)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="CamVid for the trained checkpoints' sample (a real val crop); "
                        "default: a synthetic sample")
    p.add_argument("--ai8x-checkpoint", nargs=3, action="append", default=[],
                   metavar=("REFERENCE", "CHECKPOINT", "SAMPLE"),
                   help="also export trained ai8x weights of a reference (BN fused, e.g. "
                        "trained/ai85-camvid-unet-large.pth.tar) with a sample .npy")
    p.add_argument("--out", type=Path, default=Path("runs/izer_agreement"))
    args = p.parse_args(argv)
    if args.synthesis_dir is None:
        p.error("--synthesis-dir (or $AI8X_SYNTHESIS_DIR) is required")
    if args.space is None:
        args.space = "unet_max78002" if args.device == "MAX78002" else "unet_max78000"
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for ref, ckpt_path, sample_path in args.ai8x_checkpoint:
        from nas.export import layer_params_from_ai8x

        spec = get_reference(ref)
        sd = torch.load(ckpt_path, map_location="cpu", weights_only=False)["state_dict"]
        sample = np.load(sample_path)
        jobs.append((f"trained ai8x {Path(ckpt_path).name}", spec, sample.shape[1], None,
                     layer_params_from_ai8x(spec, sd), sample))
    jobs += [(label, spec, size, None, None, None) for label, spec, size in candidates(args)]
    for item in args.checkpoint:
        from nas.export import camvid_sample
        from nas.train import load_checkpoint, model_from_checkpoint

        path, _, size_text = item.partition("@")
        size = int(size_text or args.size)
        ckpt = load_checkpoint(path)
        sample = None
        if args.data_dir is not None:
            sample = camvid_sample(ckpt["spec"], ckpt["task"], (size, size), args.data_dir)
        jobs.append((f"trained {Path(path).name}", ckpt["spec"], size,
                     model_from_checkpoint(ckpt), None, sample))
    rows = []
    start = time.time()
    for label, spec, size, model, params, sample in jobs:
        row = one(label, spec, (size, size), args, model, params, sample)
        rows.append(row)
        print(json.dumps(row), flush=True)
    (args.out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    print()
    print(table(rows))
    (args.out / "table.md").write_text(table(rows) + "\n")
    ok = all(r["match"] and r.get("liveness_problems") == [] and r.get("sim", {}).get(
        "mismatches", 1) == 0 and r.get("kernels_match", True) for r in rows)
    print(f"\n{len(rows)} architectures, {sum(r['match'] for r in rows)} match, "
          f"{time.time() - start:.0f} s total")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
