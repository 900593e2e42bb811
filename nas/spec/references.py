"""Reference architectures, as specs: they stand on every Pareto front.

- ``ai85unetlarge``: ai8x-training's CamVid U-Net (``models/ai85net-unet.py``), layer for layer:
  278,176 weights + 908 biases for 4 classes.
- ``unetmysmall``: the hand-crafted small U-Net ported to MAX78000 with full convolutions
  (each depthwise-separable block becomes a k x k conv in->in plus a 1x1): 110,016 weights + 888
  biases for 4 classes.
- ``unetmysmall-x86``: the original depthwise-separable version with affine BN; 43,056 PyTorch
  parameters; runs on MAX78002 only (depthwise convolution).
"""

from __future__ import annotations

from collections.abc import Callable

from nas.spec._arch import ArchSpec, ConvSpec, DecoderLevel, EncoderLevel


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


REFERENCES: dict[str, Callable[[int], ArchSpec]] = {
    "ai85unetlarge": ai85unetlarge,
    "unetmysmall": unetmysmall,
    "unetmysmall-x86": unetmysmall_x86,
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
