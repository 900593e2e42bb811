"""From a :class:`SearchConfig` to what the search runs on: the space built for the config's
device and input size, the task, the hardware check, and the references' parameters.

Everything here runs before the first trial, so a task the chip can never run stops the
search at once (:func:`forced_violations`) instead of completing 200 infeasible trials.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from nas.data import get_task, list_tasks
from nas.hardware import Violation, check, get_device, list_devices
from nas.search._config import SearchConfig
from nas.search._protocols import Components, SearchSpace
from nas.spec import ArchSpec, ConvSpec, DecoderLevel, EncoderLevel, get_reference
from nas.train import get_preset
from search_spaces import get_space

# Limits that depend on a layer's own shape, not on the plan or on other layers: if the
# smallest net of a space breaks one, every net of the space does (all have full-resolution
# layers and the same classifier output), so no trial can ever be feasible.
FORCED_LIMITS = ("channels", "dimensions", "data_memory_input", "data_memory_output")


def components(cfg: SearchConfig) -> Components:
    """Resolve the names in ``cfg`` through the registries (their errors list valid names) and
    refuse a search no architecture of the space can win (``ValueError`` saying what fits)."""
    task = get_task(cfg.task)
    get_preset(cfg.preset)
    space = space_for(cfg, task.num_classes)
    forced = forced_violations(space, task.num_classes, cfg.device, cfg.input_size)
    if forced:
        raise ValueError(impossible_message(space, task.name, task.num_classes, cfg.device,
                                            cfg.input_size, forced))

    def params_for(reference: str) -> dict[str, Any] | None:
        try:
            return space.params_for(get_reference(reference, task.num_classes))
        except (ValueError, AttributeError):
            return None  # the space cannot express it: the reference runs without params

    return Components(space, task, check, params_for)


def space_for(cfg: SearchConfig, num_classes: int) -> SearchSpace:
    """``cfg.space`` for ``cfg.device`` at ``cfg.input_size`` with ``num_classes`` outputs."""
    space = get_space(cfg.space)
    space_device = get_device(space.device).name
    if space_device != cfg.device:
        raise ValueError(
            f"search space {cfg.space!r} is built for {space_device}, but "
            f"the device is {cfg.device}; pick a space for {cfg.device} or --device "
            f"{space_device}")
    if space.num_classes != num_classes:
        space = dataclasses.replace(space, num_classes=num_classes)  # e.g. camvid11
    if space.input_size != cfg.input_size:
        _check_poolable(cfg.space, space.depth_range[1], cfg.input_size)
        space = space.at_input_size(cfg.input_size)
    return space.with_weight_bits(cfg.weight_bits)


def _check_poolable(name: str, depth: int, size: tuple[int, int]) -> None:
    """``ValueError`` in the options a user types when the deepest nets of space ``name``
    cannot pool ``size`` (the space's own error names its fields, not options)."""
    step = 2 ** (depth - 1)
    h, w = size
    if h % step == 0 and w % step == 0:
        return
    below = (max(step, h - h % step), max(step, w - w % step))
    above = (-(-h // step) * step, -(-w // step) * step)
    raise ValueError(
        f"--input-size {h} {w}: space {name!r} has nets of depth {depth}, which pool the "
        f"input {depth - 1} times, so both sides must be multiples of {step}; e.g. "
        f"--input-size {below[0]} {below[1]} or --input-size {above[0]} {above[1]}")


def smallest_spec(space: SearchSpace, num_classes: int, fold_ratio: int) -> ArchSpec:
    """The least demanding net of ``space``: its shallowest depth, 4 channels, 1x1 convs."""
    depth = space.depth_range[0]
    return ArchSpec(
        name="smallest", num_classes=num_classes, fold_ratio=fold_ratio,
        encoder=tuple(EncoderLevel((ConvSpec(4, 1),)) for _ in range(depth)),
        decoder=tuple(DecoderLevel(4, (ConvSpec(4, 1),)) for _ in range(depth - 1)),
    )


def forced_violations(space: SearchSpace, num_classes: int, device: str,
                      size: tuple[int, int]) -> list[Violation]:
    """Violations every net of ``space`` has on ``device`` at ``size`` (empty = some may fit).

    The smallest net is checked for each fold ratio the space offers; only limits in
    :data:`FORCED_LIMITS` count. A space with no fold ratios has no net to check.
    """
    if not space.fold_ratios:
        return []
    per_fold = []
    for fold in space.fold_ratios:
        report = check(smallest_spec(space, num_classes, fold), device, input_size=size)
        forced = [v for v in report.violations if v.limit in FORCED_LIMITS]
        if not forced:
            return []
        per_fold.append(forced)
    return per_fold[0]


def _fits(space: SearchSpace, num_classes: int, device: str, size: tuple[int, int]) -> bool:
    return not forced_violations(space, num_classes, device, size)


def largest_square_input(space: SearchSpace, num_classes: int, device: str,
                         upper: int = 512) -> int | None:
    """Largest side ``s <= upper`` with ``s x s`` fitting the smallest net of ``space`` (sides
    every depth of the space can pool), or ``None`` when no size fits."""
    step = 2 ** (space.depth_range[1] - 1)
    for side in range(upper - upper % step, 0, -step):
        if _fits(space, num_classes, device, (side, side)):
            return side
    return None


def impossible_message(space: SearchSpace, task: str, num_classes: int, device: str,
                       size: tuple[int, int], forced: Sequence[Violation]) -> str:
    """One paragraph: the limit, the numbers, and what would fit instead."""
    h, w = size
    lines = [f"no architecture of space {space.name!r} can run task "
             f"{task!r} ({num_classes} classes) on {device} at {h}x{w}: "
             f"{forced[0].message}"]
    fits = []
    side = largest_square_input(space, num_classes, device, upper=min(h, w))
    if side is not None:
        fits.append(f"--input-size {side} {side} (the largest square size that fits)")
    for other in list_devices():
        if other != device and _fits(space, num_classes, other, size):
            fits.append(f"--device {other} with a space for it (at {h}x{w})")
    fitting = [n for n in range(num_classes - 1, 1, -1) if _fits(space, n, device, size)]
    if fitting:
        tasks = [t for t in list_tasks() if get_task(t).num_classes <= fitting[0]]
        fits.append(f"a task with <= {fitting[0]} classes ({', '.join(tasks) or 'none yet'})"
                    f" on {device} at {h}x{w}")
    if fits:
        lines.append("What would fit: " + "; or ".join(fits) + ".")
    return "\n".join(lines)
