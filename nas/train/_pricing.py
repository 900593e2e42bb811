"""What the ``full`` recipe charges for low-bit weights, for presets too short to learn them.

A short proxy cannot train low-bit weights: with 2 quantisation-aware epochs at its end the
proxy scored ai85unetlarge at 4 inner bits 0.33 val mIoU against 0.80 at 8 (a fresh LR
warm-up for the QAT phase: 0.52-0.53), while 20 QAT epochs of ``full`` cost 4-bit nets almost
nothing (BENCHMARKS.md, "Low-bit weights priced as the full recipe prices them"). So a preset
with ``low_bit_pricing`` trains a low-bit net in float, exactly as its 8-bit twin, and scores

    miou = measured float miou - sum over widths b of FULL_RECIPE_PENALTY[b] * share_b

where ``share_b`` is the share of the net's weights at ``b`` bits (:func:`weight_share`). A
preset whose 8-bit nets train quantisation-aware too (``medium``) trains the priced net's 8-bit
twin (:func:`eight_bit_twin`) the same way, so in every preset a priced net's training is its
8-bit twin's.
``FULL_RECIPE_PENALTY`` is fitted on full-recipe rows (``python -m benchmarks.bits_fidelity
--report``: least squares of each (net, width)'s mean penalty over seeds on its share, checked
leave one net out). A width without a fitted penalty is not priced: such a net trains its
``low_bit_qat_epochs`` quantisation-aware, as before.
"""

from __future__ import annotations

from typing import Any

from nas.spec import ArchSpec

# mIoU the full recipe loses per unit share of weights at each width, against the same net at
# 8 bits; fitted by `python -m benchmarks.bits_fidelity --report` (BENCHMARKS.md, "Low-bit
# weights priced as the full recipe prices them"). 4 bits: fitted on both references over
# 3 seeds each (val ai85unetlarge 0.840 vs 0.853 at 8 bits, unetmysmall 0.833 vs 0.838);
# 0.007 (seed 0 alone) priced the round-2 headline search, refitted after it ended. 2 bits: not
# priced (one penalty cannot serve both references: -0.018 and -0.304), so such nets train
# their QAT epochs.
FULL_RECIPE_PENALTY: dict[int, float] = {8: 0.0, 4: 0.0095}


def weight_share(spec: ArchSpec) -> dict[int, float]:
    """Share of ``spec``'s weights (no biases) at each width, e.g. ``{8: 0.01, 4: 0.99}``."""
    counts: dict[int, int] = {}
    for layer in spec.layers():
        counts[layer.bits] = counts.get(layer.bits, 0) + layer.weight_count
    total = sum(counts.values())
    return {b: n / total for b, n in sorted(counts.items(), reverse=True) if total}


def is_priced(spec: ArchSpec, penalty: dict[int, float] | None = None) -> bool:
    """Whether every width of ``spec`` has a full-recipe penalty (8-bit nets: trivially)."""
    table = FULL_RECIPE_PENALTY if penalty is None else penalty
    return all(b in table for b in weight_share(spec))


def low_bit_penalty(spec: ArchSpec, penalty: dict[int, float] | None = None) -> float:
    """mIoU the full recipe charges ``spec`` for its low-bit weights (>= 0).

    Raises:
        ValueError: a width of ``spec`` has no fitted penalty (see :func:`is_priced`).
    """
    table = FULL_RECIPE_PENALTY if penalty is None else penalty
    missing = sorted(b for b in weight_share(spec) if b not in table)
    if missing:
        raise ValueError(f"{spec.name}: no full-recipe penalty for {missing}-bit weights; "
                         f"measured widths: {sorted(table)}")
    return sum(table[b] * s for b, s in weight_share(spec).items())


def all_bits_8(value: Any) -> Any:
    """``value`` (a spec's JSON dict) with every ``*bits`` field set to 8."""
    if isinstance(value, dict):
        return {k: 8 if k.endswith("bits") else all_bits_8(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [all_bits_8(v) for v in value]
    return value


def eight_bit_twin(spec: ArchSpec) -> ArchSpec:
    """``spec`` with every layer's weights at 8 bits: the net a priced low-bit net trains as."""
    return ArchSpec.from_dict(all_bits_8(spec.to_dict()))
