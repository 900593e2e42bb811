"""Training errors."""

from __future__ import annotations


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and the step.

    The search records a trial that raises this as failed (not as a crash of the study).
    """


class TrainingOutOfMemoryError(RuntimeError):
    """A batch did not fit in memory; the message names the batch size and crop."""
