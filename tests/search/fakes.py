"""Small stand-ins for the space, hardware model and trainer: fast, deterministic."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from nas.hardware import DEFAULT_DEVICE, get_device
from nas.spec import ArchSpec, ConvSpec, DecoderLevel, EncoderLevel

CHIP_WEIGHT_BYTES = get_device(DEFAULT_DEVICE).kernel_bytes_total
CALLS: list[str] = []  # spec names the fake trainer was asked to train (in-process tests)


@dataclass(frozen=True)
class FakeTask:
    name: str = "camvid4"
    class_names: tuple[str, ...] = ("sky", "road", "car", "other")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class FakeSpace:
    """depth 2..3 U-Net whose base width decides the bytes (wide ones do not fit the chip).

    Its attributes are those of ``nas.search._protocols.SearchSpace``; its specs are 8-bit at
    fold 4 (``ArchSpec``'s defaults), whatever weight bits the search asks for.
    """

    name: str = "fake"
    device: str = "MAX78000"
    num_classes: int = 4
    input_size: tuple[int, int] = (88, 88)
    depth_range: tuple[int, int] = (2, 3)
    fold_ratios: tuple[int, ...] = (4,)

    def with_weight_bits(self, bits: tuple[int, ...]) -> FakeSpace:
        return self

    def __call__(self, trial) -> ArchSpec:
        depth = trial.suggest_int("depth", *self.depth_range)
        base = trial.suggest_categorical("base", [8, 16, 64, 256])
        widths = [min(base * 2**i, 512) for i in range(depth)]
        widths = [w if w <= 64 else -(-w // 64) * 64 for w in widths]
        return ArchSpec(
            name=f"fake-d{depth}-b{base}", num_classes=self.num_classes,
            encoder=tuple(EncoderLevel((ConvSpec(w),)) for w in widths),
            decoder=tuple(DecoderLevel(widths[i], (ConvSpec(widths[i]),))
                          for i in reversed(range(depth - 1))),
        )

    def params_for(self, spec: ArchSpec) -> dict:
        raise ValueError("the fake space cannot express references")


@dataclass
class FakeViolation:
    message: str


@dataclass
class FakeReport:
    weight_bytes: int
    bias_bytes: int
    latency_ms: float | None
    kernel_offsets: list[int] = field(default_factory=lambda: [0])
    kernel_lengths: list[int] = field(default_factory=lambda: [10])

    @property
    def violations(self) -> list[FakeViolation]:
        if self.weight_bytes > CHIP_WEIGHT_BYTES:
            return [FakeViolation(f"weights {self.weight_bytes} > {CHIP_WEIGHT_BYTES} bytes")]
        return []

    @property
    def feasible(self) -> bool:
        return not self.violations

    def constraints(self, max_weight_bytes=None, max_latency_ms=None) -> list[float]:
        total = self.weight_bytes + self.bias_bytes
        return [
            float(self.weight_bytes - CHIP_WEIGHT_BYTES),
            float(total - max_weight_bytes) if max_weight_bytes else 0.0,
            float(self.latency_ms - max_latency_ms) if max_latency_ms else 0.0,
        ]


def fake_check(spec: ArchSpec, device: str = "MAX78000", **kw) -> FakeReport:
    return FakeReport(spec.layer_weight_bytes(), spec.bias_count(), spec.weight_count() / 1e5)


@dataclass
class FakeResult:
    miou: float
    per_class_iou: dict
    pixel_accuracy: float
    seconds: float
    epochs: int = 1
    stopped_early: bool = False
    measured_miou: float | None = None
    low_bit_penalty: float | None = None


def fake_train(spec, task, preset, data_dir=None, *, seed=0, callback=None,
               checkpoint_path=None, **kw) -> FakeResult:
    """mIoU grows with log(bytes); writes a real (tiny) torch checkpoint."""
    CALLS.append(spec.name)
    miou = min(0.9, 0.1 + 0.05 * torch.log2(torch.tensor(float(spec.weight_count()))).item() / 2)
    return _one_epoch(spec, task, miou, callback, checkpoint_path)


def _one_epoch(spec, task, miou: float, callback, checkpoint_path) -> FakeResult:
    """The end of a one-epoch fake training: the callback, a tiny real checkpoint, a result."""
    if callback is not None:
        callback(1, {"miou": miou, "loss": 1.0})
    if checkpoint_path is not None:
        torch.save({"spec": spec.to_dict(), "state_dict": {}, "metrics": {"miou": miou}},
                   checkpoint_path)
    return FakeResult(miou, {n: miou for n in task.class_names}, 0.5 + miou / 2, 0.01)


CURVE_EPOCHS = 6


def curve_final(spec: ArchSpec) -> float:
    """The fake learning curve's last mIoU: fake_train's, 0.3 lower for depth-3 nets (so they
    are dominated by depth-2 nets of fewer bytes)."""
    base = min(0.9, 0.1 + 0.05 * torch.log2(torch.tensor(float(spec.weight_count()))).item() / 2)
    return base - (0.3 if spec.depth == 3 else 0.0)


def curve_miou(spec: ArchSpec, epoch: int) -> float:
    """mIoU after ``epoch`` of :data:`CURVE_EPOCHS`: rises linearly from half the final."""
    return curve_final(spec) * (0.5 + 0.5 * epoch / CURVE_EPOCHS)


def curve_train(spec, task, preset, data_dir=None, *, seed=0, callback=None,
                checkpoint_path=None, **kw) -> FakeResult:
    """A trainer with a learning curve over :data:`CURVE_EPOCHS` epochs that honours the
    callback's stop (like ``nas.train.train``), evaluated every ``preset.eval_every``."""
    CALLS.append(spec.name)
    stopped, miou = False, 0.0
    for epoch in range(1, CURVE_EPOCHS + 1):
        miou = curve_miou(spec, epoch)
        metrics: dict = {"loss": 1.0}
        if epoch % preset.eval_every == 0 or epoch == CURVE_EPOCHS:
            metrics["miou"] = miou
        if callback is not None and callback(epoch, metrics) and epoch < CURVE_EPOCHS:
            stopped = True
            break
    if checkpoint_path is not None:
        torch.save({"spec": spec.to_dict(), "state_dict": {}, "metrics": {"miou": miou}},
                   checkpoint_path)
    return FakeResult(miou, {n: miou for n in task.class_names}, 0.5, 0.01, epochs=epoch,
                      stopped_early=stopped)


def priced_fake_train(*args, **kwargs) -> FakeResult:
    """fake_train as a low_bit_pricing preset reports a priced low-bit net: 0.1 charged."""
    res = fake_train(*args, **kwargs)
    res.measured_miou, res.low_bit_penalty = res.miou, 0.1
    res.miou -= 0.1
    return res


def slow_fake_train(*args, **kwargs) -> FakeResult:
    """fake_train that takes a while, so a test can kill a worker mid-trial."""
    time.sleep(float(__import__("os").environ.get("MAXNAS_FAKE_TRAIN_SLEEP", "2")))
    return fake_train(*args, **kwargs)


def rung_miou(spec: ArchSpec, preset_name: str) -> float:
    """fake_train's mIoU at the ``smoke`` rung; at any longer preset depth-3 nets gain 0.2, so
    promotion reorders nets as longer training does."""
    base = min(0.9, 0.1 + 0.05 * torch.log2(torch.tensor(float(spec.weight_count()))).item() / 2)
    return base if preset_name == "smoke" else min(0.99, base + (0.2 if spec.depth == 3 else 0))


def rung_train(spec, task, preset, data_dir=None, *, seed=0, callback=None,
               checkpoint_path=None, **kw) -> FakeResult:
    """A trainer whose mIoU depends on the preset (:func:`rung_miou`); above ``smoke`` it
    sleeps ``$MAXNAS_FAKE_RUNG_SLEEP`` seconds (default 0), so a test can kill it mid-rung."""
    CALLS.append(f"{spec.name}@{preset.name}")
    if preset.name != "smoke":
        time.sleep(float(__import__("os").environ.get("MAXNAS_FAKE_RUNG_SLEEP", "0")))
    return _one_epoch(spec, task, rung_miou(spec, preset.name), callback, checkpoint_path)


def rung_train_failing(spec, task, preset, *args, **kw) -> FakeResult:
    """:func:`rung_train`, but every training above ``smoke`` raises (an OOM, say)."""
    if preset.name != "smoke":
        raise RuntimeError(f"cannot train {spec.name} at {preset.name}")
    return rung_train(spec, task, preset, *args, **kw)


def fake_components(cfg=None):
    from nas.search._protocols import Components
    from nas.spec import get_reference

    space = FakeSpace()
    task = FakeTask()

    def params_for(name: str):
        try:
            return space.params_for(get_reference(name, task.num_classes))
        except ValueError:
            return None

    return Components(space, task, fake_check, params_for)


FAKE = {"trainer": "tests.search.fakes:fake_train",
        "components": "tests.search.fakes:fake_components"}
FAKE_ARGS = ["--trainer", FAKE["trainer"], "--components", FAKE["components"]]
