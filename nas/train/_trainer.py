"""The trainer: Adam + LR schedule + cross-entropy on the unfolded logits, optional QAT.

It knows nothing about the search: progress is reported through ``callback(epoch, metrics)``,
and a callback that returns ``True`` stops the training after that epoch (a caller's early
stop: the search stops trials that cannot reach its front).
Per epoch every training frame gives one random crop (optionally flipped), which is
normalised like ai8x, folded to the chip's input and fed in shuffled batches. Evaluation
runs on deterministic tiles covering each val frame, with the logits unfolded back to the
label resolution.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nas._resources import TORCH_DEVICES
from nas.data import get_task, random_crops
from nas.metrics import ConfusionMatrix
from nas.models import build_model, clip_low_bit_biases, enable_qat
from nas.spec import ArchSpec
from nas.train._checkpoint import save_checkpoint
from nas.train._data import load_frames, prepare_batch
from nas.train._errors import TrainingDivergedError, TrainingOutOfMemoryError
from nas.train._presets import Preset, get_preset, resolve_amp
from nas.train._pricing import eight_bit_twin, is_priced, low_bit_penalty
from nas.train._resume import partial_path, read_state, training_key, twin_file, write_state

Callback = Callable[[int, dict[str, Any]], bool | None]


@dataclass
class TrainResult:
    """Outcome of :func:`train`; metrics are those of the last epoch on ``val_split``.

    Attributes:
        miou: mean IoU over classes with a non-empty union; with a ``low_bit_pricing`` preset
            and a low-bit net trained in float, that minus the full recipe's penalty for its
            widths (``measured_miou`` holds the mIoU measured, per-class IoUs are measured).
        per_class_iou: class name -> IoU (NaN for a class absent from labels and predictions).
        pixel_accuracy: correct / labelled pixels.
        seconds: wall time of the whole call (data loading included), in seconds.
        epochs: epochs trained (fewer than the preset's when the callback stopped it).
        history: one dict per epoch (``loss``, ``lr``, ``seconds`` and, when evaluated,
            ``miou``, ``pixel_accuracy``, ``per_class_iou``).
        checkpoint_path: where the checkpoint was written, or None.
    """

    miou: float
    per_class_iou: dict[str, float]
    pixel_accuracy: float
    seconds: float
    epochs: int
    history: list[dict[str, Any]] = field(default_factory=list)
    checkpoint_path: Path | None = None
    train_images_per_second: float = 0.0
    stopped_early: bool = False  # the callback asked to stop before the last epoch
    # low_bit_pricing presets: miou = measured_miou - low_bit_penalty (nas.train._pricing)
    measured_miou: float | None = None
    low_bit_penalty: float | None = None  # None: not priced (8-bit, or trained with QAT)

    def to_dict(self) -> dict[str, Any]:
        return {
            "miou": self.miou, "per_class_iou": self.per_class_iou,
            "pixel_accuracy": self.pixel_accuracy, "seconds": self.seconds,
            "epochs": self.epochs, "train_images_per_second": self.train_images_per_second,
            "stopped_early": self.stopped_early, "measured_miou": self.measured_miou,
            "low_bit_penalty": self.low_bit_penalty,
            "checkpoint_path": str(self.checkpoint_path) if self.checkpoint_path else None,
        }


def lr_at(step: int, total: int, preset: Preset) -> float:
    """Learning rate for optimiser step ``step`` of ``total`` under the preset's schedule."""
    lr = preset.lr
    if preset.schedule == "constant":
        return lr
    if preset.schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * step / max(total, 1)))
    # onecycle: linear warm-up from lr/25, then cosine down to lr/1000 (as torch's OneCycleLR).
    warm = int(preset.warmup_frac * total)
    if step < warm:
        return lr / 25 + (lr - lr / 25) * step / warm
    t = (step - warm) / max(total - warm, 1)
    return lr / 1000 + (lr - lr / 1000) * 0.5 * (1 + math.cos(math.pi * t))


def check_compatible(spec: ArchSpec, task: Any, preset: Preset) -> None:
    """Raise ``ValueError`` if ``spec`` cannot be trained on ``task`` with ``preset``."""
    if spec.num_classes != task.num_classes:
        raise ValueError(
            f"{spec.name} has num_classes={spec.num_classes} but task {task.name!r} has "
            f"{task.num_classes} classes"
        )
    if spec.in_channels != 3:
        raise ValueError(f"CamVid is RGB: in_channels must be 3, but got {spec.in_channels}")
    multiple = spec.fold_ratio * spec.min_input_multiple
    for what in ("crop", "eval_crop"):
        size = getattr(preset, what)
        if size % multiple:
            raise ValueError(
                f"preset {preset.name!r} {what}={size} is not divisible by fold_ratio * "
                f"2**(depth-1) = {spec.fold_ratio} * {spec.min_input_multiple} = {multiple} "
                f"required by {spec.name} (depth {spec.depth})"
            )


def _autocast(device: torch.device, amp: str) -> contextlib.AbstractContextManager:
    if resolve_amp(amp, device.type) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def forward_logits(model: nn.Module, x: torch.Tensor, fold_ratio: int, amp: str) -> torch.Tensor:
    """Folded input -> float32 logits per folded pixel ``[B*r*r, classes, H, W]``.

    The chip's output ``[B, r*r*classes, H, W]`` holds, in channel ``(i*r + j)*classes + c``,
    class ``c`` of the label pixel ``(h*r + i, w*r + j)`` (``nas.data.fold`` order), so a view
    puts the classes on dim 1 without unfolding: the loss and the confusion matrix take the
    labels folded the same way (:func:`~nas.train._data.fold_labels`). Same pixels, same
    sums as on unfolded logits, minus two strided copies of the largest tensor of the step.
    """
    with _autocast(x.device, amp):
        y = model(x)
    b, c, h, w = y.shape
    # One copy: to float32 and to NCHW (channels_last output cannot be viewed this way).
    y = y.to(torch.float32, memory_format=torch.contiguous_format)
    return y.view(b * fold_ratio * fold_ratio, c // (fold_ratio * fold_ratio), h, w)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    spec: ArchSpec,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    num_classes: int,
    ignore_index: int = 255,
    batch_size: int = 16,
    amp: str = "none",
    channels_last: bool = True,
    device: str | torch.device = "cpu",
) -> ConfusionMatrix:
    """Confusion matrix of ``model`` on uint8 tiles ``images [N,3,c,c]`` / ``labels [N,c,c]``."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    cm = ConfusionMatrix(num_classes, ignore_index)
    for i in range(0, len(images), batch_size):
        x, t = prepare_batch(images[i:i + batch_size], labels[i:i + batch_size],
                             spec.fold_ratio, device, channels_last)
        # Pixel order does not matter to a confusion matrix: compare in the folded layout.
        cm.update(forward_logits(model, x, spec.fold_ratio, amp).argmax(1), t)
    model.train(was_training)
    return cm


def train(
    spec: ArchSpec,
    task: Any,
    preset: str | Preset,
    data_dir: str | Path | None = None,
    *,
    seed: int = 0,
    device: str = "auto",
    callback: Callback | None = None,
    checkpoint_path: str | Path | None = None,
    progress: bool = True,
    val_split: str = "val",
    threads: int | None = None,
    cache_dir: str | Path | None = None,
    resume: bool = False,
    float_phase_dir: str | Path | None = None,
) -> TrainResult:
    """Train ``spec`` on ``task`` with ``preset`` and evaluate it on ``val_split``.

    Args:
        spec: the architecture.
        task: a task name (``camvid4``, ``camvid11``) or a ``nas.data.Task``.
        preset: a preset name (``smoke``, ``proxy``, ``full``, ...) or a :class:`Preset`.
        data_dir: CamVid root; None = ``$CAMVID_DIR``, else ``data/CamVid``.
        seed: seeds the weights, crops, flips and batch order. On CPU the same seed, preset
            and thread count give identical metrics (another thread count changes float
            summation order, hence the numbers; so does the preset's ``amp="auto"``, which
            trains in bf16 or fp32 depending on the CPU: :func:`~nas.train.resolve_amp`).
        device: ``cpu``, ``cuda`` or ``auto`` (CUDA when available, else CPU; untested on a
            GPU so far).
        callback: ``callback(epoch, metrics)`` after each epoch (epochs count from 1);
            returning ``True`` stops the training there. The result then holds that epoch's
            val metrics (evaluated now if the preset's ``eval_every`` skipped it), the
            checkpoint that epoch's model, and ``stopped_early`` is set.
        checkpoint_path: write the final checkpoint here (atomically).
        progress: show a tqdm bar on stderr.
        val_split: ``val`` for the search; ``test`` only for final reports.
        threads: ``torch.set_num_threads`` for this call (overrides the preset's).
        cache_dir: integer cache of the decoded frames (None = the data package's default).
        resume: with ``checkpoint_path``, keep the training state in
            ``<checkpoint_path>.partial`` after every evaluated epoch and continue from such a
            file (same spec, task, preset and seed) instead of starting over: a training killed
            at any point loses at most ``eval_every`` epochs. With the same thread count the
            result equals an uninterrupted run's. The file is removed when the training ends.
        float_phase_dir: keep the state at the end of the float phase (the epoch before QAT
            starts) in this folder, one file per *float twin* (the same net at any weight bits,
            with the same task, preset and seed), and start from such a file when it is there:
            the float epochs do not depend on the weight bits, so a net's 8-, 4- and 2-bit
            variants train them once. With the same thread count the result equals a training
            from scratch.

    Raises:
        ValueError: the spec does not fit the task or preset, or the device is unknown.
        TrainingDivergedError: the loss became NaN or infinite.
        TrainingOutOfMemoryError: a batch did not fit in memory.
    """
    t_start = time.perf_counter()
    preset = get_preset(preset)
    task = get_task(task) if isinstance(task, str) else task
    check_compatible(spec, task, preset)
    dev = torch.device(resolve_device(device))
    with _torch_threads(threads if threads is not None else preset.threads):
        train_data, val_images, val_labels = _load_data(
            data_dir, task, preset, val_split, cache_dir, progress)
        run = _Run.start(spec, task, preset, dev, seed, len(train_data.images))
        partial = partial_path(checkpoint_path) if resume else None
        shared = run.float_phase_file(float_phase_dir, task.name, seed)
        history, seconds_before = run.resume_from(partial, shared, task.name, seed)
        t_start -= seconds_before  # the result's seconds count the earlier part too

        def evaluate_now() -> dict[str, Any]:
            cm = evaluate(run.model, spec, val_images, val_labels,
                          num_classes=task.num_classes, ignore_index=task.ignore_index,
                          batch_size=max(preset.batch_size, 16), amp=preset.amp,
                          channels_last=preset.channels_last, device=dev)
            return _priced(cm.summary(task.class_names), run.penalty)

        bar = _progress_bar(run.total_steps, f"{spec.name} [{preset.name}]", progress)
        bar.update(run.step)
        save = None if partial is None else (
            lambda h: run.save(partial, task.name, seed, h, time.perf_counter() - t_start))
        keep_float = None if shared is None or shared.is_file() else (
            lambda h: run.save(shared, task.name, seed, h, time.perf_counter() - t_start,
                               twin=True))
        final, stopped = _epochs(run, train_data, history, evaluate_now, bar, callback, save,
                                 keep_float)
        bar.close()
        seconds = time.perf_counter() - t_start
        result = run.result(final, stopped, history, seconds, len(train_data.images),
                            checkpoint_path)  # the checkpoint is written before the state goes
        if partial is not None:
            partial.unlink(missing_ok=True)
        return result


def _epochs(run: _Run, data: Any, history: list[dict[str, Any]],
            evaluate_now: Callable[[], dict[str, Any]], bar: Any, callback: Callback | None,
            save: Callable[[list[dict[str, Any]]], Any] | None,
            keep_float: Callable[[list[dict[str, Any]]], Any] | None = None,
            ) -> tuple[dict[str, Any], bool]:
    """Train the epochs after ``history``'s (appending to it); (the val metrics of the model
    it ends with, whether the callback stopped it early). ``save`` keeps the state after every
    evaluated epoch but the last, ``keep_float`` the state before QAT starts."""
    preset = run.preset
    final: dict[str, Any] | None = None
    for epoch in range(len(history) + 1, preset.epochs + 1):
        t_epoch = time.perf_counter()
        if epoch == run.qat_from:
            if keep_float is not None:
                keep_float(history)
            run.switch_to_qat()
        metrics = run.train_epoch(epoch, data, bar)
        evaluated = epoch % preset.eval_every == 0 or epoch == preset.epochs
        if evaluated:
            final = evaluate_now()
            metrics.update(final)
            bar.set_postfix(loss=f"{metrics['loss']:.3f}", miou=f"{metrics['miou']:.3f}")
        else:
            bar.set_postfix(loss=f"{metrics['loss']:.3f}")
        metrics["seconds"] = time.perf_counter() - t_epoch
        history.append(metrics)
        if save is not None and evaluated and epoch < preset.epochs:
            save(history)
        if callback is not None and callback(epoch, metrics) and epoch < preset.epochs:
            # the result must describe the model it returns
            return (final if evaluated and final is not None else evaluate_now()), True
    if final is None:  # unreachable: the last epoch is always evaluated
        raise RuntimeError("no evaluation ran")
    return final, False


# -- the steps of train() ---------------------------------------------------------------------

DEVICES = TORCH_DEVICES  # where PyTorch runs; auto: CUDA if available, else the CPU


def resolve_device(device: str) -> str:
    """``cpu`` or ``cuda``: ``device`` itself (checked), or for ``auto`` CUDA if available."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, but got device={device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' requested but torch.cuda.is_available() is False")
    return device


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """``torch.set_num_threads(n)`` for the block (None: leave as is); restored afterwards."""
    if n is not None and n < 1:
        raise ValueError(f"threads must be >= 1, but got threads={n}")
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _load_data(data_dir: str | Path | None, task: Any, preset: Preset, val_split: str,
               cache_dir: str | Path | None, progress: bool) -> tuple[Any, Any, Any]:
    """(train ``SplitData``, val tiles, val tile labels); checks the crop fits the frames."""
    train_data = load_frames(data_dir, "train", task, preset.scale, preset.max_train_frames,
                             cache_dir=cache_dir, progress=progress)
    val_images, val_labels = load_frames(
        data_dir, val_split, task, preset.scale, preset.max_val_frames,
        cache_dir=cache_dir, progress=progress, tiles=preset.eval_crop)
    if min(train_data.images.shape[-2:]) < preset.crop:
        raise ValueError(
            f"preset {preset.name!r} crop={preset.crop} is larger than the "
            f"{tuple(train_data.images.shape[-2:])} frames (scale={preset.scale})"
        )
    return train_data, val_images, val_labels


@contextlib.contextmanager
def _out_of_memory_as_error(what: str) -> Iterator[None]:
    """Re-raise an allocation failure as :class:`TrainingOutOfMemoryError` naming ``what``."""
    try:
        yield
    except (torch.OutOfMemoryError, RuntimeError) as e:
        # CPU allocation failures are plain RuntimeErrors ("can't allocate memory")
        if not (isinstance(e, torch.OutOfMemoryError) or _is_oom(e)):
            raise
        raise TrainingOutOfMemoryError(f"{what}; use a smaller batch or crop") from e


@dataclass
class _Run:
    """The mutable state of one training run: model, optimiser, RNG, step counter."""

    spec: ArchSpec
    task: Any
    preset: Preset
    device: torch.device
    model: nn.Module
    optimizer: torch.optim.Optimizer
    gen: torch.Generator
    weight: torch.Tensor | None
    steps_per_epoch: int
    total_steps: int
    qat_from: int  # first QAT epoch (1-based); epochs + 1 when the preset has no QAT
    penalty: float | None = None  # mIoU charged for low bits instead of QAT; None: unpriced
    seed: int = 0
    step: int = 0
    qat: bool = False
    train_seconds: float = 0.0

    @classmethod
    def start(cls, spec: ArchSpec, task: Any, preset: Preset, device: torch.device, seed: int,
              n_frames: int) -> _Run:
        low_bits = any(layer.bits < 8 for layer in spec.layers())
        priced = low_bits and preset.low_bit_pricing and is_priced(spec)
        torch.manual_seed(seed)
        # priced: the 8-bit twin's training (its QAT, where the preset has one, at 8 bits)
        model = _to_layout(build_model(eight_bit_twin(spec) if priced else spec).to(device),
                           preset)
        weight = None
        if preset.class_weights and getattr(task, "class_weights", None):
            weight = torch.tensor(task.class_weights, dtype=torch.float32, device=device)
        steps_per_epoch = math.ceil(n_frames / preset.batch_size)
        return cls(
            spec=spec, task=task, preset=preset, device=device, model=model,
            optimizer=_optimizer(model, preset), gen=torch.Generator().manual_seed(seed),
            weight=weight, steps_per_epoch=steps_per_epoch,
            total_steps=preset.epochs * steps_per_epoch,
            qat_from=preset.epochs - preset.qat_epochs_for(low_bits and not priced) + 1,
            penalty=low_bit_penalty(spec) if priced else None, seed=seed,
        )

    def save(self, path: Path, task: str, seed: int, history: list[dict[str, Any]],
             seconds: float, twin: bool = False) -> None:
        """Write the state a later :meth:`restore` continues from (atomically); ``twin``:
        keyed by the float twin (:meth:`float_phase_file`)."""
        write_state(path, self._key(task, seed, twin), {
            "epoch": len(history), "step": self.step, "qat": self.qat,
            "train_seconds": self.train_seconds, "seconds": seconds, "history": history,
            "gen": self.gen.get_state(),
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
        })

    def resume_from(self, partial: Path | None, shared: Path | None, task: str, seed: int
                    ) -> tuple[list[dict[str, Any]], float]:
        """Continue from this training's own state, else from its float twin's, else from
        scratch: (history so far, seconds spent so far)."""
        if partial is not None and partial.is_file():
            return self.restore(partial, task, seed)
        if shared is not None and shared.is_file():
            return self.restore(shared, task, seed, twin=True)
        return [], 0.0

    def float_phase_file(self, folder: str | Path | None, task: str, seed: int) -> Path | None:
        """Where the state before QAT of this net's float twin lives in ``folder`` (None: no
        folder, or a preset without a float phase before QAT)."""
        if folder is None or not 1 < self.qat_from <= self.preset.epochs:
            return None
        return twin_file(folder, self._key(task, seed, twin=True))

    def restore(self, path: Path, task: str, seed: int, twin: bool = False
                ) -> tuple[list[dict[str, Any]], float]:
        """Continue from :meth:`save`'s file: (history so far, seconds spent so far).

        Raises:
            ValueError: the file is unreadable or belongs to another training.
        """
        state = read_state(path, self._key(task, seed, twin))
        if state["qat"]:
            self.switch_to_qat()  # the same modules and parameter list as when it was saved
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.gen.set_state(state["gen"])
        self.step, self.train_seconds = int(state["step"]), float(state["train_seconds"])
        return list(state["history"]), float(state["seconds"])

    def _key(self, task: str, seed: int, twin: bool = False) -> str:
        return training_key(self.spec.to_dict(), task, seed, self.preset.to_dict(),
                            self.qat_from if twin else None)

    def switch_to_qat(self) -> None:
        """ai8x's QAT start: fold BN, fake-quantise. A new optimiser over the new parameter list
        that keeps Adam's moments, as ai8x's update_optimizer does: a fresh Adam moves every
        weight by ~lr in its first steps, which cost the 10-epoch proxy up to 0.16 mIoU at
        8 bits (BENCHMARKS.md, "Mixed-precision weights")."""
        old = self.optimizer
        self.model = _to_layout(enable_qat(self.model).to(self.device), self.preset)
        self._clip_biases()
        self.optimizer = _optimizer(self.model, self.preset)
        for p in self.model.parameters():
            if p in old.state:
                self.optimizer.state[p] = old.state[p]
        self.qat = True

    def result(self, final: dict[str, Any], stopped: bool, history: list[dict[str, Any]],
               seconds: float, n_frames: int, checkpoint_path: str | Path | None
               ) -> TrainResult:
        """The :class:`TrainResult` of the run as it ends (its checkpoint written first)."""
        epoch = len(history)
        ckpt = None
        if checkpoint_path is not None:
            ckpt = save_checkpoint(
                checkpoint_path, spec=self.spec, model=self.model, task=self.task.name,
                preset=self.preset.name, metrics={**final, "seconds": seconds}, epoch=epoch,
                qat=self.qat, seed=self.seed, preset_values=self.preset.to_dict(),
            )
        return TrainResult(
            miou=final["miou"], per_class_iou=final["per_class_iou"],
            pixel_accuracy=final["pixel_accuracy"], seconds=seconds, epochs=epoch,
            history=history, checkpoint_path=ckpt,
            train_images_per_second=n_frames * epoch / max(self.train_seconds, 1e-9),
            stopped_early=stopped, measured_miou=final.get("measured_miou"),
            low_bit_penalty=self.penalty,
        )

    def train_epoch(self, epoch: int, data: Any, bar: Any) -> dict[str, Any]:
        """One pass of fresh random crops in shuffled batches; the epoch's metrics."""
        t0 = time.perf_counter()
        preset = self.preset
        self.model.train()
        images, labels = _epoch_crops(data, preset, self.gen)
        n = len(images)
        order = torch.randperm(n, generator=self.gen)
        loss_sum, lr = 0.0, preset.lr
        for s in range(self.steps_per_epoch):
            idx = order[s * preset.batch_size:(s + 1) * preset.batch_size]
            lr = lr_at(self.step, self.total_steps, preset) * (
                preset.qat_lr_scale if self.qat else 1.0)
            where = f"at epoch {epoch}/{preset.epochs}, step {s + 1}/{self.steps_per_epoch}"
            loss_sum += self.train_step(images[idx], labels[idx], lr, where) * len(idx)
            self.step += 1
            bar.update(1)
        seconds = time.perf_counter() - t0
        self.train_seconds += seconds
        return {"epoch": epoch, "loss": loss_sum / n, "lr": lr, "qat": self.qat,
                "train_seconds": seconds}

    def train_step(self, images: torch.Tensor, labels: torch.Tensor, lr: float,
                   where: str) -> float:
        """One optimiser step on uint8 crops; returns the batch's mean loss."""
        preset, spec = self.preset, self.spec
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x, t = prepare_batch(images, labels, spec.fold_ratio, self.device,
                             preset.channels_last)
        with _out_of_memory_as_error(
                f"{spec.name}: out of memory {where} with batch_size={preset.batch_size}, "
                f"crop={preset.crop} on {self.device.type}"):
            logits = forward_logits(self.model, x, spec.fold_ratio, preset.amp)
            loss = F.cross_entropy(logits, t, weight=self.weight,
                                   ignore_index=self.task.ignore_index)
            value = loss.item()
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f"{spec.name}: loss became {value} {where} (lr={lr:.3g}, preset "
                    f"{preset.name!r}); lower the learning rate")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.qat:
                self._clip_biases()
        return value

    def _clip_biases(self) -> None:
        if self.preset.bias_clip_bits:
            clip_low_bit_biases(self.model, self.preset.bias_clip_bits,
                                self.preset.clip_quantile)


def _priced(summary: dict[str, Any], penalty: float | None) -> dict[str, Any]:
    """``summary`` with ``miou`` less ``penalty`` and the measured one kept (None: as is)."""
    if penalty is None:
        return summary
    return {**summary, "miou": summary["miou"] - penalty, "measured_miou": summary["miou"]}


def _to_layout(model: nn.Module, preset: Preset) -> nn.Module:
    return model.to(memory_format=torch.channels_last) if preset.channels_last else model


def _optimizer(model: nn.Module, preset: Preset) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=preset.lr, weight_decay=preset.weight_decay)


def _epoch_crops(data: Any, preset: Preset, gen: torch.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """One random crop per frame (optionally flipped), uint8 ``[N,3,c,c]`` / ``[N,c,c]``."""
    images, labels = random_crops(data, preset.crop, gen)
    if preset.hflip:
        flip = torch.rand(len(images), generator=gen) < 0.5
        images[flip] = images[flip].flip(-1)
        labels[flip] = labels[flip].flip(-1)
    return images, labels


def _is_oom(e: BaseException) -> bool:
    text = str(e).lower()
    return "out of memory" in text or "can't allocate memory" in text


class _NoBar:
    def update(self, n: int = 1) -> None: ...
    def set_postfix(self, **kw: Any) -> None: ...
    def close(self) -> None: ...


def _progress_bar(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=True, dynamic_ncols=True)
