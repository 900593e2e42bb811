"""`SearchConfig`: every knob of one search, validated at construction."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nas import _resources
from nas._imports import import_function
from nas._resources import DEFAULT_TORCH_DEVICE, TORCH_DEVICES
from nas.hardware import DEFAULT_DEVICE, get_device
from nas.search._early_stop import EarlyStop
from nas.spec import DEFAULT_INPUT_SIZE, FOLD_RATIOS, input_size
from nas.studyio import default_artifact_dir, default_storage_url
from nas.train import get_preset
from search_spaces import parse_weight_bits, validate_weight_bits

if TYPE_CHECKING:
    from nas.search._protocols import Components, TrainFn

SAMPLERS = ("tpe", "nsga2", "nsga3", "random", "gp")
OBJECTIVES = ("miou", "bytes", "latency")
REQUIRED_OBJECTIVES = ("miou", "bytes")
DEFAULT_REFERENCES = ("ai85unetlarge", "unetmysmall", "ai85unetlarge-w4", "unetmysmall-w4")
DEFAULT_STUDY_NAME = "maxnas"
# Training frames of a preset without max_train_frames: CamVid's train split (SegNet's, 367).
TRAIN_FRAMES = 367


def worker_bytes(presets: Sequence[str], size: tuple[int, int] = DEFAULT_INPUT_SIZE) -> int:
    """Estimated memory of one search worker that trains with ``presets`` at the folded input
    ``size`` (a deployment-resolution preset's crops follow it; the largest fold ratio)."""
    largest = 0
    for name in presets:
        preset = get_preset(name)
        crop = max(FOLD_RATIOS) * max(size) if preset.deployment else preset.crop
        largest = max(largest, _resources.training_worker_bytes(preset.batch_size, crop))
    return largest


def training_pixels(name: str, size: tuple[int, int] = DEFAULT_INPUT_SIZE) -> int:
    """What a preset's training costs, in pixels: epochs x crop x crop x training frames (a
    deployment-resolution preset's crops follow the folded input ``size`` at fold 4)."""
    preset = get_preset(name).at_input_size(size, max(FOLD_RATIOS)) \
        if size[0] == size[1] else get_preset(name)
    frames = preset.max_train_frames or TRAIN_FRAMES
    return preset.epochs * preset.crop * preset.crop * frames


def _pixels(n: int) -> str:
    """``94 M`` / ``9.1 G`` training pixels."""
    return f"{n / 1e9:.1f} G" if n >= 1e9 else f"{n / 1e6:.0f} M"


def default_jobs(presets: Sequence[str] = ("proxy",),
                 size: tuple[int, int] = DEFAULT_INPUT_SIZE) -> int:
    """The ``--jobs`` default: one single-threaded worker per usable CPU core, as far as the
    memory holds them (:func:`nas._resources.max_jobs`).

    One worker per core trains the most trials per hour (BENCHMARKS.md: a 2-thread worker
    loses most of its speed to OpenMP spin-waiting as soon as anything else runs on the
    machine); :attr:`SearchConfig.threads_per_job` then gives each worker one thread.
    """
    return min(_resources.usable_cores(), _resources.max_jobs(worker_bytes(presets, size)))


def _positive(name: str, value: float | None, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if value is None or value <= 0:
        raise ValueError(f"{name} must be > 0, but got {name}={value}")


@dataclass(frozen=True)
class SearchConfig:
    """One search: what to search, how to score it and where to store it.

    Attributes:
        n_trials: COMPLETE trials (feasible or not, references included) the study should hold
            when the search stops; a rerun only adds the missing ones.
        study_name: Optuna study name; also names ``studies/<name>.db`` and ``studies/<name>/``.
        storage: Optuna storage URL; ``None`` = SQLite at ``<studies_dir>/<study_name>.db``.
        studies_dir: folder for the default database, reports and artifacts.
        space: search-space name (``search_spaces.get_space``).
        task: task name (``nas.data.get_task``).
        device: accelerator (``MAX78000`` or ``MAX78002``).
        input_size: folded chip input (rows, columns) every spec is checked, trained and
            exported at (88x88 = 352x352 crops at fold 4; crops are ``fold x input_size``).
        preset: training preset (``nas.train.get_preset``).
        sampler: one of :data:`SAMPLERS`.
        seed: sampler and training seed.
        data_dir: CamVid folder; ``None`` = ``$CAMVID_DIR`` or ``data/CamVid``.
        timeout: seconds after which no new trial is started; ``None`` = no limit.
        objectives: ``("miou", "bytes")`` or ``("miou", "bytes", "latency")``.
        max_weight_bytes: user budget on weight + bias bytes (a constraint), ``None`` = chip only.
        max_latency_ms: user budget on inference latency in ms (a constraint).
        jobs: worker processes on this machine; default :func:`default_jobs` (one per CPU
            core, each with one PyTorch thread). More than the machine runs
            (:func:`nas._resources.max_jobs`: 2 per core, the memory at :func:`worker_bytes`
            each) is refused.
        references: reference architectures enqueued first (``nas.spec.REFERENCES`` names).
        heartbeat_interval: seconds between RDB heartbeats of a running trial.
        grace_period: seconds without heartbeat after which a RUNNING trial is failed and
            retried; ``None`` = twice the interval.
        max_retry: how often a trial whose worker died is retried.
        torch_threads: intra-op threads per worker; ``None`` = usable CPU cores // jobs.
        torch_device: where training runs: ``cpu``, ``cuda`` or ``auto`` (CUDA if the worker
            sees one, else CPU; see :func:`nas.train.resolve_device`).
        artifact_dir: checkpoint store; ``None`` = ``<studies_dir>/<study_name>/artifacts``.
            With workers on several hosts it must be a shared folder.
        trainer: the training entry point, :func:`nas.train.train` by default (tests swap in
            a fake); a ``"module:function"`` string is imported once, here.
        components: ``cfg -> Components`` (space, task, hardware check), by default
            :func:`nas.search.components`; tests swap in fakes. Both must be module-level
            functions: ``--jobs`` workers are spawned and receive the config pickled.
        progress: show the progress bar.
        weight_bits: weight widths the space samples per layer group (first layer and
            classifier stay 8-bit); ``(8,)`` = all 8-bit. A ``"8,4,2"`` string is parsed.
        early_stop: stop a searched trial whose val mIoU plus ``early_stop_margin`` is below
            the current front at its byte count (:mod:`nas.search._early_stop`); off by
            default until the margin is calibrated on recorded learning curves.
        early_stop_margin: mIoU a trial may still gain after an evaluated epoch: one value,
            or one per evaluation (``"0.66,0.39,0.21,0.15"``, the last repeats; a string is
            parsed), see :class:`nas.search._early_stop.EarlyStop`.
        early_stop_every: with early stop, evaluate val every this many epochs.
        rungs: training presets of the rungs, lowest first (``()`` = ``preset`` alone). The
            first must be ``preset``; the top of each rung's front is retrained with the next
            (:mod:`nas.search._rungs`).
        promote_share: at most this share of a rung's trained searched trials is promoted.
        promote_margin: mIoU below a rung's front a trial may be and still be promoted (the
            proxy's seed noise).
    """

    n_trials: int = 200
    study_name: str = DEFAULT_STUDY_NAME
    storage: str | None = None
    studies_dir: Path = Path("studies")
    space: str = "unet_max78000"
    task: str = "camvid4"
    device: str = DEFAULT_DEVICE
    input_size: tuple[int, int] = DEFAULT_INPUT_SIZE
    preset: str = "proxy"
    sampler: str = "tpe"
    seed: int = 0
    data_dir: Path | None = None
    timeout: float | None = None
    objectives: tuple[str, ...] = REQUIRED_OBJECTIVES
    max_weight_bytes: int | None = None
    max_latency_ms: float | None = None
    jobs: int = dataclasses.field(default_factory=default_jobs)
    references: tuple[str, ...] = DEFAULT_REFERENCES
    heartbeat_interval: int = 60
    grace_period: int | None = None
    max_retry: int = 2
    torch_threads: int | None = None
    torch_device: str = DEFAULT_TORCH_DEVICE
    artifact_dir: Path | None = None
    trainer: TrainFn | str = "nas.train:train"
    components: Callable[[SearchConfig], Components] | str = "nas.search._components:components"
    progress: bool = True
    # 2 and 1 bits are opt-in: not shown to train on the proxy (BENCHMARKS.md, "Mixed-precision
    # weights"); search_spaces.DEFAULT_WEIGHT_BITS is the same set
    weight_bits: tuple[int, ...] = (8, 4)
    early_stop: bool = False
    early_stop_margin: float | tuple[float, ...] = 0.1
    early_stop_every: int = 2
    rungs: tuple[str, ...] = ()
    promote_share: float = 0.1
    promote_margin: float = 0.05

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise types once, here
        set_(self, "studies_dir", Path(self.studies_dir))
        if self.data_dir is not None:
            set_(self, "data_dir", Path(self.data_dir))
        if self.artifact_dir is not None:
            set_(self, "artifact_dir", Path(self.artifact_dir))
        set_(self, "objectives", tuple(self.objectives))
        set_(self, "references", tuple(self.references))
        margin = self.early_stop_margin
        if isinstance(margin, str):
            try:
                values = tuple(float(v) for v in margin.split(",") if v.strip())
            except ValueError:
                raise ValueError(f"early_stop_margin must be a number or a comma list of "
                                 f"numbers, but got {margin!r}") from None
            margin = values[0] if len(values) == 1 else values
        elif isinstance(margin, list | tuple):
            margin = tuple(float(v) for v in margin)
        set_(self, "early_stop_margin", margin)
        rungs = self.rungs
        if isinstance(rungs, str):
            rungs = [r.strip() for r in rungs.split(",") if r.strip()]
        set_(self, "rungs", tuple(rungs))
        set_(self, "input_size", input_size(self.input_size))
        set_(self, "device", get_device(self.device).name)
        for name in ("trainer", "components"):
            value = getattr(self, name)
            if isinstance(value, str):
                set_(self, name, import_function(name, value))
            elif not callable(value):
                raise ValueError(f"{name} must be a function or 'module:function', "
                                 f"but got {value!r}")

        wb = self.weight_bits
        set_(self, "weight_bits",
             parse_weight_bits(wb) if isinstance(wb, str) else validate_weight_bits(wb))
        if self.references == DEFAULT_REFERENCES and 4 not in self.weight_bits:
            # The -w4 references need 4-bit weights; a space without them cannot replay their
            # parameters, and a parameterless trial leaves GP and NSGA-II no search space.
            set_(self, "references", tuple(r for r in self.references if not r.endswith("-w4")))
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the option, the rule and the bad value."""
        if self.n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, but got n_trials={self.n_trials}")
        if not self.study_name or any(c in self.study_name for c in "/\\\0"):
            raise ValueError(
                f"study_name must be a non-empty name without '/', but got {self.study_name!r}"
            )
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; valid: {list(SAMPLERS)}")
        bad = [o for o in self.objectives if o not in OBJECTIVES]
        if bad:
            raise ValueError(f"unknown objective(s) {bad}; valid: {list(OBJECTIVES)}")
        if len(set(self.objectives)) != len(self.objectives):
            raise ValueError(f"objectives must not repeat, but got {list(self.objectives)}")
        if tuple(self.objectives[:2]) != REQUIRED_OBJECTIVES:
            raise ValueError(
                "objectives must start with 'miou', 'bytes' (latency may be added), but got "
                f"{list(self.objectives)}"
            )
        _positive("max_weight_bytes", self.max_weight_bytes)
        _positive("max_latency_ms", self.max_latency_ms)
        _positive("timeout", self.timeout)
        # --jobs: at least 1, and no more workers than this machine runs (ValueError)
        _resources.check_jobs(self.jobs, worker_bytes((self.preset, *self.rungs),
                                                      self.input_size))
        _positive("heartbeat_interval", self.heartbeat_interval, allow_none=False)
        _positive("grace_period", self.grace_period)
        if self.max_retry < 0:
            raise ValueError(f"max_retry must be >= 0, but got max_retry={self.max_retry}")
        _positive("torch_threads", self.torch_threads)
        if self.torch_device not in TORCH_DEVICES:
            raise ValueError(f"torch_device must be one of {TORCH_DEVICES}, but got "
                             f"torch_device={self.torch_device!r}")

        self.early_stopping()  # ValueError naming the rule
        self._validate_rungs()

    def _validate_rungs(self) -> None:
        for name in self.rungs:
            get_preset(name)  # ValueError listing the valid names
        if len(set(self.rungs)) != len(self.rungs):
            raise ValueError(f"--rungs must not repeat a preset, but got --rungs "
                             f"{','.join(self.rungs)}")
        if self.rungs and self.rungs[0] != self.preset:
            raise ValueError(f"the first rung is the search's own preset: --rungs "
                             f"{','.join(self.rungs)} starts with {self.rungs[0]!r} but "
                             f"--preset is {self.preset!r}")
        cost = {r: training_pixels(r, self.input_size) for r in self.rungs}
        for low, high in itertools.pairwise(self.rungs):
            if cost[high] <= cost[low]:  # a promotion must train longer than its rung did
                ordered = ",".join(sorted(self.rungs, key=cost.__getitem__))
                more = "more than" if cost[low] > cost[high] else "as much as"
                raise ValueError(
                    f"--rungs {','.join(self.rungs)}: {low!r} costs {more} {high!r} "
                    f"({_pixels(cost[low])} training pixels against {_pixels(cost[high])}: "
                    f"epochs x crop x crop x frames); list them cheapest first, "
                    f"e.g. --rungs {ordered}")
        if not 0 < self.promote_share <= 1:
            raise ValueError(f"promote_share must be in (0, 1], but got {self.promote_share}")
        if not 0 <= self.promote_margin <= 1:
            raise ValueError(f"promote_margin must be in [0, 1], but got {self.promote_margin}")

    # -- derived paths ----------------------------------------------------------------------
    @property
    def study_dir(self) -> Path:
        """``<studies_dir>/<study_name>/``: reports and artifacts."""
        return self.studies_dir / self.study_name

    @property
    def storage_url(self) -> str:
        if self.storage is not None:
            return self.storage
        return default_storage_url(self.studies_dir, self.study_name)

    @property
    def artifact_path(self) -> Path:
        if self.artifact_dir is not None:
            return self.artifact_dir
        return default_artifact_dir(self.studies_dir, self.study_name)

    @property
    def threads_per_job(self) -> int:
        if self.torch_threads is not None:
            return self.torch_threads
        return max(1, _resources.usable_cores() // self.jobs)

    def early_stopping(self) -> EarlyStop:
        """The early stop's settings (margin per evaluation, evaluation period)."""
        return EarlyStop(self.early_stop_margin, self.early_stop_every)

    @property
    def upper_rungs(self) -> tuple[str, ...]:
        """The presets trials are promoted to (every rung but the search's own)."""
        return self.rungs[1:]

    @property
    def latency_objective(self) -> bool:
        return "latency" in self.objectives

    def replace(self, **changes: Any) -> SearchConfig:
        return dataclasses.replace(self, **changes)
