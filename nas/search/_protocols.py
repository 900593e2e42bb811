"""What the objective needs from the space, the hardware model and the trainer.

The search calls these through the contracts below, so a reader (and mypy) can follow the
objective without running it, and tests can swap in small fakes (``tests/search/fakes.py``)
that satisfy the same contracts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nas.spec import ArchSpec


class ViolationLike(Protocol):
    """One broken hardware rule; ``message`` says which limit and by how much."""

    @property
    def message(self) -> str: ...


class HardwareReportLike(Protocol):
    """What the objective reads of :class:`nas.hardware.HardwareReport`."""

    @property
    def weight_bytes(self) -> int: ...  # izer's "Weight memory", bytes
    @property
    def bias_bytes(self) -> int: ...  # izer's "Bias memory", bytes
    @property
    def latency_ms(self) -> float | None: ...  # None where the device has no latency model
    @property
    def kernel_offsets(self) -> Sequence[int]: ...  # kernel-memory column per layer
    @property
    def kernel_lengths(self) -> Sequence[int]: ...  # kernel-memory columns per layer
    @property
    def violations(self) -> Sequence[ViolationLike]: ...
    @property
    def feasible(self) -> bool: ...

    def constraints(self, max_weight_bytes: int | None = None,
                    max_latency_ms: float | None = None) -> Sequence[float]: ...


class CheckFn(Protocol):
    """``nas.hardware.check``: the hardware model of one spec at one input size."""

    def __call__(self, spec: ArchSpec, device: str = ..., *,
                 input_size: tuple[int, int] = ...) -> HardwareReportLike: ...


class TrainResultLike(Protocol):
    """What the objective reads of :class:`nas.train.TrainResult`."""

    @property
    def miou(self) -> float: ...
    @property
    def per_class_iou(self) -> dict[str, float]: ...
    @property
    def pixel_accuracy(self) -> float: ...
    @property
    def seconds(self) -> float: ...
    @property
    def epochs(self) -> int: ...
    @property
    def measured_miou(self) -> float | None: ...
    @property
    def low_bit_penalty(self) -> float | None: ...


class TaskLike(Protocol):
    """A ``nas.data.Task``: the classes the specs are built for."""

    @property
    def name(self) -> str: ...
    @property
    def num_classes(self) -> int: ...
    @property
    def class_names(self) -> Sequence[str]: ...


class TrainFn(Protocol):
    """``nas.train.train``: train a spec with a preset, return its val metrics."""

    def __call__(self, spec: ArchSpec, task: Any, preset: Any,
                 data_dir: str | Path | None = None, *, seed: int = ...,
                 device: str = ..., callback: Callable[[int, dict], bool | None] | None = ...,
                 checkpoint_path: str | Path | None = ..., progress: bool = ...,
                 threads: int | None = ...) -> TrainResultLike: ...


class Interrupts(Protocol):
    """Where a SIGINT / SIGTERM may cut in (``nas.search._signals.StopSignals``): ``raising()``
    around training, ``protected()`` around storage writes made while training."""

    def raising(self) -> AbstractContextManager[None]: ...
    def protected(self) -> AbstractContextManager[None]: ...


class ArtifactStore(Protocol):
    """Optuna's artifact-store protocol (``optuna.artifacts``): where checkpoints go."""

    def open_reader(self, artifact_id: str) -> Any: ...
    def write(self, artifact_id: str, content_body: Any) -> None: ...
    def remove(self, artifact_id: str) -> None: ...


SpaceFn = Callable[[Any], ArchSpec]
"""A search space as the objective uses it: an Optuna trial -> an :class:`ArchSpec`."""


class SearchSpace(Protocol):
    """What the search needs of a search space (``search_spaces.UNetSpace``): a spec per
    trial, the parameters that rebuild a reference, and what the space is built for, which
    the checks before the first trial read (``nas.search._components``)."""

    @property
    def name(self) -> str: ...  # registry name
    @property
    def device(self) -> str: ...  # the ``nas.hardware`` device the space is built for
    @property
    def num_classes(self) -> int: ...  # classes the specs are built for
    @property
    def input_size(self) -> tuple[int, int]: ...  # folded chip input (rows, columns)
    @property
    def depth_range(self) -> tuple[int, int]: ...  # (min, max) encoder levels
    @property
    def fold_ratios(self) -> Sequence[int]: ...  # fold-ratio choices

    def with_weight_bits(self, bits: tuple[int, ...]) -> SearchSpace:
        """The same space sampling layer-group weight widths from ``bits``."""
        ...

    def params_for(self, spec: ArchSpec) -> dict[str, Any]:
        """The parameters that rebuild ``spec``; ``ValueError`` if the space cannot."""
        ...

    def __call__(self, trial: Any) -> ArchSpec: ...  # an Optuna trial -> a spec


@dataclass
class Components:
    """What a search runs on, resolved from a :class:`~nas.search.SearchConfig`.

    Attributes:
        space: the search space (trial -> spec), built for the config's device and input
            size.
        task: the task (classes).
        check: the hardware model.
        params_for: reference name -> the space's parameters that rebuild it, or ``None``
            when the space cannot express it.
    """

    space: SearchSpace
    task: TaskLike
    check: CheckFn
    params_for: Callable[[str], dict[str, Any] | None]
