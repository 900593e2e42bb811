"""U-Net search spaces for the MAX7800x: an Optuna trial -> :class:`~nas.spec.ArchSpec`.

**Encoding.** Every trial draws the same fixed-length vector of parameters, whatever its
depth, number of prep/head layers or convs: parameters of levels below the sampled depth (and
of convs, prep and head layers not used) are drawn and ignored. Each name has one distribution
in every trial, widths are ordered int indices into the width ladder, and a data-memory cap
squeezes an index instead of renaming the parameter. So model-based samplers (multivariate
TPE, GP) see every parameter of every trial and can learn that "index 11 beat index 3". Only
two kinds of single-valued flags are conditional (``<name>_per_pass``, ``*_unfit``, below);
samplers always draw their one value.

=================================  ============================================================
``fold_ratio``                     categorical over ``fold_ratios`` (only 4 by default)
``batchnorm``                      only if ``batchnorms`` has several choices
``n_prep``                         0..``max_prep`` 1x1 "prep" layers at full resolution
``prep{i}_width_idx``              width index (see below), i < ``max_prep``;
                                   ``prep{i}_separable``, ``prep{i}_depthwise``
``depth``                          encoder levels incl. the bottleneck, ``depth_range``
``enc{l}_width_idx``               width of encoder level l = 1..max depth (all its convs)
``enc{l}_n_convs``                 1..2 convs; ``enc{l}_conv{j}_kernel`` 1 or 3, j < 2
``enc{l}_separable``               k x k in->in + 1x1 in->out per conv (``enc{l}_depthwise``)
``dec{l}_skip``                    decoder level l concatenates encoder level l; drawn right
                                   after ``enc{l}``'s parameters (it decides the data memory
                                   left to deeper levels); used only if that level has at most
                                   64 channels (a concatenation of more than 64 channels
                                   interleaves one-pass parts)
``dec{l}_up_idx``                  ConvTranspose2d width, used only without skip: with a skip
                                   it equals the skip's width, because izer requires equal
                                   channel counts for all ``in_sequences`` inputs
                                   (``izer.py``), concatenations included
``dec{l}_n_convs``                 1..2; ``dec{l}_conv{j}_width_idx``, ``dec{l}_conv{j}_kernel``
``dec{l}_separable``               as for the encoder (``dec{l}_depthwise``)
``n_head``                         0..``max_head`` 1x1 head layers (the last has no ReLU, as in
                                   both references); ``head{i}_width_idx``,
                                   ``head{i}_separable``
``prep_bits``, ``enc{l}_bits``,    weight bits of a layer group (all prep layers, an encoder
``dec{l}_bits``, ``head_bits``     level, a decoder level incl. its upsampling, all head
                                   layers), categorical over ``weight_bits``; only if it has
                                   several values
=================================  ============================================================

``*_depthwise`` exists only when the space allows depthwise (MAX78002); it is used only when
the conv is separable. Kernels of prep and head layers are 1x1; convs have biases.

**Weight bits.** The chip runs 8-, 4-, 2- and 1-bit weights; fewer bits pack more weights
into kernel memory. Each layer group draws its width from ``weight_bits`` (default 8, 4;
``(8,)`` gives an all-8-bit space with no bits parameters). The network's first layer (it
reads the raw image) and the classifier stay 8-bit (``first_layer_bits``,
``classifier_bits``; ``None`` samples them too).

**Device and input size.** A space is built for one device (``device``, a ``nas.hardware``
name) and one folded chip input (``input_size``, rows x columns): the data-memory instance
size comes from the device table, the full-resolution width limit and the caps below from
both. :meth:`UNetSpace.for_device` refuses another device; :meth:`UNetSpace.at_input_size`
rebuilds the space for another input size.

**Depth.** The default deployment input is 88x88 (352x352 crops folded by 4). Each level
below the first pools 2x2, so depth D needs H and W divisible by 2**(D-1). 88 = 8 * 11: depth 4
gives an 11x11 bottleneck, depth 5 would need 5.5x5.5. Hence ``depth_range = (2, 4)``; the
space checks this rule against ``input_size``. The folded input is the same for every fold
ratio the space offers (the crop is ``fold x input_size``), so the size a spec is checked at is
the size it is trained and deployed at.

**Widths.** A width parameter is an int index into the width ladder, the chip's packing grid
(multiples of 4 up to 64, multiples of 64 above: ``4..64 step 4, 128, 192, 256``), so sampling
only yields :func:`~nas.spec.width_rule_ok` widths. A width above 64 runs in ``width / 64``
passes; for it the space also asks ``<name>_per_pass``, the processors used per pass, an int
distribution with the single value 64. Samplers therefore always return 64 and the width stays
on the grid, but an enqueued or fixed trial may give another multiple of 4: Optuna accepts an
out-of-range fixed value for an int distribution (with a warning). That is how ai85unetlarge's
112-channel bottleneck (2 passes x 56 processors, which the chip runs without padding) is
reproduced exactly: ``enc4_width_idx=16`` (128), ``enc4_width_per_pass=56``. We preferred this
to adding 112 to the grid (sampling would then produce it) or to a special bottleneck parameter
(it would exist only for one reference).

At full folded resolution (prep, ``enc1``, ``dec1``, head) the choices stop at
``full_res_width``, the whole 64-channel passes one data-memory instance holds: an 88x88 map
costs 88*88*4 B = 30,976 B per data-memory instance and
pass, so on MAX78000 (32 KiB instances) only one pass (64 channels) fits there, and wider
choices could never be deployed. MAX78002's 80 KiB instances hold two passes (128).
``enc1`` stops at half that (32 on MAX78000): with the level-1 skip, ``dec1``'s input is
``upconv1`` + ``enc1`` = 2 x ``enc1`` channels at full resolution, which must fit too.

**Data memory** (MAX78000 at 88x88; from ``instance_bytes`` and the folded side, so the
MAX78002 space, with 80 KiB instances, has none of these caps). Each of the 16 data-memory
instances (32 KiB) serves 4 processors. A 1-pass 88x88 map takes 30,976 B of each instance its
channels touch, so while ``enc1`` lives no level-2 (7,744 B per pass) or level-3 (1,936 B) map
fits beside it: those tensors must use other processors. (Level 4, 484 B per pass, fits in the
1,792 B left.) ``enc1`` lives while ``enc2`` is written (the pooled conv reads it) and, with
the level-1 skip, until ``dec1``. ``nas.hardware.check`` rejected 78% of the specs the space
drew before these rules (``benchmarks/space_feasibility.py``; BENCHMARKS.md). So, with w1 the
width of ``enc1`` (at most 32, i.e. one pass):

- ``enc2`` gets at most 64 - w1 processors; with the level-1 skip so do all level-2 and
  level-3 tensors (encoder, upsampling and decoder convs). ai85unetlarge does exactly this:
  ``enc1`` is 8 channels and every deeper tensor at most 56 processors per pass.
- The level-2 tensor ``upconv1`` reads (``dec2``'s last conv, or ``enc2`` at depth 2) must
  avoid ``upconv1``'s output and, with the skip, ``enc1`` above it: at most
  64 - ``dec1_up`` processors, or 64 - 2 w1 with the skip. So ``dec1_up`` stops at 60 and the
  level-1 skip needs 2 w1 <= 60.
- With the level-1 skip, a narrow (<= 64-channel) concatenation at level 2 or 3 must fit
  beside ``enc1``: w1 + 2 w_l <= 64.
- (Gone.) A separable level-2 decoder level on a concatenation of more than 64 channels was
  left out while only the greedy planner placed tensors (none of 35 such specs with the
  level-1 skip got a greedy layout); the exact planner places them, so they are offered.

A capped width keeps its parameter and distribution: the index i over the n ladder widths is
squeezed onto the k widths the cap leaves, ``i * k // n``, so the order is kept (a larger index
never gives a smaller width), every width left is equally likely, and every sampled width
still obeys the 4/64 rule: with a live full-resolution skip, level-2/3 widths above 64 (whole
passes of 64 processors, every instance) can never be deployed, so they are not offered
there; the bottleneck keeps them at depth 4. (Clipping the index to the cap instead piled
the clipped mass on the widest width left and cut the feasible share of random samples from
78% to 73%.) A skip or separable choice left out for data memory is still drawn and ignored,
and a ``dec{l}_skip_unfit`` / ``dec{l}_separable_unfit`` flag is asked, an int distribution
with the single value 0, like the ``_per_pass`` trick above: samplers never draw 1, and a
fixed or enqueued trial may set 1 to
rebuild a spec that does not fit (unetmysmall's 32-channel level-3 skip, 8 + 64 > 64, is why
it fails ``check`` on MAX78000). Sampled specs therefore cover the same architectures as
before, minus ones the hardware model rejects for these reasons; what still fails is mostly
the greedy planner's processor choice (a tensor placed where a later, wider one needs
contiguous processors) and kernel memory.

**Names.** A spec's name is the reference's name when the architecture equals a reference
(so enqueued references keep their labels on every plot), otherwise ``unet-<10 hex digits>``,
a digest of the architecture.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import optuna
from optuna.trial import BaseTrial, FixedTrial

from nas.hardware import DEFAULT_DEVICE, get_device
from nas.spec import (
    DEFAULT_INPUT_SIZE,
    MAX_DEPTH,
    MIN_DEPTH,
    ArchSpec,
    ConvSpec,
    DecoderLevel,
    EncoderLevel,
    get_reference,
    input_size,
    list_references,
    width_packs_evenly,
    width_rule_ok,
)
from nas.spec._arch import BATCHNORM as BATCHNORM_CHOICES
from nas.spec._arch import WEIGHT_BITS

PASS_WIDTH = 64  # processors per pass
DEFAULT_WIDTHS = tuple(range(4, 65, 4)) + (128, 192, 256)
WEIGHT_BITS_CHOICES = (8, 4, 2, 1)  # weight widths the chip runs, widest first
DEFAULT_WEIGHT_BITS = (8, 4)  # 2 and 1 bits opt-in (BENCHMARKS.md, "Mixed-precision weights")


def arch_digest(spec: ArchSpec) -> str:
    """10 hex digits identifying the architecture (everything but the name)."""
    d = spec.to_dict()
    d.pop("name")
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


@lru_cache(maxsize=16)
def _reference_names(num_classes: int) -> dict[str, str]:
    return {arch_digest(get_reference(n, num_classes)): n for n in list_references()}


def _name_for(spec: ArchSpec) -> str:
    digest = arch_digest(spec)
    return _reference_names(spec.num_classes).get(digest, f"unet-{digest}")


def _processors(width: int) -> int:
    """Processors per pass a tensor of ``width`` channels occupies (4 share one instance)."""
    return min(PASS_WIDTH, -(-width // 4) * 4)


class _Budget:
    """Processors per pass left to deeper levels by live full-resolution tensors.

    Filled level by level while a trial is built (and replayed by ``params_for``); see
    "Data memory" in the module docstring for the rules. Sizes come from the folded input
    and the device's data-memory instance.
    """

    def __init__(self, space: UNetSpace) -> None:
        self.space = space
        self.size = space.input_size
        self.full = space.full_res_width()
        self.w1 = self.up1 = 0
        self.skip1 = False

    def holds(self, level: int) -> bool:
        """Whether a 1-pass full-resolution tensor keeps a level-``level`` 1-pass tensor out of
        its data-memory instances (the two do not fit one instance together)."""
        if not self.space.data_memory_caps:
            return False
        return self.map_bytes(1) + self.map_bytes(level) > self.space.instance_bytes

    def map_bytes(self, level: int) -> int:
        """Bytes per instance of a 1-pass map at ``level`` (4 channels per 32-bit word)."""
        h, w = self.size
        return 4 * (h // 2 ** (level - 1)) * (w // 2 ** (level - 1))

    def _x_cap(self) -> int | None:
        # the level-2 tensor upconv1 reads must avoid upconv1's output and, with the level-1
        # skip, enc1 (upconv1 sits right below it)
        if not self.holds(2):
            return None
        return PASS_WIDTH - _processors(self.up1) - (_processors(self.w1) if self.skip1 else 0)

    def enc_cap(self, level: int, depth: int) -> int | None:
        if level == 1:
            return self.full // 2  # dec1 concatenates two enc1-wide parts at full resolution
        if not self.holds(level):
            return None
        # enc2 is written while its input enc1 is live; deeper levels only with the skip
        cap = PASS_WIDTH - _processors(self.w1) if level == 2 or self.skip1 else None
        if level == 2 and depth == 2:
            cap = _min(cap, self._x_cap())
        return cap

    def dec_cap(self, level: int, last: bool = False) -> int | None:
        if level == 1:
            return self.full
        if not self.holds(level):
            return None
        cap = PASS_WIDTH - _processors(self.w1) if self.skip1 else None
        if level == 2 and last:
            cap = _min(cap, self._x_cap())
        return cap

    def up_cap(self, level: int) -> int | None:
        if level == 1 and self.holds(2):
            # leave at least one instance to the level-2 tensor it reads
            return min(self.full, PASS_WIDTH - 4)
        return self.dec_cap(level)

    def skip_offered(self, level: int, width: int) -> bool:
        if width > PASS_WIDTH:
            return False  # a concatenation of more than 64 channels interleaves 1-pass parts
        if level == 1:
            return not self.holds(2) or 2 * _processors(width) <= PASS_WIDTH - 4
        if self.skip1 and self.holds(level) and 2 * width <= PASS_WIDTH:
            # a narrow concatenation (skip and upsampling side by side) must avoid enc1
            return _processors(self.w1) + 2 * _processors(width) <= PASS_WIDTH
        return True

    def skip_blocked(self, level: int, width: int) -> bool:
        """The skip is left out only for data memory (not by izer's 64-channel rule)."""
        return width <= PASS_WIDTH and not self.skip_offered(level, width)

    def separable_blocked(self, level: int, width: int, skip: bool) -> bool:
        """Never: a separable decoder level on a concatenation of more than 64 channels was
        left out at level 2 on MAX78000 while the greedy planner was the only one; the exact
        planner places every such spec that the other caps admit (5 of 5 in 1,000 uncapped
        samples, BENCHMARKS.md "Exact data-memory planner"), so the cap went. The method and
        the ``dec{l}_separable_unfit`` flag stay so that parameter names stay stable."""
        return False

    def add(self, level: int, width: int, skip: bool, up: int) -> None:
        if level == 1:
            self.w1, self.skip1, self.up1 = width, skip, up


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True)
class UNetSpace:
    """A U-Net search space for one device and input size; call it with an Optuna trial to
    get an :class:`ArchSpec`.

    Attributes:
        name: registry name.
        device: the accelerator (``nas.hardware`` device name); its data-memory instance size
            decides the caps in "Data memory" above, and depthwise needs its support.
        input_size: folded chip input (rows, columns) the specs are deployed at (88x88 =
            352x352 crops at fold 4, whatever the fold ratio: crops are ``fold x input_size``);
            every depth must pool it cleanly. :meth:`at_input_size` rebuilds a space for
            another size.
        widths: the width ladder; each must obey :func:`~nas.spec.width_rule_ok`.
        depth_range: (min, max) encoder levels incl. the bottleneck.
        fold_ratios: fold-ratio choices (the input is folded r x r into channels).
        n_convs_range: (min, max) convs per encoder / decoder level.
        kernels: kernel choices of encoder and decoder convs.
        max_prep: most 1x1 prep layers.
        max_head: most 1x1 head layers.
        full_res_max_width: widest channel choice for layers at full (folded) resolution
            (prep, decoder level 1, head; encoder level 1: half of it); ``None`` = as many
            64-channel passes as one of the device's data-memory instances holds at full
            resolution (see "Widths" above).
        depthwise: whether separable convs may be depthwise (the device must support it).
        batchnorms: BN choices (``"noaffine"`` as ai8x; ``"affine"`` only for MAX78002 refs).
        num_classes: classes of the task the specs are built for.
        in_channels: image channels before folding.
        weight_bits: weight widths a layer group may take (see "Weight bits" above).
        first_layer_bits: bits of the network's first layer; ``None`` = its group's.
        classifier_bits: bits of the classifier; ``None`` = sampled from ``weight_bits``.
    """

    name: str
    device: str = DEFAULT_DEVICE
    input_size: tuple[int, int] = DEFAULT_INPUT_SIZE
    widths: tuple[int, ...] = DEFAULT_WIDTHS
    depth_range: tuple[int, int] = (2, 4)
    fold_ratios: tuple[int, ...] = (4,)
    n_convs_range: tuple[int, int] = (1, 2)
    kernels: tuple[int, ...] = (1, 3)
    max_prep: int = 3
    max_head: int = 3
    full_res_max_width: int | None = None
    depthwise: bool = False
    batchnorms: tuple[str, ...] = ("noaffine",)
    num_classes: int = 4
    in_channels: int = 3
    weight_bits: tuple[int, ...] = DEFAULT_WEIGHT_BITS
    first_layer_bits: int | None = 8
    classifier_bits: int | None = 8
    # False: none of the data-memory caps below (benchmarks/space_feasibility.py
    # --without-caps measures what they cut off)
    data_memory_caps: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise types once, here
        set_(self, "input_size", input_size(self.input_size))
        set_(self, "weight_bits", tuple(self.weight_bits))
        dev = get_device(self.device)  # unknown names list the valid ones
        set_(self, "device", dev.name)
        bad = [w for w in self.widths if not width_rule_ok(w)]
        if bad or not self.widths:
            raise ValueError(
                "widths must be non-empty multiples of 4 up to 64 and of 64 above, "
                f"but got {bad or 'none'}"
            )
        if tuple(sorted(self.widths)) != tuple(self.widths):
            raise ValueError(f"widths must be ascending (a ladder), but got {self.widths}")
        lo, hi = self.depth_range
        if not MIN_DEPTH <= lo <= hi <= MAX_DEPTH:
            raise ValueError(
                f"depth_range must lie within [{MIN_DEPTH}, {MAX_DEPTH}], "
                f"but got depth_range={self.depth_range}"
            )
        if any(side % 2 ** (hi - 1) for side in self.input_size):
            h, w = self.input_size
            raise ValueError(
                f"depth {hi} pools the input {hi - 1} times, so the folded input size "
                f"{h}x{w} must be divisible by 2**{hi - 1} = {2 ** (hi - 1)}; "
                f"lower depth_range or change input_size"
            )
        if self.full_res_width() == 0:
            h, w = self.input_size
            raise ValueError(
                f"a {h}x{w} map does not fit one {dev.name} data-memory instance "
                f"({dev.instance_bytes:,} B); use a smaller input_size"
            )
        if not 1 <= self.n_convs_range[0] <= self.n_convs_range[1]:
            raise ValueError(f"n_convs_range must be (lo, hi) with 1 <= lo <= hi, "
                             f"but got {self.n_convs_range}")
        if not set(self.kernels) <= {1, 3} or not self.kernels:
            raise ValueError(f"kernels must be a subset of (1, 3), but got {self.kernels}")
        if not set(self.batchnorms) <= set(BATCHNORM_CHOICES) or not self.batchnorms:
            raise ValueError(
                f"batchnorms must be a subset of {BATCHNORM_CHOICES}, but got {self.batchnorms}"
            )
        if self.depthwise and not dev.depthwise:
            raise ValueError(f"depthwise=True needs a device that runs depthwise convolutions, "
                             f"but {dev.name} does not")
        validate_weight_bits(self.weight_bits)
        for field in ("first_layer_bits", "classifier_bits"):
            v = getattr(self, field)
            if v is not None and v not in WEIGHT_BITS:
                raise ValueError(f"{field} must be None or one of {WEIGHT_BITS}, but got {v}")

    # -- device and input size ------------------------------------------------------------
    @property
    def instance_bytes(self) -> int:
        """Bytes of one data-memory instance of :attr:`device` (4 processors share one)."""
        return get_device(self.device).instance_bytes

    def full_res_width(self) -> int:
        """Widest full-resolution tensor: ``full_res_max_width``, or the whole 64-channel
        passes of an ``input_size`` map that one data-memory instance holds."""
        if self.full_res_max_width is not None:
            return self.full_res_max_width
        h, w = self.input_size
        passes = self.instance_bytes // (4 * h * w)
        return max((x for x in self.widths if x <= PASS_WIDTH * passes), default=0)

    def for_device(self, device: str) -> UNetSpace:
        """This space, after checking it was built for ``device``.

        Raises:
            ValueError: the space models another device's limits.
        """
        name = get_device(device).name
        if name != self.device:
            raise ValueError(
                f"search space {self.name!r} is built for {self.device}, not {name}: its "
                f"data-memory caps{' and depthwise choices' if self.depthwise else ''} are "
                f"{self.device}'s; use a space for {name} (e.g. unet_{name.lower()})"
            )
        return self

    def at_input_size(self, size: tuple[int, int]) -> UNetSpace:
        """This space for another folded input size (``ValueError`` if a depth cannot pool it
        or a map of it does not fit the device's data memory)."""
        return dataclasses.replace(self, input_size=input_size(size))

    def with_weight_bits(self, bits: tuple[int, ...] | list[int]) -> UNetSpace:
        """The same space sampling layer-group weight widths from ``bits``."""
        return dataclasses.replace(self, weight_bits=tuple(bits))

    # -- trial -> spec --------------------------------------------------------------------
    def __call__(self, trial: BaseTrial) -> ArchSpec:
        """Sample (or replay) an architecture.

        Every parameter below the sampled depth, prep/head count or conv count is drawn
        anyway and ignored (see "Encoding" above).
        """
        fold = trial.suggest_categorical("fold_ratio", self.fold_ratios)
        batchnorm = self.batchnorms[0]
        if len(self.batchnorms) > 1:
            batchnorm = trial.suggest_categorical("batchnorm", self.batchnorms)
        budget = _Budget(self)
        # the order of the steps is the order of the parameters: it must not change
        prep = self._sample_prep(trial, budget)
        depth = trial.suggest_int("depth", *self.depth_range)
        encoder, skips, ups = self._sample_encoder(trial, budget, depth)
        decoder = self._sample_decoder(trial, budget, depth, encoder, skips, ups)
        head = self._sample_head(trial, budget)
        classifier_bits = self.classifier_bits
        if classifier_bits is None:
            classifier_bits = self._bits(trial, "classifier_bits")
        if self.first_layer_bits is not None:
            # the first layer sees the raw image: it keeps its own width
            if prep:
                prep[0] = dataclasses.replace(prep[0], bits=self.first_layer_bits)
            else:
                convs = encoder[0].convs
                encoder[0] = EncoderLevel(
                    (dataclasses.replace(convs[0], bits=self.first_layer_bits),) + convs[1:])
        spec = ArchSpec(
            name="unet",
            num_classes=self.num_classes,
            encoder=tuple(encoder),
            decoder=tuple(decoder),
            prep=tuple(prep),
            head=tuple(head),
            in_channels=self.in_channels,
            fold_ratio=fold,
            batchnorm=batchnorm,
            classifier_bits=classifier_bits,
        )
        return dataclasses.replace(spec, name=_name_for(spec))

    def _sample_prep(self, trial: BaseTrial, budget: _Budget) -> list[ConvSpec]:
        """The 1x1 prep layers at full (folded) resolution."""
        return self._sample_1x1(trial, budget, "prep", self.max_prep, last_relu=True)

    def _sample_1x1(self, trial: BaseTrial, budget: _Budget, part: str, most: int,
                    last_relu: bool) -> list[ConvSpec]:
        """Up to ``most`` full-resolution 1x1 layers named ``part`` (prep or head), one weight
        width for the group; all with ReLU but, unless ``last_relu``, the last."""
        full = self.full_res_width()
        n = trial.suggest_int(f"n_{part}", 0, most)
        bits = self._bits(trial, f"{part}_bits") if most else 8
        layers = []
        for i in range(most):
            width = self._width(trial, f"{part}{i}_width", full, budget.full, used=i < n)
            sep, dw = self._separable(trial, f"{part}{i}")
            if i < n:
                layers.append(ConvSpec(width, 1, relu=last_relu or i < n - 1, separable=sep,
                                       depthwise=dw, bits=bits))
        return layers

    def _sample_encoder(self, trial: BaseTrial, budget: _Budget, depth: int
                        ) -> tuple[list[EncoderLevel], dict[int, bool], dict[int, int]]:
        """The encoder levels, with each level's skip and upsampling width (by level)."""
        max_depth = self.depth_range[1]
        encoder: list[EncoderLevel] = []
        skips: dict[int, bool] = {}
        ups: dict[int, int] = {}
        for level in range(1, max_depth + 1):
            used, p = level <= depth, f"enc{level}"
            width = self._width(trial, f"{p}_width", self._level_cap(level, encoder=True),
                                budget.enc_cap(level, depth), used=used)
            kernels = self._kernels(trial, p)
            sep, dw = self._separable(trial, p)
            bits = self._bits(trial, f"{p}_bits")
            if used:
                encoder.append(EncoderLevel(tuple(
                    ConvSpec(width, k, separable=sep, depthwise=dw, bits=bits) for k in kernels
                )))
            if level == max_depth:
                break
            # the level's skip (and, without it, its upsampling width) are drawn with the
            # encoder level: they decide how many processors the deeper levels may use
            used = level < depth
            skip = trial.suggest_categorical(f"dec{level}_skip", (True, False))
            skip = used and skip and budget.skip_offered(level, width)
            if used and budget.skip_blocked(level, width):
                # samplers always say no; a fixed trial may say yes (see "Data memory")
                skip = bool(trial.suggest_int(f"dec{level}_skip_unfit", 0, 0))
            up = self._width(trial, f"dec{level}_up", self._level_cap(level),
                             budget.up_cap(level), used=used and not skip)
            if used:
                skips[level] = skip
                ups[level] = width if skip else up
                budget.add(level, width, skip, ups[level])
        return encoder, skips, ups

    def _sample_decoder(self, trial: BaseTrial, budget: _Budget, depth: int,
                        encoder: list[EncoderLevel], skips: dict[int, bool],
                        ups: dict[int, int]) -> list[DecoderLevel]:
        """The decoder levels, deepest first."""
        decoder = []
        for level in range(self.depth_range[1] - 1, 0, -1):
            used, p = level < depth, f"dec{level}"
            n = trial.suggest_int(f"{p}_n_convs", *self.n_convs_range)
            shapes = []
            for j in range(self.n_convs_range[1]):
                w = self._width(trial, f"{p}_conv{j}_width", self._level_cap(level),
                                budget.dec_cap(level, last=j == n - 1), used=used and j < n)
                shapes.append((w, trial.suggest_categorical(f"{p}_conv{j}_kernel",
                                                            self.kernels)))
            blocked = used and budget.separable_blocked(level, encoder[level - 1].width,
                                                        skips[level])
            sep, dw = self._separable(trial, p, blocked)
            bits = self._bits(trial, f"{p}_bits")
            if used:
                decoder.append(DecoderLevel(ups[level], tuple(
                    ConvSpec(w, k, separable=sep, depthwise=dw, bits=bits) for w, k in shapes[:n]
                ), skip=skips[level], up_bits=bits))
        return decoder

    def _sample_head(self, trial: BaseTrial, budget: _Budget) -> list[ConvSpec]:
        """The 1x1 head layers before the classifier (the last one without ReLU)."""
        return self._sample_1x1(trial, budget, "head", self.max_head, last_relu=False)

    def _level_cap(self, level: int, encoder: bool = False) -> int | None:
        """Static widest choice of a level's width parameters (full-resolution limit)."""
        if level > 1:
            return None
        # enc1 also feeds dec1's concatenation of two equal parts, which must fit one pass
        return self.full_res_width() // 2 if encoder else self.full_res_width()

    def _ladder(self, max_width: int | None) -> tuple[int, ...]:
        if max_width is None:
            return self.widths
        return tuple(w for w in self.widths if w <= max_width)

    def _width(self, trial: BaseTrial, name: str, max_width: int | None = None,
               cap: int | None = None, used: bool = True) -> int:
        """A width drawn as an index into the ladder (``<name>_idx``, one int distribution
        per name); a data-memory ``cap`` clips the index."""
        ladder = self._ladder(max_width)
        i = trial.suggest_int(f"{name}_idx", 0, len(ladder) - 1)
        if not used:
            return 0
        if cap is not None:
            fit = [k for k, w in enumerate(ladder) if w <= cap]
            if not fit:
                raise ValueError(f"{name}: no width fits the {cap} processors left")
            # squeeze the index onto the choices left (order kept, each equally likely)
            i = i * len(fit) // len(ladder)
        width = ladder[i]
        if width <= PASS_WIDTH:
            return width
        per_pass = trial.suggest_int(f"{name}_per_pass", PASS_WIDTH, PASS_WIDTH)
        return width // PASS_WIDTH * per_pass

    def _kernels(self, trial: BaseTrial, prefix: str) -> list[int]:
        n = trial.suggest_int(f"{prefix}_n_convs", *self.n_convs_range)
        return [trial.suggest_categorical(f"{prefix}_conv{j}_kernel", self.kernels)
                for j in range(self.n_convs_range[1])][:n]

    def _bits(self, trial: BaseTrial, name: str) -> int:
        if len(self.weight_bits) == 1:
            return self.weight_bits[0]
        return trial.suggest_categorical(name, self.weight_bits)

    def _separable(self, trial: BaseTrial, prefix: str,
                   blocked: bool = False) -> tuple[bool, bool]:
        sep = trial.suggest_categorical(f"{prefix}_separable", (False, True))
        if blocked:  # samplers always say no; a fixed trial may say yes (see "Data memory")
            sep = bool(trial.suggest_int(f"{prefix}_separable_unfit", 0, 0))
        dw = self.depthwise and trial.suggest_categorical(f"{prefix}_depthwise", (False, True))
        return sep, bool(sep and dw)

    # -- spec -> params -------------------------------------------------------------------
    def params_for(self, spec: ArchSpec) -> dict[str, Any]:
        """The parameters that make this space return ``spec`` (e.g. to enqueue a reference).

        ``FixedTrial(space.params_for(spec))`` and ``study.enqueue_trial(...)`` rebuild
        ``spec`` exactly (num_classes comes from the space). Parameters the spec does not use
        (levels below its depth, ...) get their first value.

        Raises:
            ValueError: ``spec`` is not in this space; the message names the first reason.
        """
        lo, hi = self.depth_range
        for what, n, most in (("prep layers", len(spec.prep), self.max_prep),
                              ("head layers", len(spec.head), self.max_head),
                              ("encoder levels", spec.depth, hi)):
            if n > most:
                raise ValueError(f"spec {spec.name!r} is not in space {self.name!r}: {n} "
                                 f"{what}, the space has at most {most}")
        if spec.depth < lo:
            raise ValueError(f"spec {spec.name!r} is not in space {self.name!r}: depth "
                             f"{spec.depth} < {lo}")
        try:
            p = self._params(spec)
        except ValueError as e:
            raise ValueError(f"spec {spec.name!r} is not in space {self.name!r}: {e}") from None
        # The rules above cover the shape; replaying catches everything else (ReLU placement,
        # bits, bias, choices outside this space, widths above a data-memory cap) in one place.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # out-of-range _per_pass values are intended
                rebuilt = self(FixedTrial(p))
        except ValueError as e:
            raise ValueError(f"spec {spec.name!r} is not in space {self.name!r}: {e}") from None
        want = dataclasses.replace(spec, num_classes=self.num_classes).to_dict()
        got = rebuilt.to_dict()
        want.pop("name"), got.pop("name")
        diff = [k for k in want if want[k] != got[k]]
        if diff:
            raise ValueError(
                f"spec {spec.name!r} is not in space {self.name!r}: field {diff[0]!r} cannot "
                f"be reproduced (space gives {got[diff[0]]!r}, spec has {want[diff[0]]!r})"
            )
        return p

    def _params(self, spec: ArchSpec) -> dict[str, Any]:
        p: dict[str, Any] = {"fold_ratio": spec.fold_ratio}
        if len(self.batchnorms) > 1:
            p["batchnorm"] = spec.batchnorm
        if spec.fold_ratio not in self.fold_ratios:
            raise ValueError(f"fold_ratio {spec.fold_ratio} is not one of {self.fold_ratios}")
        budget = _Budget(self)
        full, depth, max_depth = self.full_res_width(), spec.depth, self.depth_range[1]
        # the first layer's bits are the space's, not its group's
        fixed_first = self.first_layer_bits is not None

        def inner(convs: tuple[ConvSpec, ...], first: bool = False) -> list[int]:
            return [c.bits for c in convs[1 if first and fixed_first else 0:]]

        p["n_prep"] = len(spec.prep)
        if self.max_prep:
            p |= self._group_bits("prep_bits", inner(spec.prep, first=True))
        for i in range(self.max_prep):
            c = spec.prep[i] if i < len(spec.prep) else None
            p |= self._width_params(f"prep{i}_width", c.out if c else None, full, budget.full)
            p |= self._separable_params(f"prep{i}", (c,) if c else ())
        p["depth"] = depth
        dec = {depth - 1 - k: lvl for k, lvl in enumerate(spec.decoder)}
        for level in range(1, max_depth + 1):
            pre = f"enc{level}"
            lvl = spec.encoder[level - 1] if level <= depth else None
            convs = lvl.convs if lvl else ()
            widths = {c.out for c in convs}
            if len(widths) > 1:
                raise ValueError(f"{pre}: the space gives all convs of an encoder level one "
                                 f"width, but the spec has {sorted(widths)}")
            p |= self._width_params(f"{pre}_width", lvl.width if lvl else None,
                                    self._level_cap(level, encoder=True),
                                    budget.enc_cap(level, depth))
            p |= self._kernel_params(pre, convs)
            p |= self._separable_params(pre, convs)
            p |= self._group_bits(f"{pre}_bits", inner(convs, first=level == 1 and not spec.prep))
            if level == max_depth:
                break
            d, pre = dec.get(level), f"dec{level}"
            p[f"{pre}_skip"] = bool(d and d.skip)
            up_cap = budget.up_cap(level)
            if d is not None:
                assert lvl is not None  # a decoder level exists only above a used level
                if budget.skip_blocked(level, lvl.width):
                    p[f"{pre}_skip"] = False
                    p[f"{pre}_skip_unfit"] = int(d.skip)
                elif d.skip and not budget.skip_offered(level, lvl.width):
                    raise ValueError(f"{pre}: the space offers skips only from levels of at "
                                     f"most {PASS_WIDTH} channels (izer concatenates 1-pass "
                                     f"parts)")
                if d.skip and d.up != lvl.width:
                    raise ValueError(
                        f"{pre}: with a skip the space gives the upsampling the skip's width "
                        f"{lvl.width} (izer concatenates equal parts only), but the spec has "
                        f"up={d.up}"
                    )
                budget.add(level, lvl.width, d.skip, d.up)
            p |= self._width_params(f"{pre}_up", d.up if d and not d.skip else None,
                                    self._level_cap(level), up_cap)
        for level in range(max_depth - 1, 0, -1):
            d, pre = dec.get(level), f"dec{level}"
            convs = d.convs if d else ()
            p |= self._kernel_params(pre, convs)
            for j in range(self.n_convs_range[1]):
                c = convs[j] if j < len(convs) else None
                p |= self._width_params(f"{pre}_conv{j}_width", c.out if c else None,
                                        self._level_cap(level),
                                        budget.dec_cap(level, last=j == len(convs) - 1))
            blocked = d is not None and budget.separable_blocked(
                level, spec.encoder[level - 1].width, d.skip)
            p |= self._separable_params(pre, convs, blocked)
            p |= self._group_bits(f"{pre}_bits", inner(convs) + ([d.up_bits] if d else []))
        p["n_head"] = len(spec.head)
        if self.max_head:
            p |= self._group_bits("head_bits", inner(spec.head))
        for i in range(self.max_head):
            c = spec.head[i] if i < len(spec.head) else None
            p |= self._width_params(f"head{i}_width", c.out if c else None, full, budget.full)
            p |= self._separable_params(f"head{i}", (c,) if c else ())
        if self.classifier_bits is None:
            p["classifier_bits"] = spec.classifier_bits
        return p

    def _group_bits(self, name: str, bits: list[int]) -> dict[str, int]:
        """The group's weight-bits parameter (none when the space has one width)."""
        if len(self.weight_bits) == 1:
            return {}
        if len(set(bits)) > 1:
            raise ValueError(f"{name}: the space gives one weight width per layer group, "
                             f"but the spec has {sorted(set(bits))}")
        return {name: bits[0] if bits else self.weight_bits[0]}

    def _width_params(self, name: str, width: int | None, max_width: int | None = None,
                      cap: int | None = None) -> dict[str, int]:
        """The index (and ``_per_pass``) that :meth:`_width` turns into ``width``."""
        ladder = self._ladder(max_width)
        if width is None:  # unused: any value
            return {f"{name}_idx": 0}
        out: dict[str, int] = {}
        rung = width
        if width > PASS_WIDTH:
            passes = -(-width // PASS_WIDTH)
            rung = PASS_WIDTH * passes
            if not width_packs_evenly(width) or rung not in ladder:
                raise ValueError(f"{name}={width} is neither on the space's width ladder nor "
                                 f"{passes} equal passes of a ladder width")
            out[f"{name}_per_pass"] = width // passes
        elif width not in ladder:
            raise ValueError(f"{name}={width} is not on the space's width ladder {ladder}")
        k = ladder.index(rung)
        if cap is not None:
            fit = sum(w <= cap for w in ladder)
            if k >= fit:
                raise ValueError(f"{name}={width} does not fit the {cap} processors data "
                                 f"memory leaves it")
            k = -(-k * len(ladder) // fit)  # smallest index that squeezes onto it
        return {f"{name}_idx": k} | out

    def _kernel_params(self, prefix: str, convs: tuple[ConvSpec, ...]) -> dict[str, Any]:
        n = len(convs) if convs else self.n_convs_range[0]
        if not self.n_convs_range[0] <= n <= self.n_convs_range[1]:
            raise ValueError(f"{prefix}: {n} convs, the space offers {self.n_convs_range}")
        out: dict[str, Any] = {f"{prefix}_n_convs": n}
        for j in range(self.n_convs_range[1]):
            out[f"{prefix}_conv{j}_kernel"] = convs[j].kernel if j < len(convs) \
                else self.kernels[0]
        return out

    def _separable_params(self, prefix: str, convs: tuple[ConvSpec, ...],
                          blocked: bool = False) -> dict[str, Any]:
        seps = {c.separable for c in convs} or {False}
        dws = {c.depthwise for c in convs} or {False}
        if len(seps) > 1 or len(dws) > 1:
            raise ValueError(f"{prefix}: the space makes all convs of a level separable or "
                             f"none, depthwise or none")
        sep, dw = seps.pop(), dws.pop()
        out: dict[str, Any] = {f"{prefix}_separable": sep and not blocked}
        if blocked:
            out[f"{prefix}_separable_unfit"] = int(sep)
        if dw and not self.depthwise:
            raise ValueError(f"{prefix} is depthwise, which space {self.name!r} does not "
                             f"allow (depthwise runs on MAX78002 only)")
        if self.depthwise:
            out[f"{prefix}_depthwise"] = dw
        return out


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


unet_max78000 = UNetSpace(name="unet_max78000", device="MAX78000")
"""The default space: MAX78000, 352x352 crops folded to 88x88, depth 2-4, no depthwise."""

unet_max78002 = UNetSpace(
    name="unet_max78002", device="MAX78002", depthwise=True,
    batchnorms=("noaffine", "affine"),
)
"""As :data:`unet_max78000` plus depthwise-separable convs and affine BN (MAX78002 only),
with MAX78002's data memory (80 KiB instances: no data-memory caps at 88x88, 128-channel
full-resolution layers); it contains ``unetmysmall-x86``."""


def sample_specs(
    space: UNetSpace, n: int, seed: int = 0, num_classes: int | None = None
) -> list[ArchSpec]:
    """``n`` random specs from ``space`` (Optuna ``RandomSampler``; same seed, same specs).

    Args:
        space: the search space.
        n: number of specs.
        seed: sampler seed.
        num_classes: build the specs for this many classes (default: the space's).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, but got n={n}")
    if num_classes is not None and num_classes != space.num_classes:
        space = dataclasses.replace(space, num_classes=num_classes)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created" line
    try:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    finally:
        optuna.logging.set_verbosity(verbosity)
    specs = []
    for _ in range(n):
        trial = study.ask()
        specs.append(space(trial))
        study.tell(trial, 0.0)
    return specs
