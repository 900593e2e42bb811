"""Thin adapter over ``nas.hardware``: feasibility, copy layers, YAML layers, predictions."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any, cast

from nas.export._checkpoint import CopyLayer
from nas.hardware import bias_requests, check, get_device, groups_used, place_biases
from nas.spec import ArchSpec

_YAML_KEYS = ("in_offset", "out_offset", "processors", "output_processors", "operation",
              "kernel_size", "pad", "max_pool", "pool_stride", "activate", "write_gap",
              "in_sequences", "groups", "quantization")


def check_feasible(spec: ArchSpec, device: str, input_size: tuple[int, int]) -> Any:
    """``nas.hardware.check`` with the fakept copy layers; ValueError listing the violations
    when the spec does not fit or no memory plan exists."""
    size = cast("tuple[int, int]", tuple(input_size))
    report = check(spec, device=device, input_size=size, passthrough="fakept")
    h, w = input_size
    if not report.feasible:
        why = "; ".join(v.message for v in report.violations) or "infeasible"
        raise ValueError(f"{spec.name} does not fit {device} at {h}x{w}: {why}")
    if report.plan is None:
        raise ValueError(f"{spec.name}: the hardware model found no memory plan on {device} "
                         f"at {h}x{w}")
    return report


def copy_layers(report: Any) -> tuple[CopyLayer, ...]:
    """The izer copy layers (fakept) and the weight layer each must precede."""
    layers = list(report.layers)
    out = []
    for i, layer in enumerate(layers):
        if getattr(layer, "copy_of", None) is None:
            continue
        if layer.op != "conv2d":
            raise ValueError(f"copy layer {layer.name} is a true passthrough; the exporter "
                             "writes the fakept (1x1 identity conv) variant only")
        after = next((x.name for x in layers[i + 1:] if x.op != "passthrough"), None)
        if after is None:
            raise ValueError(f"copy layer {layer.name} is the last layer")
        out.append(CopyLayer(layer.name, layer.out_channels, after))
    return tuple(out)


def _int(value: Any) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


def yaml_layers(report: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The memory plan as izer YAML layer mappings (masks/offsets as ints) and names."""
    layers, names = [], []
    for planned in report.plan.layers:
        d = planned.yaml_dict()
        names.append(str(d.get("name", planned.name)))
        out = {}
        for key in _YAML_KEYS:
            if key not in d:
                continue
            value = d[key]
            if key in ("in_offset", "out_offset", "processors", "output_processors"):
                value = _int(value)
            out[key] = value
        layers.append(out)
    return layers, names


def bias_bytes_without(report: Any, zero_bias: set[str], device: str) -> int:
    """izer's "Bias memory" when the layers in ``zero_bias`` have all-zero (quantised)
    biases: izer stores none for them (kbias.py), which the weight-blind hardware model cannot
    know. Re-runs the hardware model's bias placement without those layers."""
    if not zero_bias:
        return int(report.bias_bytes)
    dev = get_device(device)
    masks = [(f.processors, f.output_processors) for f in report.figures]
    requests = bias_requests(report.layers, masks, omit=zero_bias)
    result = place_biases(requests, groups_used(masks, dev) or [0], dev)
    return int(sum(result.group_bytes))


def predicted(report: Any, zero_bias: AbstractSet[str] = frozenset(),
              device: str = "") -> dict[str, Any]:
    """What izer's log should say, per our model (bias adjusted for all-zero bias layers)."""
    out: dict[str, Any] = {
        "weight_bytes": int(report.weight_bytes),
        "bias_bytes": int(report.bias_bytes),
        "latency_cycles": None if report.latency_cycles is None else int(report.latency_cycles),
    }
    if zero_bias:
        out["bias_bytes"] = bias_bytes_without(report, set(zero_bias), device or report.device)
        out["bias_bytes_model"] = int(report.bias_bytes)
        out["zero_bias_layers"] = sorted(zero_bias)
    return out
