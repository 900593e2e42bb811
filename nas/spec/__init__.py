"""Architecture spec: the bottom layer every other package builds on (no torch here)."""

from nas.spec._arch import (
    FOLD_RATIOS,
    KERNEL_SIZES,
    MAX_DEPTH,
    MIN_DEPTH,
    SCHEMA_VERSION,
    WEIGHT_BITS,
    ArchSpec,
    ConvSpec,
    DecoderLevel,
    EncoderLevel,
    Layer,
    width_packs_evenly,
    width_rule_ok,
)
from nas.spec._input import DEFAULT_INPUT_SIZE, crop_size, input_size
from nas.spec.references import (
    REFERENCES,
    get_reference,
    list_references,
    with_bits_cycle,
    with_inner_bits,
)

__all__ = [
    "ArchSpec",
    "ConvSpec",
    "DEFAULT_INPUT_SIZE",
    "DecoderLevel",
    "EncoderLevel",
    "FOLD_RATIOS",
    "KERNEL_SIZES",
    "Layer",
    "MAX_DEPTH",
    "MIN_DEPTH",
    "REFERENCES",
    "SCHEMA_VERSION",
    "WEIGHT_BITS",
    "crop_size",
    "get_reference",
    "input_size",
    "list_references",
    "width_packs_evenly",
    "width_rule_ok",
    "with_bits_cycle",
    "with_inner_bits",
]
