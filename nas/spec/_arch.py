"""The architecture spec: a frozen description of a MAX7800x U-Net.

Everything else (hardware model, builder, trainer, exporter, search space) consumes an
:class:`ArchSpec`. It is plain data: it round-trips through JSON and never imports torch.

Topology (depth ``D = len(encoder)``)::

    input (in_channels * fold_ratio**2, H/fold, W/fold)
      -> prep 1x1 convs
      -> encoder level 1 .. D   (level >= 2 starts with a fused 2x2 max-pool; level D = bottleneck)
      -> decoder level D-1 .. 1 (ConvTranspose2d 3x3/2, optional concat with the encoder level,
                                 then convs)
      -> head 1x1 convs
      -> classifier 1x1 conv to num_classes * fold_ratio**2 channels (folded logits)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
KERNEL_SIZES = (1, 3)
WEIGHT_BITS = (1, 2, 4, 8)
FOLD_RATIOS = (1, 2, 4)
BATCHNORM = ("noaffine", "affine", "none")
MIN_DEPTH, MAX_DEPTH = 2, 5


def width_rule_ok(width: int) -> bool:
    """The chip's packing rule for channel counts: multiples of 4 up to 64, of 64 above.

    4 channels share one 32-bit data-memory word; above 64 channels a layer runs in passes of
    64 processors, so widths that fill whole passes waste nothing.
    """
    return width >= 4 and (width % 4 == 0 if width <= 64 else width % 64 == 0)


def width_packs_evenly(width: int) -> bool:
    """Looser rule the chip still runs without padding: equal passes of a multiple of 4.

    ai85unetlarge's 112-channel bottleneck is 2 passes x 56 processors. Hand-made specs may use
    such widths; the search spaces only sample :func:`width_rule_ok` widths.
    """
    passes = -(-width // 64)
    return width >= 4 and width % (4 * passes) == 0


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


@dataclass(frozen=True)
class ConvSpec:
    """One convolution block (conv + BN + optional ReLU, as ai8x's Fused* layers).

    Attributes:
        out: output channels.
        kernel: 1 or 3 (square kernel, stride 1, 'same' padding).
        relu: ReLU after BN (ai8x heads use a last hidden 1x1 without it).
        separable: spatial k x k conv in->in followed by a 1x1 in->out (two chip layers).
        depthwise: the spatial part is depthwise (groups = in); MAX78002 only.
        bits: weight bits (8 default; the chip also runs 1, 2 and 4).
    """

    out: int
    kernel: int = 3
    relu: bool = True
    separable: bool = False
    depthwise: bool = False
    bits: int = 8

    def validate(self, where: str) -> None:
        _check(
            width_packs_evenly(self.out),
            f"{where}.out must be a multiple of 4 up to 64 and split into equal passes of a "
            f"multiple of 4 above 64 (multiples of 64 recommended), but got out={self.out}",
        )
        _check(
            self.kernel in KERNEL_SIZES,
            f"{where}.kernel must be one of {KERNEL_SIZES}, but got kernel={self.kernel}",
        )
        _check(
            self.bits in WEIGHT_BITS,
            f"{where}.bits must be one of {WEIGHT_BITS}, but got bits={self.bits}",
        )
        _check(
            not self.depthwise or self.separable,
            f"{where}.depthwise=True requires separable=True",
        )


@dataclass(frozen=True)
class EncoderLevel:
    """Convs of one encoder level; the level's width is the last conv's ``out``."""

    convs: tuple[ConvSpec, ...]

    @property
    def width(self) -> int:
        return self.convs[-1].out


@dataclass(frozen=True)
class DecoderLevel:
    """ConvTranspose2d 3x3/2 upsampling to ``up`` channels, optional skip concat, then convs."""

    up: int
    convs: tuple[ConvSpec, ...]
    skip: bool = True
    up_bits: int = 8

    @property
    def width(self) -> int:
        return self.convs[-1].out if self.convs else self.up


@dataclass(frozen=True)
class Layer:
    """One chip layer derived from the spec (what ai8x builds and izer maps to a YAML layer).

    ``inputs`` names the producer layers; several names mean channel concatenation in that
    order, an empty tuple means the network input. ``scale`` is the output's spatial
    down-sampling relative to the (folded) network input.
    """

    name: str
    op: str  # "conv2d" | "convtranspose2d"
    in_channels: int
    out_channels: int
    kernel: int
    pool: int  # 0 = none, 2 = 2x2 max-pool stride 2 fused before the conv
    relu: bool
    bn: bool
    bias: bool
    groups: int
    bits: int
    inputs: tuple[str, ...]
    scale: int

    @property
    def padding(self) -> int:
        return 1 if self.kernel == 3 else 0

    @property
    def weight_count(self) -> int:
        """Number of weights (no biases), as izer counts them."""
        return self.in_channels // self.groups * self.out_channels * self.kernel * self.kernel


@dataclass(frozen=True)
class ArchSpec:
    """A MAX7800x U-Net. See the module docstring for the topology."""

    name: str
    num_classes: int
    encoder: tuple[EncoderLevel, ...]
    decoder: tuple[DecoderLevel, ...]
    prep: tuple[ConvSpec, ...] = ()
    head: tuple[ConvSpec, ...] = ()
    in_channels: int = 3
    fold_ratio: int = 4
    classifier_bits: int = 8
    batchnorm: str = "noaffine"
    bias: bool = True
    schema_version: int = field(default=SCHEMA_VERSION)

    def __post_init__(self) -> None:
        self.validate()

    # -- validation ---------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ``ValueError`` naming the field, the rule and the bad value."""
        _check(bool(self.name), "name must be a non-empty string")
        _check(
            self.schema_version == SCHEMA_VERSION,
            f"schema_version must be {SCHEMA_VERSION}, but got {self.schema_version}",
        )
        _check(
            self.num_classes >= 2, f"num_classes must be >= 2, but got {self.num_classes}"
        )
        _check(self.in_channels >= 1, f"in_channels must be >= 1, but got {self.in_channels}")
        _check(
            self.fold_ratio in FOLD_RATIOS,
            f"fold_ratio must be one of {FOLD_RATIOS}, but got fold_ratio={self.fold_ratio}",
        )
        _check(
            MIN_DEPTH <= len(self.encoder) <= MAX_DEPTH,
            f"depth (number of encoder levels incl. the bottleneck) must be between "
            f"{MIN_DEPTH} and {MAX_DEPTH}, but got depth={len(self.encoder)}",
        )
        _check(
            len(self.decoder) == len(self.encoder) - 1,
            f"decoder must have depth-1={len(self.encoder) - 1} levels for depth="
            f"{len(self.encoder)}, but got {len(self.decoder)}",
        )
        _check(
            self.batchnorm in BATCHNORM,
            f"batchnorm must be one of {BATCHNORM}, but got batchnorm={self.batchnorm!r}",
        )
        _check(
            self.classifier_bits in WEIGHT_BITS,
            f"classifier_bits must be one of {WEIGHT_BITS}, but got {self.classifier_bits}",
        )
        for i, c in enumerate(self.prep):
            c.validate(f"prep[{i}]")
            _check(c.kernel == 1, f"prep[{i}].kernel must be 1, but got kernel={c.kernel}")
        for i, c in enumerate(self.head):
            c.validate(f"head[{i}]")
            _check(c.kernel == 1, f"head[{i}].kernel must be 1, but got kernel={c.kernel}")
        for i, lvl in enumerate(self.encoder):
            _check(len(lvl.convs) >= 1, f"encoder[{i}] must have at least one conv")
            for j, c in enumerate(lvl.convs):
                c.validate(f"encoder[{i}].convs[{j}]")
        for i, dec in enumerate(self.decoder):
            _check(
                width_packs_evenly(dec.up),
                f"decoder[{i}].up must be a multiple of 4 (equal passes above 64), "
                f"but got up={dec.up}",
            )
            _check(
                dec.up_bits in WEIGHT_BITS,
                f"decoder[{i}].up_bits must be one of {WEIGHT_BITS}, but got {dec.up_bits}",
            )
            for j, c in enumerate(dec.convs):
                c.validate(f"decoder[{i}].convs[{j}]")

    # -- derived quantities ---------------------------------------------------------------
    @property
    def depth(self) -> int:
        return len(self.encoder)

    @property
    def input_channels(self) -> int:
        """Channels the chip sees: ``in_channels * fold_ratio**2`` (48 for RGB fold 4)."""
        return self.in_channels * self.fold_ratio**2

    @property
    def output_channels(self) -> int:
        """Folded logits: ``num_classes * fold_ratio**2``."""
        return self.num_classes * self.fold_ratio**2

    @property
    def min_input_multiple(self) -> int:
        """Folded input H and W must be multiples of this (one 2x2 pool per level)."""
        return 2 ** (self.depth - 1)

    def layers(self) -> list[Layer]:
        """The chip-level layer list in execution order (no izer copy layers)."""
        bn = self.batchnorm != "none"
        out: list[Layer] = []
        prev: tuple[str, ...] = ()
        ch = self.input_channels

        def conv(name: str, c: ConvSpec, cin: int, inputs: tuple[str, ...], scale: int,
                 pool: int, relu: bool | None = None) -> tuple[str, int]:
            relu = c.relu if relu is None else relu
            if c.separable:
                groups = cin if c.depthwise else 1
                out.append(Layer(f"{name}_dw", "conv2d", cin, cin, c.kernel, pool, True, bn,
                                 self.bias, groups, c.bits, inputs, scale))
                inputs, pool = (f"{name}_dw",), 0
                out.append(Layer(name, "conv2d", cin, c.out, 1, pool, relu, bn, self.bias, 1,
                                 c.bits, inputs, scale))
            else:
                out.append(Layer(name, "conv2d", cin, c.out, c.kernel, pool, relu, bn,
                                 self.bias, 1, c.bits, inputs, scale))
            return name, c.out

        for i, c in enumerate(self.prep):
            name, ch = conv(f"prep{i}", c, ch, prev, 1, 0)
            prev = (name,)
        skips: list[tuple[str, int]] = []
        for i, lvl in enumerate(self.encoder):
            scale = 2**i
            base = "bneck" if i == self.depth - 1 else f"enc{i + 1}"
            for j, c in enumerate(lvl.convs):
                name = base if j == 0 else f"{base}_{j}"
                name, ch = conv(name, c, ch, prev, scale, 2 if (i > 0 and j == 0) else 0)
                prev = (name,)
            skips.append((prev[0], ch))
        for k, dec in enumerate(self.decoder):
            level = self.depth - 1 - k  # 1-based level this decoder stage restores
            scale = 2 ** (level - 1)
            up = f"upconv{level}"
            out.append(Layer(up, "convtranspose2d", ch, dec.up, 3, 0, False, False, self.bias,
                             1, dec.up_bits, prev, scale))
            prev, ch = (up,), dec.up
            if dec.skip:
                skip_name, skip_ch = skips[level - 1]
                prev, ch = (up, skip_name), ch + skip_ch
            for j, c in enumerate(dec.convs):
                name = f"dec{level}" if j == 0 else f"dec{level}_{j}"
                name, ch = conv(name, c, ch, prev, scale, 0)
                prev = (name,)
        for i, c in enumerate(self.head):
            name, ch = conv(f"conv_p{i + 1}", c, ch, prev, 1, 0)
            prev = (name,)
        out.append(Layer("conv", "conv2d", ch, self.output_channels, 1, 0, False, bn,
                         self.bias, 1, self.classifier_bits, prev, 1))
        return out

    def weight_count(self) -> int:
        """Weights (no biases) over all chip layers."""
        return sum(layer.weight_count for layer in self.layers())

    def bias_count(self) -> int:
        """Bias values over all chip layers (0 if the spec has no biases)."""
        return sum(layer.out_channels for layer in self.layers()) if self.bias else 0

    def layer_weight_bytes(self) -> int:
        """Weights x bits / 8 summed over this spec's own layers, in bytes.

        izer's "Weight memory" (``nas.hardware.check(spec).weight_bytes``, the number the search
        and every report call ``weight_bytes``) also counts the copy layers izer inserts for
        concatenations of more than 64 channels; this count does not.
        """
        return sum(layer.weight_count * layer.bits // 8 for layer in self.layers())

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ArchSpec:
        d = dict(d)
        version = d.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"unsupported schema_version={version}; this version of maxnas reads "
                f"{SCHEMA_VERSION}"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(
                f"unknown ArchSpec field(s) {sorted(unknown)}; valid: {sorted(known)}"
            )

        def convs(items: list[dict[str, Any]], where: str) -> tuple[ConvSpec, ...]:
            try:
                return tuple(ConvSpec(**c) for c in items)
            except TypeError as e:
                raise ValueError(f"bad conv in {where}: {e}") from None

        d["prep"] = convs(d.get("prep", []), "prep")
        d["head"] = convs(d.get("head", []), "head")
        d["encoder"] = tuple(
            EncoderLevel(convs(lvl["convs"], f"encoder[{i}]"))
            for i, lvl in enumerate(d.get("encoder", []))
        )
        d["decoder"] = tuple(
            DecoderLevel(**{**lvl, "convs": convs(lvl.get("convs", []), f"decoder[{i}]")})
            for i, lvl in enumerate(d.get("decoder", []))
        )
        try:
            return cls(**d)
        except TypeError as e:
            raise ValueError(f"incomplete ArchSpec: {e}") from None

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> ArchSpec:
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as e:
            raise ValueError(f"cannot read architecture file {p}: {e.strerror}") from None
        try:
            return cls.from_json(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{p} is not valid JSON: {e}") from None
        except ValueError as e:
            raise ValueError(f"{p}: {e}") from None
