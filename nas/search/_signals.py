"""SIGINT and SIGTERM turned into a clean stop of the search (see :mod:`nas.search._run`)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


class Interrupted(KeyboardInterrupt):
    """A SIGINT or SIGTERM asked the search to stop (``signum`` says which)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


def signal_of(exc: BaseException) -> int:
    """The signal behind an interrupt (a plain KeyboardInterrupt is Ctrl-C)."""
    return getattr(exc, "signum", signal.SIGINT)


class StopSignals:
    """SIGINT and SIGTERM turned into a clean stop (installed in the main thread only).

    Inside :meth:`raising` (a trial's training) the first signal raises :class:`Interrupted`
    at once, except within :meth:`protected` (the training's own storage writes); elsewhere
    (sampling a trial, recording it, the worker loop) it is only noted and :meth:`check`
    raises at the next safe point, so Optuna's and SQLAlchemy's storage writes are never cut
    in half (a cut PostgreSQL commit would fail the trial with StorageInternalError). Later
    signals are ignored: marking the trial FAIL and writing the reports are not themselves
    interrupted.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.immediate = True
        self._old: dict[int, Any] = {}

    def install(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            return
        self.signum = signum
        if self.immediate:
            raise Interrupted(signum)

    def check(self) -> None:
        if self.signum is not None:
            raise Interrupted(self.signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Note signals instead of raising (the loop calls :meth:`check`)."""
        before, self.immediate = self.immediate, False
        try:
            yield
        finally:
            self.immediate = before

    @contextlib.contextmanager
    def protected(self) -> Iterator[None]:
        """Inside :meth:`raising`: note a signal during a storage write, raise right after it."""
        with self.deferred():
            yield
        if self.immediate:  # back in raising mode: the noted signal stops the training now
            self.check()

    @contextlib.contextmanager
    def raising(self) -> Iterator[None]:
        """Raise at once on a signal (and now, if one came already)."""
        before, self.immediate = self.immediate, True
        try:
            self.check()
            yield
        finally:
            self.immediate = before
