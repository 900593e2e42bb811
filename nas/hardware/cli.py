"""``python -m nas check``: what izer would say about an architecture, before training it."""

from __future__ import annotations

import argparse
import json
import sys

from nas._cli import SubParsers, add_device_argument, add_input_size, num_classes
from nas.hardware._check import check
from nas.hardware._layers import PASSTHROUGH_MODES
from nas.hardware._report import HardwareReport
from nas.spec import ArchSpec, get_reference, list_references


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "check",
        help="check an architecture against MAX78000/MAX78002 limits (izer's rules)",
        description="Kernel, bias and data memory, memory plan and latency of an architecture, "
                    "as ai8x-synthesis (izer) would report them. Exit code 0 = feasible, "
                    "1 = infeasible, 2 = bad input.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("arch", nargs="?", metavar="ARCH.json", help="architecture spec (JSON)")
    src.add_argument("--reference", metavar="NAME",
                     help=f"a built-in reference: {', '.join(list_references())}")
    p.add_argument("--num-classes", type=num_classes, default=4,
                   help="classes of a --reference (default 4)")
    add_device_argument(p)
    add_input_size(p)
    p.add_argument("--passthrough", default="fakept", choices=PASSTHROUGH_MODES,
                   help="copy layer of >64-channel concats: ai8x's 1x1 'fakept' conv "
                        "(default) or izer's real passthrough")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.reference:
        spec = get_reference(args.reference, args.num_classes)
    else:
        spec = ArchSpec.load(args.arch)
    report = check(spec, args.device, tuple(args.input_size), args.passthrough)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_report(report, spec.name, spec))
    return 0 if report.feasible else 1


def format_report(report: HardwareReport, name: str = "", spec: ArchSpec | None = None) -> str:
    """The per-layer table and totals, as text (``spec`` explains the copy layers' bytes)."""
    plan = {p.name: p for p in report.plan.layers} if report.plan is not None else {}
    head = (f"{'#':>2} {'layer':<12} {'op':<6} {'in->out':>9} {'HxW out':>7} "
            f"{'processors':>18} {'out processors':>18} {'kern':>4} {'len':>4} {'bias':>4} "
            f"{'B':>4} {'in B':>6} {'out B':>6} {'in_off':>6} {'out_off':>7} {'gap':>3} "
            f"{'cycles':>9}")
    lines = [f"{name} on {report.device}, input {report.input_size[0]}x{report.input_size[1]}, "
             + _copy_layers_text(report.passthrough), head, "-" * len(head)]
    ops = {"conv2d": "conv", "convtranspose2d": "convT", "passthrough": "pass"}
    for i, (layer, f) in enumerate(zip(report.layers, report.figures, strict=True)):
        p = plan.get(layer.name)
        in_off = f"{p.in_offset:#06x}" if p else "-"
        out_off = f"{p.out_offset:#06x}" if p else "-"
        group = "-" if f.bias_group is None else ("all" if f.bias_group < 0 else f.bias_group)
        lines.append(
            f"{i:>2} {layer.name:<12} {ops.get(layer.op, layer.op):<6} "
            f"{f'{layer.in_channels}->{layer.out_channels}':>9} "
            f"{f'{layer.out_hw[0]}x{layer.out_hw[1]}':>7} "
            f"{f.processors:#018x} {f.output_processors:#018x} {f.kernel_offset:>4} "
            f"{f.kernel_length:>4} {group:>4} {f.bias_bytes:>4} {f.in_bytes:>6} {f.out_bytes:>6} "
            f"{in_off:>6} {out_off:>7} "
            f"{(p.write_gap if p else '-'):>3} {('-' if f.cycles is None else f'{f.cycles:,}'):>9}"
        )
    r = report
    lines += [
        "",
        f"Weight memory: {r.weight_bytes:,} bytes out of {r.weight_bytes_total:,} bytes total "
        f"({100 * r.weight_bytes / r.weight_bytes_total:.1f}%); kernel columns used up to "
        f"{r.kernel_peak} of {r.kernel_words}",
    ]
    copies = r.weight_bytes - spec.layer_weight_bytes() if spec is not None else 0
    if copies:
        lines.append(f"               (weight_bytes: weights x bits / 8; {copies:,} of them are "
                     f"izer's copy layers for > 64-channel concats)")
    lines += [
        f"Bias memory:   {r.bias_bytes:,} bytes out of {r.bias_bytes_total:,} bytes total "
        f"({100 * r.bias_bytes / r.bias_bytes_total:.1f}%); per group {r.bias_groups}",
        f"Param bytes:   {r.param_bytes:,} bytes = Weight + Bias memory (param_bytes: the "
        f"search's bytes objective)",
    ]
    if r.latency_cycles is not None:
        lines.append(f"Latency:       {r.latency_cycles:,} cycles = {r.latency_ms:.2f} ms at "
                     f"{r.cnn_clock_hz / 1e6:g} MHz")
    else:
        lines.append("Latency:       not estimated (izer has no latency model for "
                     f"{r.device})" if not r.violations else "Latency:       -")
    if r.plan is not None:
        lines.append(f"Memory plan:   {len(r.plan.layers)} layers, input at "
                     f"{r.plan.input_offset:#06x} ({r.plan.strategy} processor layout)")
    if r.feasible:
        lines.append("Feasible:      yes")
    else:
        lines.append(f"Feasible:      NO ({len(r.violations)} violation(s))")
        lines += [f"  - {v.message}" for v in r.violations]
    return "\n".join(lines) + "\n"


def _copy_layers_text(passthrough: str) -> str:
    """How the copy layers before > 64-channel concatenations run, in words."""
    if passthrough == "fakept":
        return "copy layers as 1x1 identity convolutions (izer's fakept passthrough)"
    return "copy layers as izer passthrough layers (no weights)"
