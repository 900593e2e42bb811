"""U-Net search spaces for the MAX7800x: an Optuna trial -> :class:`~nas.spec.ArchSpec`.

Every trial draws the same fixed-length vector of parameters, whatever its depth. The
parameters and the design behind them (encoding, weight bits, device and input size, depth,
widths, data memory, names) are described in ``docs/search_space.md``; the data-memory caps
are :class:`~search_spaces._budget.Budget`, the reverse mapping (spec -> parameters,
:meth:`UNetSpace.params_for`) is in ``search_spaces/_params.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from optuna.trial import BaseTrial

from nas.hardware import DEFAULT_DEVICE, get_device
from nas.spec import (
    DEFAULT_INPUT_SIZE,
    MAX_DEPTH,
    MIN_DEPTH,
    ArchSpec,
    ConvSpec,
    DecoderLevel,
    EncoderLevel,
    input_size,
    width_rule_ok,
)
from nas.spec._arch import BATCHNORM as BATCHNORM_CHOICES
from nas.spec._arch import WEIGHT_BITS
from search_spaces._bits import DEFAULT_WEIGHT_BITS, validate_weight_bits
from search_spaces._budget import PASS_WIDTH, Budget
from search_spaces._names import name_for
from search_spaces._params import params_for

DEFAULT_WIDTHS = tuple(range(4, 65, 4)) + (128, 192, 256)


@dataclass(frozen=True)
class UNetSpace:
    """A U-Net search space for one device and input size; call it with an Optuna trial to
    get an :class:`ArchSpec`.

    Attributes:
        name: registry name.
        device: the accelerator (``nas.hardware`` device name); its data-memory instance size
            decides the caps ("Data memory" in ``docs/search_space.md``), and depthwise
            needs its support.
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
            resolution (see "Widths" in ``docs/search_space.md``).
        depthwise: whether separable convs may be depthwise (the device must support it).
        batchnorms: BN choices (``"noaffine"`` as ai8x; ``"affine"`` only for MAX78002 refs).
        num_classes: classes of the task the specs are built for.
        in_channels: image channels before folding.
        weight_bits: weight widths a layer group may take (see "Weight bits" in
            ``docs/search_space.md``).
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

    # -- spec -> params -------------------------------------------------------------------
    def params_for(self, spec: ArchSpec) -> dict[str, Any]:
        """The parameters that make this space return ``spec`` (e.g. to enqueue a reference).

        ``FixedTrial(space.params_for(spec))`` and ``study.enqueue_trial(...)`` rebuild
        ``spec`` exactly (num_classes comes from the space). Parameters the spec does not use
        (levels below its depth, ...) get their first value.

        Raises:
            ValueError: ``spec`` is not in this space; the message names the first reason.
        """
        return params_for(self, spec)

    # -- trial -> spec --------------------------------------------------------------------
    def __call__(self, trial: BaseTrial) -> ArchSpec:
        """Sample (or replay) an architecture.

        Every parameter below the sampled depth, prep/head count or conv count is drawn
        anyway and ignored (see "Encoding" in ``docs/search_space.md``).
        """
        fold = trial.suggest_categorical("fold_ratio", self.fold_ratios)
        batchnorm = self.batchnorms[0]
        if len(self.batchnorms) > 1:
            batchnorm = trial.suggest_categorical("batchnorm", self.batchnorms)
        budget = Budget(self)
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
        return dataclasses.replace(spec, name=name_for(spec))

    def _sample_prep(self, trial: BaseTrial, budget: Budget) -> list[ConvSpec]:
        """The 1x1 prep layers at full (folded) resolution."""
        return self._sample_1x1(trial, budget, "prep", self.max_prep, last_relu=True)

    def _sample_1x1(self, trial: BaseTrial, budget: Budget, part: str, most: int,
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

    def _sample_encoder(self, trial: BaseTrial, budget: Budget, depth: int
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
                # samplers always say no; a fixed trial may say yes ("Data memory" in
                # docs/search_space.md)
                skip = bool(trial.suggest_int(f"dec{level}_skip_unfit", 0, 0))
            up = self._width(trial, f"dec{level}_up", self._level_cap(level),
                             budget.up_cap(level), used=used and not skip)
            if used:
                skips[level] = skip
                ups[level] = width if skip else up
                budget.add(level, width, skip, ups[level])
        return encoder, skips, ups

    def _sample_decoder(self, trial: BaseTrial, budget: Budget, depth: int,
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

    def _sample_head(self, trial: BaseTrial, budget: Budget) -> list[ConvSpec]:
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
        # samplers always say no; a fixed trial may say yes ("Data memory" in
        # docs/search_space.md)
        if blocked:
            sep = bool(trial.suggest_int(f"{prefix}_separable_unfit", 0, 0))
        dw = self.depthwise and trial.suggest_categorical(f"{prefix}_depthwise", (False, True))
        return sep, bool(sep and dw)


unet_max78000 = UNetSpace(name="unet_max78000", device="MAX78000")
"""The default space: MAX78000, 352x352 crops folded to 88x88, depth 2-4, no depthwise."""

unet_max78002 = UNetSpace(
    name="unet_max78002", device="MAX78002", depthwise=True,
    batchnorms=("noaffine", "affine"),
)
"""As :data:`unet_max78000` plus depthwise-separable convs and affine BN (MAX78002 only),
with MAX78002's data memory (80 KiB instances: no data-memory caps at 88x88, 128-channel
full-resolution layers); it contains ``unetmysmall-x86``."""
