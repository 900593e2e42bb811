"""U-Net search spaces for the MAX7800x: an Optuna trial -> :class:`~nas.spec.ArchSpec`.

Parameters (define-by-run; per-level parameters exist only up to the sampled depth, per-conv
ones only up to the sampled number of convs):

================================  =============================================================
``fold_ratio``                    categorical over ``fold_ratios`` (only 4 by default)
``batchnorm``                     only if ``batchnorms`` has several choices
``n_prep``                        0..``max_prep`` 1x1 "prep" layers at full resolution
``prep{i}_width``                 width (see below); ``prep{i}_separable``, ``prep{i}_depthwise``
``depth``                         encoder levels incl. the bottleneck, ``depth_range``
``enc{l}_width``                  width of encoder level l = 1..depth (all its convs)
``enc{l}_n_convs``                1..2 convs; ``enc{l}_conv{j}_kernel`` 1 or 3 each
``enc{l}_separable``              k x k in->in + 1x1 in->out per conv (``enc{l}_depthwise``)
``dec{l}_skip``                   decoder level l = depth-1..1 concatenates encoder level l;
                                  drawn right after ``enc{l}``'s parameters (it decides
                                  the data memory left to deeper levels); offered only if
                                  that level has at most 64 channels (a concatenation of
                                  more than 64 channels interleaves one-pass parts)
``dec{l}_up``                     ConvTranspose2d width, only without skip, drawn with
                                  ``dec{l}_skip``: with a skip it equals the skip's width,
                                  because izer requires equal channel counts for all
                                  ``in_sequences`` inputs (``izer.py``), concatenations
                                  included
``dec{l}_n_convs``                1..2; ``dec{l}_conv{j}_width``, ``dec{l}_conv{j}_kernel``
``dec{l}_separable``              as for the encoder (``dec{l}_depthwise``)
``n_head``                        0..``max_head`` 1x1 head layers (the last has no ReLU, as in
                                  both references); ``head{i}_width``, ``head{i}_separable``
================================  =============================================================

``*_depthwise`` exists only when the space allows depthwise (MAX78002) and the conv is
separable. Kernels of prep and head layers are 1x1; weights are 8-bit; convs have biases.

**Depth.** The default deployment input is 88x88 (352x352 crops folded by 4). Each level
below the first pools 2x2, so depth D needs H and W divisible by 2**(D-1). 88 = 8 * 11: depth 4
gives an 11x11 bottleneck, depth 5 would need 5.5x5.5. Hence ``depth_range = (2, 4)``; the
space checks this rule against ``input_size``. The folded input is the same for every fold
ratio the space offers (the crop is ``fold x input_size``), so the size a spec is checked at is
the size it is trained and deployed at.

**Widths.** A width parameter is categorical over the chip's packing grid (multiples of 4 up
to 64, multiples of 64 above: ``4..64 step 4, 128, 192, 256``), so sampling only yields
:func:`~nas.spec.width_rule_ok` widths. A width above 64 runs in ``width / 64`` passes; for it the
space also asks ``<name>_per_pass``, the processors used per pass, an int distribution with the
single value 64. Samplers therefore always return 64 and the width stays on the grid, but an
enqueued or fixed trial may give another multiple of 4: Optuna accepts an out-of-range fixed
value for an int distribution (with a warning), while a categorical would reject it. That is
how ai85unetlarge's 112-channel bottleneck (2 passes x 56 processors, which the chip runs
without padding) is reproduced exactly: ``enc4_width=128, enc4_width_per_pass=56``. We
preferred this to adding 112 to the grid (sampling would then produce it) or to a special
bottleneck parameter (it would exist only for one reference).

At full folded resolution (prep, ``enc1``, ``dec1``, head) the choices stop at
``full_res_max_width``: an 88x88 map costs 88*88*4 B = 30,976 B per data-memory instance and
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
- A separable level-2 decoder level whose input is a concatenation of more than 64 channels
  writes a second 2-pass map beside the gapped 2-pass concatenation (4 x 7,744 B); measured,
  none of 35 such specs with the level-1 skip fitted, 3 of 31 without.

A capped width keeps the plain parameter name where the cap removes no choice; otherwise it is
drawn under ``<name>_max<cap>`` (e.g. ``enc2_width_max56``) over the multiples of 4 up to the
cap, so every parameter name keeps one distribution (Optuna rejects dynamic categorical
choices), and every sampled width still obeys the 4/64 rule: with a live full-resolution skip,
level-2/3 widths above 64 (whole passes of 64 processors, every instance) can never be
deployed, so they are not offered there; the bottleneck keeps them at depth 4. A skip or
separable choice left out for data memory becomes ``dec{l}_skip_unfit`` /
``dec{l}_separable_unfit``, an int distribution with the single value 0, like the
``_per_pass`` trick above: samplers never draw it, and a fixed or enqueued trial may set 1 to
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

PASS_WIDTH = 64  # processors per pass
DEFAULT_WIDTHS = tuple(range(4, 65, 4)) + (128, 192, 256)


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
    "Data memory" in the module docstring for the rules.
    """

    def __init__(self, space: UNetSpace, size: tuple[int, int]) -> None:
        self.space, self.size = space, size
        self.w1 = self.up1 = 0
        self.skip1 = False

    def holds(self, level: int) -> bool:
        """Whether a 1-pass full-resolution tensor keeps a level-``level`` 1-pass tensor out of
        its data-memory instances (the two do not fit one instance together)."""
        return self.map_bytes(1) + self.map_bytes(level) > self.space.instance_bytes

    def map_bytes(self, level: int) -> int:
        """Bytes per instance of a 1-pass map at ``level`` (4 channels per 32-bit word)."""
        h, w = (side // 2 ** (level - 1) for side in self.size)
        return 4 * h * w

    def _x_cap(self) -> int | None:
        # the level-2 tensor upconv1 reads must avoid upconv1's output and, with the level-1
        # skip, enc1 (upconv1 sits right below it)
        if not self.holds(2):
            return None
        return PASS_WIDTH - _processors(self.up1) - (_processors(self.w1) if self.skip1 else 0)

    def enc_cap(self, level: int, depth: int) -> int | None:
        if level == 1 or not self.holds(level):
            return None
        # enc2 is written while its input enc1 is live; deeper levels only with the skip
        cap = PASS_WIDTH - _processors(self.w1) if level == 2 or self.skip1 else None
        if level == 2 and depth == 2:
            cap = _min(cap, self._x_cap())
        return cap

    def dec_cap(self, level: int, last: bool = False) -> int | None:
        if level == 1 or not self.holds(level):
            return None
        cap = PASS_WIDTH - _processors(self.w1) if self.skip1 else None
        if level == 2 and last:
            cap = _min(cap, self._x_cap())
        return cap

    def up_max(self, level: int) -> int | None:
        if level == 1 and self.holds(2):
            # leave at least one instance to the level-2 tensor it reads
            return min(self.space.full_res_max_width, PASS_WIDTH - 4)
        return self.space._level_cap(level)

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
        """A separable decoder level reading a concatenation of more than 64 channels writes
        a second 2-pass map beside the gapped 2-pass concatenation; left out where an
        instance cannot hold five 1-pass maps of the level (level 2 at 88x88 on MAX78000;
        level 1 is left alone: measured, its wide concatenations fail with or without)."""
        wide = skip and 2 * width > PASS_WIDTH
        return wide and level > 1 and 5 * self.map_bytes(level) > self.space.instance_bytes

    def add(self, level: int, width: int, skip: bool, up: int) -> None:
        if level == 1:
            self.w1, self.skip1, self.up1 = width, skip, up


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True)
class UNetSpace:
    """A U-Net search space; call it with an Optuna trial to get an :class:`ArchSpec`.

    Attributes:
        name: registry name.
        widths: channel choices; each must obey :func:`~nas.spec.width_rule_ok`.
        depth_range: (min, max) encoder levels incl. the bottleneck.
        fold_ratios: fold-ratio choices (the input is folded r x r into channels).
        input_size: folded chip input (rows, columns) the specs are deployed at (88x88 =
            352x352 crops at fold 4, whatever the fold ratio: crops are ``fold x input_size``);
            every depth must pool it cleanly. :meth:`at_input_size` rebuilds a space for
            another size.
        n_convs_range: (min, max) convs per encoder / decoder level.
        kernels: kernel choices of encoder and decoder convs.
        max_prep: most 1x1 prep layers.
        max_head: most 1x1 head layers.
        full_res_max_width: widest channel choice for layers at full (folded) resolution:
            prep, decoder level 1, head (encoder level 1: half of it). See "Widths" above.
        depthwise: whether separable convs may be depthwise (MAX78002 only).
        batchnorms: BN choices (``"noaffine"`` as ai8x; ``"affine"`` only for MAX78002 refs).
        num_classes: classes of the task the specs are built for.
        in_channels: image channels before folding.
        instance_bytes: bytes of one data-memory instance (4 processors); decides which
            levels a live full-resolution tensor squeezes (see "Data memory" above).
    """

    name: str
    widths: tuple[int, ...] = DEFAULT_WIDTHS
    depth_range: tuple[int, int] = (2, 4)
    fold_ratios: tuple[int, ...] = (4,)
    input_size: tuple[int, int] = DEFAULT_INPUT_SIZE
    n_convs_range: tuple[int, int] = (1, 2)
    kernels: tuple[int, ...] = (1, 3)
    max_prep: int = 3
    max_head: int = 3
    full_res_max_width: int = 64
    depthwise: bool = False
    batchnorms: tuple[str, ...] = ("noaffine",)
    num_classes: int = 4
    in_channels: int = 3
    instance_bytes: int = 32 * 1024

    def __post_init__(self) -> None:
        bad = [w for w in self.widths if not width_rule_ok(w)]
        if bad or not self.widths:
            raise ValueError(
                "widths must be non-empty multiples of 4 up to 64 and of 64 above, "
                f"but got {bad or 'none'}"
            )
        lo, hi = self.depth_range
        if not MIN_DEPTH <= lo <= hi <= MAX_DEPTH:
            raise ValueError(
                f"depth_range must lie within [{MIN_DEPTH}, {MAX_DEPTH}], "
                f"but got depth_range={self.depth_range}"
            )
        object.__setattr__(self, "input_size", input_size(self.input_size))
        if any(side % 2 ** (hi - 1) for side in self.input_size):
            h, w = self.input_size
            raise ValueError(
                f"depth {hi} pools the input {hi - 1} times, so the folded input size "
                f"{h}x{w} must be divisible by 2**{hi - 1} = {2 ** (hi - 1)}; "
                f"lower depth_range or change input_size"
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

    # -- trial -> spec --------------------------------------------------------------------
    def __call__(self, trial: BaseTrial) -> ArchSpec:
        """Sample (or replay) an architecture."""
        fold = trial.suggest_categorical("fold_ratio", self.fold_ratios)
        batchnorm = self.batchnorms[0]
        if len(self.batchnorms) > 1:
            batchnorm = trial.suggest_categorical("batchnorm", self.batchnorms)

        full = self.full_res_max_width
        prep = tuple(
            self._conv(trial, f"prep{i}", self._width(trial, f"prep{i}_width", full), 1)
            for i in range(trial.suggest_int("n_prep", 0, self.max_prep))
        )
        depth = trial.suggest_int("depth", *self.depth_range)
        encoder: list[EncoderLevel] = []
        skips: dict[int, bool] = {}
        ups: dict[int, int] = {}
        budget = _Budget(self, self.input_size)
        for level in range(1, depth + 1):
            p = f"enc{level}"
            cap = budget.enc_cap(level, depth)
            width = self._width(trial, f"{p}_width", self._level_cap(level, encoder=True), cap)
            n = trial.suggest_int(f"{p}_n_convs", *self.n_convs_range)
            kernels = [trial.suggest_categorical(f"{p}_conv{j}_kernel", self.kernels)
                       for j in range(n)]
            sep, dw = self._separable(trial, p)
            encoder.append(EncoderLevel(tuple(
                ConvSpec(width, k, separable=sep, depthwise=dw) for k in kernels
            )))
            if level == depth:
                break
            # the level's skip (and, without it, its upsampling width) are drawn with the
            # encoder level: they decide how many processors the deeper levels may use
            skip = budget.skip_offered(level, width) and trial.suggest_categorical(
                f"dec{level}_skip", (True, False)
            )
            if budget.skip_blocked(level, width):
                # samplers always say no; a fixed trial may say yes (see "Data memory")
                skip = bool(trial.suggest_int(f"dec{level}_skip_unfit", 0, 0))
            skips[level] = skip
            if skip:
                ups[level] = width
            else:
                ups[level] = self._width(trial, f"dec{level}_up",
                                         budget.up_max(level), budget.dec_cap(level))
            budget.add(level, width, skip, ups[level])
        decoder = []
        for level in range(depth - 1, 0, -1):
            p = f"dec{level}"
            n = trial.suggest_int(f"{p}_n_convs", *self.n_convs_range)
            shapes = [(self._width(trial, f"{p}_conv{j}_width", self._level_cap(level),
                                   budget.dec_cap(level, last=j == n - 1)),
                       trial.suggest_categorical(f"{p}_conv{j}_kernel", self.kernels))
                      for j in range(n)]
            sep, dw = self._separable(
                trial, p, budget.separable_blocked(level, encoder[level - 1].width, skips[level])
            )
            decoder.append(DecoderLevel(ups[level], tuple(
                ConvSpec(w, k, separable=sep, depthwise=dw) for w, k in shapes
            ), skip=skips[level]))
        n_head = trial.suggest_int("n_head", 0, self.max_head)
        head = tuple(
            self._conv(trial, f"head{i}", self._width(trial, f"head{i}_width", full), 1,
                       relu=i < n_head - 1)
            for i in range(n_head)
        )
        spec = ArchSpec(
            name="unet",
            num_classes=self.num_classes,
            encoder=tuple(encoder),
            decoder=tuple(decoder),
            prep=prep,
            head=head,
            in_channels=self.in_channels,
            fold_ratio=fold,
            batchnorm=batchnorm,
        )
        return dataclasses.replace(spec, name=_name_for(spec))

    def _level_cap(self, level: int, encoder: bool = False) -> int | None:
        if level > 1:
            return None
        # enc1 also feeds dec1's concatenation of two equal parts, which must fit one pass
        return self.full_res_max_width // 2 if encoder else self.full_res_max_width

    def _widths(self, max_width: int | None) -> tuple[int, ...]:
        if max_width is None:
            return self.widths
        return tuple(w for w in self.widths if w <= max_width)

    def _width(self, trial: BaseTrial, name: str, max_width: int | None = None,
               cap: int | None = None) -> int:
        name, widths = self._width_choices(name, max_width, cap)
        width = trial.suggest_categorical(name, widths)
        if width <= PASS_WIDTH:
            return width
        per_pass = trial.suggest_int(f"{name}_per_pass", PASS_WIDTH, PASS_WIDTH)
        return width // PASS_WIDTH * per_pass

    def _width_choices(
        self, name: str, max_width: int | None, cap: int | None
    ) -> tuple[str, tuple[int, ...]]:
        """Parameter name and choices: a data-memory ``cap`` that removes choices gets its
        own name (``<name>_max<cap>``), so every name keeps one fixed distribution."""
        widths = self._widths(max_width)
        if cap is None or all(w <= cap for w in widths):
            return name, widths
        capped = tuple(w for w in widths if w <= cap)
        if not capped:
            raise ValueError(f"{name}: no width fits the {cap} processors left")
        return f"{name}_max{cap}", capped

    def _separable(self, trial: BaseTrial, prefix: str,
                   blocked: bool = False) -> tuple[bool, bool]:
        if blocked:  # samplers always say no; a fixed trial may say yes (see "Data memory")
            sep = bool(trial.suggest_int(f"{prefix}_separable_unfit", 0, 0))
        else:
            sep = trial.suggest_categorical(f"{prefix}_separable", (False, True))
        dw = bool(sep and self.depthwise
                  and trial.suggest_categorical(f"{prefix}_depthwise", (False, True)))
        return sep, dw

    def _conv(self, trial: BaseTrial, prefix: str, width: int, kernel: int,
              relu: bool = True) -> ConvSpec:
        sep, dw = self._separable(trial, prefix)
        return ConvSpec(width, kernel, relu=relu, separable=sep, depthwise=dw)

    def at_input_size(self, size: tuple[int, int]) -> UNetSpace:
        """This space for another folded input size (``ValueError`` if a depth cannot pool it)."""
        return dataclasses.replace(self, input_size=input_size(size))

    # -- spec -> params -------------------------------------------------------------------
    def params_for(self, spec: ArchSpec) -> dict[str, Any]:
        """The parameters that make this space return ``spec`` (e.g. to enqueue a reference).

        ``FixedTrial(space.params_for(spec))`` and ``study.enqueue_trial(...)`` rebuild
        ``spec`` exactly (num_classes comes from the space).

        Raises:
            ValueError: ``spec`` is not in this space; the message names the first reason.
        """
        p: dict[str, Any] = {"fold_ratio": spec.fold_ratio}
        if len(self.batchnorms) > 1:
            p["batchnorm"] = spec.batchnorm
        p["n_prep"] = len(spec.prep)
        for i, c in enumerate(spec.prep):
            p |= self._width_params(f"prep{i}_width", c.out, self.full_res_max_width)
            p |= self._separable_params(f"prep{i}", (c,))
        p["depth"] = spec.depth
        budget = _Budget(self, self.input_size)
        dec = {spec.depth - 1 - k: lvl for k, lvl in enumerate(spec.decoder)}
        for level, lvl in enumerate(spec.encoder, start=1):
            pre = f"enc{level}"
            widths = {c.out for c in lvl.convs}
            if len(widths) > 1:
                raise ValueError(f"{pre}: the space gives all convs of an encoder level one "
                                 f"width, but the spec has {sorted(widths)}")
            p |= self._width_params(f"{pre}_width", lvl.width,
                                    self._level_cap(level, encoder=True),
                                    budget.enc_cap(level, spec.depth))
            p[f"{pre}_n_convs"] = len(lvl.convs)
            for j, c in enumerate(lvl.convs):
                p[f"{pre}_conv{j}_kernel"] = c.kernel
            p |= self._separable_params(pre, lvl.convs)
            if level == spec.depth:
                break
            d, pre = dec[level], f"dec{level}"
            if budget.skip_offered(level, lvl.width):
                p[f"{pre}_skip"] = d.skip
            elif budget.skip_blocked(level, lvl.width):
                p[f"{pre}_skip_unfit"] = int(d.skip)
            elif d.skip:
                raise ValueError(f"{pre}: the space offers skips only from levels of at most "
                                 f"{PASS_WIDTH} channels (izer concatenates 1-pass parts)")
            if d.skip and d.up != lvl.width:
                raise ValueError(
                    f"{pre}: with a skip the space gives the upsampling the skip's width "
                    f"{lvl.width} (izer concatenates equal parts only), but the spec has "
                    f"up={d.up}"
                )
            if not d.skip:
                p |= self._width_params(f"{pre}_up", d.up, budget.up_max(level),
                                        budget.dec_cap(level))
            budget.add(level, lvl.width, d.skip, d.up)
        for level in range(spec.depth - 1, 0, -1):
            lvl, pre = dec[level], f"dec{level}"
            p[f"{pre}_n_convs"] = len(lvl.convs)
            for j, c in enumerate(lvl.convs):
                p |= self._width_params(f"{pre}_conv{j}_width", c.out, self._level_cap(level),
                                        budget.dec_cap(level, last=j == len(lvl.convs) - 1))
                p[f"{pre}_conv{j}_kernel"] = c.kernel
            p |= self._separable_params(pre, lvl.convs, budget.separable_blocked(
                level, spec.encoder[level - 1].width, lvl.skip))
        p["n_head"] = len(spec.head)
        for i, c in enumerate(spec.head):
            p |= self._width_params(f"head{i}_width", c.out, self.full_res_max_width)
            p |= self._separable_params(f"head{i}", (c,))

        # The rules above cover the shape; replaying catches everything else (ReLU placement,
        # bits, bias, choices outside this space) in one place.
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

    def _width_params(
        self, name: str, width: int, max_width: int | None = None, cap: int | None = None
    ) -> dict[str, int]:
        try:
            name, widths = self._width_choices(name, max_width, cap)
        except ValueError as e:
            raise ValueError(f"{e}; the spec has {name}={width}") from None
        if width <= PASS_WIDTH:
            if width not in widths:
                raise ValueError(f"{name}={width} is not one of the space's widths {widths}")
            return {name: width}
        passes = -(-width // PASS_WIDTH)
        if not width_packs_evenly(width) or PASS_WIDTH * passes not in widths:
            raise ValueError(f"{name}={width} is neither on the space's width grid nor "
                             f"{passes} equal passes of a grid width")
        return {name: PASS_WIDTH * passes, f"{name}_per_pass": width // passes}

    def _separable_params(self, prefix: str, convs: tuple[ConvSpec, ...],
                          blocked: bool = False) -> dict[str, Any]:
        seps = {c.separable for c in convs}
        dws = {c.depthwise for c in convs}
        if len(seps) > 1 or len(dws) > 1:
            raise ValueError(f"{prefix}: the space makes all convs of a level separable or "
                             f"none, depthwise or none")
        sep, dw = seps.pop(), dws.pop()
        out: dict[str, Any] = (
            {f"{prefix}_separable_unfit": int(sep)} if blocked else {f"{prefix}_separable": sep}
        )
        if dw and not self.depthwise:
            raise ValueError(f"{prefix} is depthwise, which space {self.name!r} does not "
                             f"allow (depthwise runs on MAX78002 only)")
        if sep and self.depthwise:
            out[f"{prefix}_depthwise"] = dw
        return out


unet_max78000 = UNetSpace(name="unet_max78000")
"""The default space: MAX78000, 352x352 crops folded to 88x88, depth 2-4, no depthwise."""

unet_max78002 = UNetSpace(
    name="unet_max78002", depthwise=True, batchnorms=("noaffine", "affine"),
    full_res_max_width=128, instance_bytes=80 * 1024,
)
"""As :data:`unet_max78000` plus depthwise-separable convs and affine BN (MAX78002 only);
it contains ``unetmysmall-x86``."""


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
