"""The izer network description (``<name>.yaml``), written from the hardware memory plan.

The text mirrors ai8x-synthesis' own network files: masks as 64-bit hex, offsets as hex bytes,
one commented block per izer layer. Only keys izer's ``yamlcfg.py`` accepts are written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

# Output order of the per-layer keys (izer ignores order; people read it in this one).
_KEY_ORDER = (
    "in_offset", "out_offset", "processors", "output_processors", "operation", "kernel_size",
    "pad", "max_pool", "pool_stride", "activate", "write_gap", "in_sequences", "output_shift",
    "output_width", "data_format", "groups", "quantization",
)
_MASK_KEYS = {"processors", "output_processors"}
_OFFSET_KEYS = {"in_offset", "out_offset"}


def _value(key: str, value: Any) -> str:
    if key in _MASK_KEYS:
        return f"0x{int(value):016x}"
    if key in _OFFSET_KEYS:
        return f"0x{int(value):04x}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(int(v)) for v in value) + "]"
    if value is None:
        return "None"
    return str(value)


def render_yaml(
    arch: str,
    dataset: str,
    layers: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    header: str = "",
) -> str:
    """izer YAML text.

    Args:
        arch: must equal the checkpoint's ``arch``.
        dataset: izer's ``dataset`` key (only picks a default sample; we pass one explicitly).
        layers: per izer layer, a mapping of YAML keys to values (masks and offsets as ints).
        names: a name per layer, written as a comment.
        header: comment lines put at the top.
    """
    if len(layers) != len(names):
        raise ValueError(f"got {len(layers)} layers but {len(names)} names")
    unknown = {k for layer in layers for k in layer} - set(_KEY_ORDER)
    if unknown:
        raise ValueError(f"unknown izer YAML key(s) {sorted(unknown)}; known: {_KEY_ORDER}")
    out = ["---"]
    out += [f"# {line}".rstrip() for line in header.splitlines()]
    out += ["", f"arch: {arch}", f"dataset: {dataset}", "", "layers:"]
    for i, (layer, name) in enumerate(zip(layers, names, strict=True)):
        out.append(f"  # Layer {i}: {name}")
        first = True
        for key in _KEY_ORDER:
            if key not in layer:
                continue
            out.append(f"  {'- ' if first else '  '}{key}: {_value(key, layer[key])}")
            first = False
    text = "\n".join(out) + "\n"
    yaml.safe_load(text)  # fail here, not in izer, if the text is not YAML
    return text


def read_yaml_layers(text: str) -> list[dict[str, Any]]:
    """The ``layers`` list of an izer YAML (masks and offsets come back as ints)."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise ValueError("not an izer network YAML: no 'layers' list")
    return data["layers"]
