"""Named training budgets: ``smoke`` (tests), ``proxy`` (the search), ``full`` (final recipe).

Sizes are in pixels of the frame *after* scaling by ``scale`` (CamVid frames are 480x360), and
before folding: a 352 crop with fold ratio 4 is the chip's 48x88x88 input. A crop must be a
multiple of ``fold_ratio * 2**(depth-1)`` (32 for fold 4, depth 4).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

SCHEDULES = ("onecycle", "cosine", "constant")
AMP_MODES = ("auto", "bf16", "none")


@dataclass(frozen=True)
class Preset:
    """A training budget.

    Attributes:
        name: registry name.
        scale: frame scale factor applied when loading (1.0 = 480x360).
        crop: square training crop in (scaled) pixels; one random crop per frame per epoch.
        epochs: training epochs (the last ``qat_epochs`` of them quantisation-aware).
        batch_size: crops per optimiser step.
        lr: peak Adam learning rate.
        weight_decay: Adam weight decay (L2).
        schedule: ``onecycle`` (linear warm-up then cosine), ``cosine`` or ``constant``.
        warmup_frac: fraction of the steps spent warming up (``onecycle`` only).
        qat_epochs: final epochs trained with ai8x-style fake quantisation (0 = none).
        low_bit_qat_epochs: final QAT epochs for architectures with weights below 8 bits, if
            more than ``qat_epochs``: float training scores a 2- or 4-bit net as if it ran at
            8 bits, and quantising it afterwards without QAT loses most of its mIoU
            (BENCHMARKS.md, "Mixed-precision weights").
        low_bit_pricing: train a low-bit net whose widths all have a measured full-recipe
            penalty as its 8-bit twin (float, then ``qat_epochs`` at 8 bits), and subtract that
            penalty from its mIoU
            (:mod:`nas.train._pricing`) instead of training its ``low_bit_qat_epochs``
            quantisation-aware: too short a QAT phase charges low bits far more than ``full``.
        qat_lr_scale: learning-rate factor during the QAT epochs. Folding BN shrinks many
            weights, and Adam's steps do not shrink with them.
        bias_clip_bits: during QAT, layers with weights of at most this many bits keep
            ``|bias| <= max|weight|`` (:func:`nas.models.clip_low_bit_biases`), so the weights,
            not a folded BN bias several times larger, set the layer's power-of-two scale;
            0 = never (ai8x's behaviour). Default 2: without it 2-bit nets collapse
            (BENCHMARKS.md, "Low-bit weights priced as the full recipe prices them").
        clip_quantile: with ``bias_clip_bits``, those layers' weights are clipped to this
            quantile of ``|w|`` too (1.0: biases only), so that the bulk of the weights, not
            a few outliers, sets the scale (ai8x's 2-bit policies use a ``shift_quantile``
            of 0.985 over weights and biases for the same reason).
        max_train_frames: use at most this many training frames (evenly spaced); None = all.
        max_val_frames: evaluate on at most this many val frames (evenly spaced); None = all.
        eval_crop: square tile size for evaluation; tiles cover each frame at label resolution.
        eval_every: evaluate every this many epochs (the last epoch is always evaluated).
        hflip: random horizontal flips of the training crops.
        class_weights: weight the loss with the task's class weights (if it has any).
        amp: ``bf16`` autocast, ``none`` (fp32) or ``auto``: bf16 where the hardware computes
            it natively (CUDA; CPUs with AVX-512 BF16 or AMX), else fp32
            (:func:`resolve_amp`). On a CPU without them oneDNN has no bf16 convolution and
            PyTorch falls back to a generic one: 7-8x slower than fp32 on an AVX2 EPYC
            (BENCHMARKS.md, "Proxy training speed").
        channels_last: NHWC memory format. Chosen per preset by measurement (one thread,
            CPU time; BENCHMARKS.md): at the proxies' 40x40 folded input 4-8% faster in
            bf16 and 8-16% faster in fp32 (AVX2 CPU), at 88x88 10-16% slower in both, so
            on for ``proxy``/``proxy-fast`` only.
        threads: ``torch.set_num_threads`` value; None leaves PyTorch's default.
        deployment: trains at the deployment resolution: :meth:`at_input_size` sets ``crop``
            and ``eval_crop`` to ``fold_ratio x`` the folded chip input (352 for 88x88 at
            fold 4). A proxy preset (``False``) keeps its own, smaller crops.
    """

    name: str
    scale: float
    crop: int
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    schedule: str = "onecycle"
    warmup_frac: float = 0.1
    qat_epochs: int = 0
    low_bit_qat_epochs: int = 0
    qat_lr_scale: float = 1.0
    bias_clip_bits: int = 2
    clip_quantile: float = 0.985
    low_bit_pricing: bool = False
    max_train_frames: int | None = None
    max_val_frames: int | None = None
    eval_crop: int = 352
    eval_every: int = 1
    hflip: bool = True
    class_weights: bool = False
    amp: str = "auto"
    channels_last: bool = False
    threads: int | None = None
    deployment: bool = False

    def __post_init__(self) -> None:
        def check(cond: bool, msg: str) -> None:
            if not cond:
                raise ValueError(f"preset {self.name!r}: {msg}")

        check(0 < self.scale <= 1.0, f"scale must be in (0, 1], but got scale={self.scale}")
        check(self.crop > 0, f"crop must be > 0, but got crop={self.crop}")
        check(self.eval_crop > 0, f"eval_crop must be > 0, but got eval_crop={self.eval_crop}")
        check(self.epochs >= 1, f"epochs must be >= 1, but got epochs={self.epochs}")
        check(self.batch_size >= 1, f"batch_size must be >= 1, but got {self.batch_size}")
        check(self.lr > 0, f"lr must be > 0, but got lr={self.lr}")
        check(self.schedule in SCHEDULES,
              f"schedule must be one of {SCHEDULES}, but got {self.schedule!r}")
        check(0 <= self.warmup_frac < 1, f"warmup_frac must be in [0, 1), got {self.warmup_frac}")
        check(0 <= self.qat_epochs <= self.epochs,
              f"qat_epochs must be in [0, epochs={self.epochs}], but got {self.qat_epochs}")
        check(self.bias_clip_bits in (0, 1, 2, 4, 8),
              f"bias_clip_bits must be 0, 1, 2, 4 or 8, but got {self.bias_clip_bits}")
        check(0.5 <= self.clip_quantile <= 1,
              f"clip_quantile must be in [0.5, 1], but got {self.clip_quantile}")
        check(self.qat_lr_scale > 0, f"qat_lr_scale must be > 0, but got {self.qat_lr_scale}")
        check(0 <= self.low_bit_qat_epochs <= self.epochs,
              f"low_bit_qat_epochs must be in [0, epochs={self.epochs}], but got "
              f"{self.low_bit_qat_epochs}")
        check(self.amp in AMP_MODES, f"amp must be one of {AMP_MODES}, but got {self.amp!r}")
        check(self.eval_every >= 1, f"eval_every must be >= 1, but got {self.eval_every}")
        for f in ("max_train_frames", "max_val_frames", "threads"):
            v = getattr(self, f)
            check(v is None or v >= 1, f"{f} must be None or >= 1, but got {f}={v}")

    def qat_epochs_for(self, low_bits: bool) -> int:
        """QAT epochs for an architecture with (``low_bits``) or without weights below 8 bits."""
        return max(self.qat_epochs, self.low_bit_qat_epochs) if low_bits else self.qat_epochs

    def replace(self, **changes: object) -> Preset:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def at_input_size(self, size: tuple[int, int], fold_ratio: int) -> Preset:
        """This preset for a net deployed at the folded input ``size`` (rows, columns)."""
        if not self.deployment:
            return self
        h, w = size
        if h != w:
            raise ValueError(
                f"preset {self.name!r} trains on square crops at the deployment resolution, "
                f"but the input size is {h}x{w}; use a square --input-size or a proxy preset")
        crop = h * fold_ratio
        if (crop, crop) == (self.crop, self.eval_crop):
            return self
        return self.replace(crop=crop, eval_crop=crop)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS: dict[str, Preset] = {}


def register_preset(preset: Preset) -> Preset:
    """Add a preset to :data:`PRESETS` (names are unique)."""
    if preset.name in PRESETS:
        raise ValueError(f"preset {preset.name!r} is already registered")
    PRESETS[preset.name] = preset
    return preset


def get_preset(name: str | Preset) -> Preset:
    """Preset by name (a :class:`Preset` passes through); unknown names list the valid ones."""
    if isinstance(name, Preset):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; available: {sorted(PRESETS)}") from None


def resolve_amp(amp: str, device: str = "cpu") -> str:
    """``bf16`` or ``none``: ``amp`` itself, or for ``auto`` what ``device`` runs fastest.

    ``auto`` gives bf16 on CUDA when the GPU supports it, and on a CPU only with native bf16
    dot products (AVX-512 BF16 or AMX): there oneDNN runs bf16 convolutions 1.4-1.7x faster
    than fp32; without them (AVX2 only) PyTorch falls back to a slow generic convolution.
    """
    import torch

    if amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}, but got amp={amp!r}")
    if amp != "auto":
        return amp
    if str(device).startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "none"
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return "bf16" if native else "none"


def list_presets() -> list[str]:
    return sorted(PRESETS)


# Seconds on synthetic data: tests and CI. 32 px crops fold to 8x8 (depth <= 4 at fold 4).
# One thread: tiny nets gain nothing from two, and one is immune to a busy CPU.
register_preset(Preset(
    name="smoke", scale=1.0, crop=32, epochs=1, batch_size=4, lr=3e-3, schedule="constant",
    max_train_frames=4, max_val_frames=4, eval_crop=32, hflip=False, amp="none", threads=1,
))

# The search default (chosen by measurement: benchmarks/proxy_speed.py and
# benchmarks/proxy_fidelity.py, see BENCHMARKS.md): half-scale frames (240x180), 160 px crops
# (40x40 folded), 10 epochs of one crop per frame, a high peak LR, evaluated once at the end.
# Nets with weights below 8 bits train their last LOW_BIT_QAT_EPOCHS quantisation-aware, so the
# search scores them at their real width (float training would score them as 8-bit nets);
# measured in BENCHMARKS.md, "Mixed-precision weights".
PROXY_LOW_BIT_QAT_EPOCHS = 2
register_preset(Preset(
    name="proxy", scale=0.5, crop=160, epochs=10, batch_size=16, lr=4e-3,
    schedule="onecycle", warmup_frac=0.15, eval_crop=160, eval_every=10, channels_last=True,
    low_bit_qat_epochs=PROXY_LOW_BIT_QAT_EPOCHS, low_bit_pricing=True,
))

# A cheaper proxy (half the training pixels of `proxy`) for large searches; its fidelity is in
# BENCHMARKS.md next to `proxy`'s.
register_preset(Preset(
    name="proxy-fast", scale=0.5, crop=128, epochs=8, batch_size=16, lr=4e-3,
    schedule="onecycle", warmup_frac=0.15, eval_crop=160, eval_every=8, channels_last=True,
    low_bit_qat_epochs=PROXY_LOW_BIT_QAT_EPOCHS, low_bit_pricing=True,
))

# `proxy` for twice the epochs (2x its training pixels and time): a candidate second rung for
# the trusted-default issue. On the 8 old-headline nets with a full-recipe value it ranked them
# with Kendall tau 0.93 / 0.79 (seeds 0 / 1) against 0.43 / 0.36 for `proxy`, mainly by lifting
# the slow learner unetmysmall (BENCHMARKS.md, "A front you can trust by default").
register_preset(PRESETS["proxy"].replace(name="proxy-long", epochs=20, eval_every=20))

# The final recipe at the deployment resolution: 352 crops of full frames (48x88x88 folded),
# 100 epochs of one-cycle Adam, the last 20 quantisation-aware as ai8x does it.
register_preset(Preset(
    name="full", scale=1.0, crop=352, epochs=100, batch_size=16, lr=1e-3,
    schedule="onecycle", warmup_frac=0.05, qat_epochs=20, eval_crop=352, eval_every=5,
    deployment=True,
))

# The middle rung of `run_search.py --rungs proxy,medium`: `full`'s resolution (352 crops of full
# frames, 48x88x88 folded) for a fifth of its epochs, the last 4 quantisation-aware for every net
# as `full` does. Measured (BENCHMARKS.md, "Rungs and early stop"): ~10x a proxy trial on one
# CPU thread, and it ranks 8 nets from the top of the headline front exactly as `full` does
# (Kendall tau 1.0; the proxy: 0.50). Low bits are priced as in the proxy: 4 QAT epochs at 4 bits
# charged ai85unetlarge-w4 0.10 (0.725 against 0.827 at 8 bits), the full recipe 0.015
# (BENCHMARKS.md, "Low-bit weights priced as the full recipe prices them").
register_preset(Preset(
    name="medium", scale=1.0, crop=352, epochs=20, batch_size=16, lr=2e-3,
    schedule="onecycle", warmup_frac=0.1, qat_epochs=4, eval_crop=352, eval_every=20,
    deployment=True, low_bit_pricing=True,
))

# A shortened `full` for benchmarks/proxy_fidelity.py: same resolution, fewer epochs, no QAT
# (the session budget does not allow 100 epochs x 12 nets on 2 cores).
register_preset(Preset(
    name="fidelity-full", scale=1.0, crop=352, epochs=10, batch_size=16, lr=2e-3,
    schedule="onecycle", warmup_frac=0.1, eval_crop=352, eval_every=10, deployment=True,
))
