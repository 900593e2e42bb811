"""Reference architectures, as specs: they stand on every Pareto front.

- ``ai85unetlarge``: ai8x-training's CamVid U-Net (``models/ai85net-unet.py``), layer for layer:
  278,176 weights + 908 biases for 4 classes.
- ``unetmysmall``: the hand-crafted small U-Net ported to MAX78000 with full convolutions
  (each depthwise-separable block becomes a k x k conv in->in plus a 1x1): 110,016 weights + 888
  biases for 4 classes.
- ``unetmysmall-x86``: the original depthwise-separable version with affine BN; 43,056 PyTorch
  parameters; runs on MAX78002 only (depthwise convolution).
- ``ai85unetlarge-w4``, ``unetmysmall-w4``: the same nets with every inner layer's weights at
  4 bits; the first layer and the classifier stay 8-bit, as every ai8x QAT policy keeps them.
  Weight memory 142,672 B and 57,952 B instead of 278,176 B and 110,016 B (4 classes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from nas.spec._arch import WEIGHT_BITS, ArchSpec, ConvSpec, DecoderLevel, EncoderLevel


def _c(out: int, kernel: int = 3, **kw: object) -> ConvSpec:
    return ConvSpec(out, kernel, **kw)  # type: ignore[arg-type]


def ai85unetlarge(num_classes: int = 4) -> ArchSpec:
    return ArchSpec(
        name="ai85unetlarge",
        num_classes=num_classes,
        prep=(_c(64, 1), _c(64, 1), _c(32, 1)),
        encoder=tuple(EncoderLevel((_c(w),)) for w in (8, 28, 56, 112)),
        decoder=(
            DecoderLevel(56, (_c(56),)),
            DecoderLevel(28, (_c(28),)),
            DecoderLevel(8, (_c(48), _c(64))),
        ),
        head=(_c(64, 1), _c(64, 1), _c(64, 1, relu=False)),
    )


def _mysmall(name: str, num_classes: int, depthwise: bool, batchnorm: str) -> ArchSpec:
    def s(out: int, kernel: int = 3) -> ConvSpec:
        return ConvSpec(out, kernel, separable=True, depthwise=depthwise)

    return ArchSpec(
        name=name,
        num_classes=num_classes,
        prep=(s(32, 1), s(32, 1), s(16, 1)),
        encoder=tuple(EncoderLevel((s(w),)) for w in (8, 16, 32, 64)),
        decoder=(
            DecoderLevel(32, (s(32),)),
            DecoderLevel(16, (s(16),)),
            DecoderLevel(8, (s(16), s(32))),
        ),
        head=(s(32, 1), s(32, 1), _c(32, 1, relu=False)),
        batchnorm=batchnorm,
    )


def unetmysmall(num_classes: int = 4) -> ArchSpec:
    return _mysmall("unetmysmall", num_classes, depthwise=False, batchnorm="noaffine")


def unetmysmall_x86(num_classes: int = 4) -> ArchSpec:
    return _mysmall("unetmysmall-x86", num_classes, depthwise=True, batchnorm="affine")


def with_inner_bits(spec: ArchSpec, bits: int, name: str | None = None) -> ArchSpec:
    """``spec`` with every inner layer's weights at ``bits``.

    Inner = every conv and upsampling layer except the first conv (``prep[0]``, or the first
    encoder conv without prep; both chip layers of a separable one) and the classifier
    (``classifier_bits``), which stay as they are: the input and the logits are where
    low-bit weights cost the most accuracy, and every ai8x QAT policy keeps them at 8 bits.

    Raises:
        ValueError: ``bits`` is not a weight width the chip runs (1, 2, 4, 8).
    """
    if bits not in WEIGHT_BITS:
        raise ValueError(f"bits must be one of {WEIGHT_BITS} (the weight widths the chip "
                         f"runs), but got bits={bits}")

    def convs(cs: tuple[ConvSpec, ...], keep_first: bool = False) -> tuple[ConvSpec, ...]:
        return tuple(c if keep_first and i == 0 else dataclasses.replace(c, bits=bits)
                     for i, c in enumerate(cs))

    first_in_prep = bool(spec.prep)
    encoder = tuple(
        EncoderLevel(convs(lvl.convs, keep_first=i == 0 and not first_in_prep))
        for i, lvl in enumerate(spec.encoder)
    )
    decoder = tuple(dataclasses.replace(lvl, up_bits=bits, convs=convs(lvl.convs))
                    for lvl in spec.decoder)
    return dataclasses.replace(
        spec, name=name or spec.name, prep=convs(spec.prep, keep_first=True),
        encoder=encoder, decoder=decoder, head=convs(spec.head),
    )


def ai85unetlarge_w4(num_classes: int = 4) -> ArchSpec:
    return with_inner_bits(ai85unetlarge(num_classes), 4, "ai85unetlarge-w4")


def unetmysmall_w4(num_classes: int = 4) -> ArchSpec:
    return with_inner_bits(unetmysmall(num_classes), 4, "unetmysmall-w4")


REFERENCES: dict[str, Callable[[int], ArchSpec]] = {
    "ai85unetlarge": ai85unetlarge,
    "unetmysmall": unetmysmall,
    "unetmysmall-x86": unetmysmall_x86,
    "ai85unetlarge-w4": ai85unetlarge_w4,
    "unetmysmall-w4": unetmysmall_w4,
}


def get_reference(name: str, num_classes: int = 4) -> ArchSpec:
    """Reference spec by name; unknown names list the valid ones."""
    try:
        factory = REFERENCES[name]
    except KeyError:
        raise ValueError(
            f"unknown reference {name!r}; available: {sorted(REFERENCES)}"
        ) from None
    return factory(num_classes)


def list_references() -> list[str]:
    return sorted(REFERENCES)


def with_bits_cycle(spec: ArchSpec, widths: tuple[int, ...] = (4, 2, 1, 8),
                    up_bits: int = 4) -> ArchSpec:
    """``spec`` with every conv's weight width taken in turn from ``widths`` (prep, head,
    encoder, decoder order) and every upsampling layer at ``up_bits``; named ``<name>_mixed``.
    A deterministic mixed-bit net for export and round-trip checks (it need not fit a chip)."""
    d = spec.to_dict()
    cycle = iter(list(widths) * (len(spec.layers()) + 1))
    for part in ("prep", "head"):
        for conv in d.get(part) or []:
            conv["bits"] = next(cycle)
    for level in d["encoder"] + d["decoder"]:
        for conv in level["convs"]:
            conv["bits"] = next(cycle)
    for level in d["decoder"]:
        level["up_bits"] = up_bits
    return ArchSpec.from_dict({**d, "name": f"{spec.name}_mixed"})
