"""Random specs from a space, for benchmarks and the ``nas.models`` CLI."""

from __future__ import annotations

import dataclasses

import optuna

from nas.spec import ArchSpec
from search_spaces._unet import UNetSpace


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
