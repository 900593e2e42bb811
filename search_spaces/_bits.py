"""Weight bits a layer group may take: the chip's choices, the default, and the
``--weight-bits`` flag (see "Weight bits" in ``docs/search_space.md``)."""

from __future__ import annotations

WEIGHT_BITS_CHOICES = (8, 4, 2, 1)  # weight widths the chip runs, widest first
DEFAULT_WEIGHT_BITS = (8, 4)  # 2 and 1 bits opt-in (BENCHMARKS.md, "Mixed-precision weights")


def validate_weight_bits(bits: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """``bits`` as a tuple, or ``ValueError`` naming the value and the rule."""
    bits = tuple(bits)
    if not bits:
        raise ValueError(f"weight bits must name at least one of {WEIGHT_BITS_CHOICES}, "
                         f"but got none")
    bad = [b for b in bits if b not in WEIGHT_BITS_CHOICES]
    if bad:
        raise ValueError(f"weight bits must be chosen from {WEIGHT_BITS_CHOICES} (the chip "
                         f"runs 8-, 4-, 2- and 1-bit weights), but got {bad[0]}")
    if len(set(bits)) != len(bits):
        raise ValueError(f"weight bits must not repeat, but got {list(bits)}")
    return bits


def parse_weight_bits(text: str) -> tuple[int, ...]:
    """``"8,4,2"`` -> ``(8, 4, 2)`` (the ``--weight-bits`` flag), ``ValueError`` if bad."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    try:
        bits = tuple(int(t) for t in items)
    except ValueError:
        raise ValueError(f"weight bits must be a comma-separated list of "
                         f"{WEIGHT_BITS_CHOICES}, but got {text!r}") from None
    return validate_weight_bits(bits)

