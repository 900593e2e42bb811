"""Optuna's log lines during a search, without the noise an interrupted trial makes."""

from __future__ import annotations

import logging

import optuna


class _QuietInterrupts(logging.Filter):
    """Drop Optuna's warnings about a trial failed by an interrupt: the parameter dict and the
    KeyboardInterrupt traceback say nothing the trial's ``fail_reason`` does not."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, KeyboardInterrupt):
            return False
        msg = record.getMessage()
        return not ("failed with value None" in msg or "KeyboardInterrupt" in msg
                    or "Interrupted(" in msg)


def quiet_optuna() -> None:
    """Optuna logs warnings only, without the interrupt noise (our own lines say the rest)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logger = logging.getLogger("optuna")
    for handler in logger.handlers:
        if not any(isinstance(f, _QuietInterrupts) for f in handler.filters):
            handler.addFilter(_QuietInterrupts())
