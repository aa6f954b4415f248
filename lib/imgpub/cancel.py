"""Cancellation: a cancelled job stops new work, finishes briefly and writes what it did.

GitHub cancels a job by sending SIGINT, then SIGTERM about 7.5 s later, then killing it
about 2.5 s after that. A stage that dies on the first signal leaves no results document,
no outputs and no summary, so the re-run cannot tell what was done. Instead, while a stage
runs, the first SIGINT or SIGTERM only sets a :class:`Cancellation`; fan-outs stop starting
work, waits wake up, in-flight calls get :data:`GRACE_SECONDS` to finish, and the stage
returns what it has. A second signal raises :class:`KeyboardInterrupt` in the main thread
(the stage flow still saves what it knows).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

GRACE_SECONDS = 5.0
"""How long in-flight calls may run on after a cancel before they are reported unfinished."""


class Cancelled(Exception):
    """Raised by :meth:`Cancellation.check` inside work that must stop now."""


class Cancellation:
    """A flag set once, by a signal or a deadline, that every long wait can wake up on."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""
        self.at: float | None = None

    def cancel(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self.at = time.monotonic()
            self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True (early) when cancelled. Use instead of time.sleep."""
        if seconds <= 0:
            return self._event.is_set()
        return self._event.wait(seconds)

    def check(self) -> None:
        """Raise :class:`Cancelled` when cancelled (between steps of one target's work)."""
        if self._event.is_set():
            raise Cancelled(self.reason)

    def grace_left(self, grace: float = GRACE_SECONDS) -> float:
        """Seconds left of the grace period (infinite while not cancelled)."""
        if self.at is None:
            return float("inf")
        return max(0.0, self.at + grace - time.monotonic())


NEVER = Cancellation()
"""A cancellation nobody sets, for callers that have none (library use, tests)."""

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def cancel_on_signals(cancel: Cancellation, on_cancel: object = None) -> Iterator[Cancellation]:
    """Turn the first SIGINT/SIGTERM into ``cancel``; a second one into KeyboardInterrupt.

    Signal handlers can only be installed from the main thread; elsewhere (a stage run in
    a worker thread by a test) this is a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if cancel.is_set:
            raise KeyboardInterrupt(name)
        cancel.cancel(f"cancelled by {name}")
        if callable(on_cancel):
            on_cancel(name)

    previous = {s: signal.signal(s, handler) for s in _SIGNALS}
    try:
        yield cancel
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
