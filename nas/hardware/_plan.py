"""Data-memory plan: processors, offsets and write gaps for every izer layer.

:func:`plan_memory` tries the greedy planner (:mod:`nas.hardware._plan_greedy`) with each
processor strategy, and when none finds a layout asks the exact planner
(:mod:`nas.hardware._plan_exact`, same rules, processors and offsets chosen together), which
finds a layout, proves that none exists, or runs out of time. The layout rules and the plan's
types are in :mod:`nas.hardware._plan_types`, its verification in
:mod:`nas.hardware._plan_verify`.
"""

from __future__ import annotations

import os

from nas.hardware import _plan_exact as exact
from nas.hardware._device import Device
from nas.hardware._layers import IzerLayer
from nas.hardware._plan_exact import DEFAULT_EXACT_MS
from nas.hardware._plan_greedy import plan_greedy
from nas.hardware._plan_processors import STRATEGIES
from nas.hardware._plan_types import MemoryPlan, PlanError

EXACT_MS_ENV = "NAS_PLAN_EXACT_MS"  # overrides DEFAULT_EXACT_MS; 0 turns the exact planner off


def exact_budget_ms() -> float:
    """The exact planner's default budget: ``$NAS_PLAN_EXACT_MS`` or :data:`DEFAULT_EXACT_MS`."""
    raw = os.environ.get(EXACT_MS_ENV, "")
    if not raw:
        return DEFAULT_EXACT_MS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{EXACT_MS_ENV} must be a number of milliseconds (0 = off), "
                         f"but got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{EXACT_MS_ENV} must be >= 0 (0 = off), but got {raw!r}")
    return value


def plan_memory(
    layers: list[IzerLayer], device: Device, input_channels: int,
    strategies: tuple[str, ...] = STRATEGIES, exact_ms: float | None = None,
) -> MemoryPlan:
    """Plan processors, offsets and write gaps for ``layers`` (see the module docstring).

    Tries each greedy processor strategy in turn (ai8x's layout first) and returns the first
    plan found. If none works, the exact planner (:func:`nas.hardware.plan_exact`, cached per
    layer list) either finds a plan, proves that none exists, or runs out of time.

    Args:
        layers: the izer layer list (:func:`nas.hardware.izer_layers`).
        device: the target device.
        input_channels: channels of the (folded) network input.
        strategies: processor strategies to try, in order (see
            :func:`~nas.hardware._plan_processors.assign_processors`).
        exact_ms: the exact planner's budget in milliseconds; 0 = greedy only; ``None`` =
            :func:`exact_budget_ms`.

    Raises:
        PlanError: when no plan is found; the message names the layer where the greedy
            planner failed, the bytes needed and the largest free range, and ``kind`` says
            whether that is proven, undecided or a greedy result only.
    """
    if exact_ms is not None and exact_ms < 0:
        raise ValueError(f"exact_ms must be >= 0 (0 = off), but got {exact_ms}")
    best: PlanError | None = None
    for strategy in strategies:
        try:
            return plan_greedy(layers, device, input_channels, strategy)
        except PlanError as e:  # report the strategy that got furthest
            if best is None or e.step > best.step:
                best = e
    assert best is not None
    budget = exact_budget_ms() if exact_ms is None else exact_ms
    if budget == 0:
        raise best
    # looked up on the module at call time: tests replace it there
    result = exact.plan_exact_cached(tuple(layers), device, input_channels, budget)
    if result.plan is not None:
        return result.plan
    if result.status == "infeasible":
        raise PlanError(
            f"no data-memory layout exists: proven (exact planner, "
            f"{result.wall_ms:.0f} ms); greedy planner's first conflict: {best}",
            best.layer, best.needed, best.available, best.step, kind="proven")
    raise PlanError(
        f"data-memory layout undecided after {budget:.0f} ms (exact planner time-out; the "
        f"greedy planner found none: {best})",
        best.layer, best.needed, best.available, best.step, kind="undecided")
