"""Bounded fan-out over keys: for each key a value or a failure, never an exception.

Every stage does the same thing many times over — a region, a gallery version, a page
range, an image — and each must keep three promises: at most ``max_workers`` at once, one
key's failure is that key's outcome (the others finish), and a deadline or a cancel stops
new work while what is in flight gets a short grace to finish. Keys are pulled from the
iterable only as workers free up, so a generator of chunks streams with bounded memory.

``on_done`` is called on the calling thread, in completion order, so a progress renderer
needs no lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

from imgpub.cancel import GRACE_SECONDS, NEVER, Cancellation
from imgpub.text import first_line

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

_TICK = 0.25
"""How often the caller's thread looks at the cancel flag and the deadline while waiting."""


@dataclass(frozen=True)
class Failed:
    """The work for one key raised; ``message`` is its first line, for logs and results."""

    error: BaseException

    @property
    def message(self) -> str:
        return first_line(self.error)


@dataclass(frozen=True)
class NotDone:
    """The key's work did not finish: never started, or still running at the grace's end."""

    reason: str
    started: bool


@dataclass
class FanOut(Generic[K, V]):
    """The outcomes of one fan-out, in the keys' order."""

    outcomes: dict[K, V | Failed | NotDone]

    def values(self) -> dict[K, V]:
        return {k: v for k, v in self.outcomes.items() if not isinstance(v, Failed | NotDone)}

    def failed(self) -> dict[K, Failed]:
        return {k: v for k, v in self.outcomes.items() if isinstance(v, Failed)}

    def not_done(self) -> dict[K, NotDone]:
        return {k: v for k, v in self.outcomes.items() if isinstance(v, NotDone)}


def fan_out(
    keys: Iterable[K],
    work: Callable[[K], V],
    *,
    max_workers: int,
    cancel: Cancellation = NEVER,
    deadline: float | None = None,
    on_done: Callable[[K, V | Failed | NotDone], None] | None = None,
    grace: float = GRACE_SECONDS,
    thread_name: str = "imgpub-fanout",
    monotonic: Callable[[], float] = time.monotonic,
) -> FanOut[K, V]:
    """Run ``work(key)`` for every key, at most ``max_workers`` at a time.

    ``deadline`` is a ``monotonic()`` time after which no new key starts (keys left are
    ``NotDone``); work already running is not interrupted by the deadline — give the work
    its own timeouts. A cancel stops new keys at once and waits ``grace`` seconds for the
    running ones; those still running are ``NotDone(started=True)`` and their threads are
    left to end on their own (the pool is not joined), so the caller can report and exit.
    """
    outcomes: dict[K, V | Failed | NotDone] = {}
    order: list[K] = []
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix=thread_name)
    running: dict[Future[V], K] = {}
    pending: Iterator[K] = iter(keys)
    exhausted = False

    def finish(key: K, outcome: V | Failed | NotDone) -> None:
        outcomes[key] = outcome
        if on_done is not None:
            on_done(key, outcome)

    def stop_reason() -> str | None:
        if cancel.is_set:
            return cancel.reason or "cancelled"
        if deadline is not None and monotonic() >= deadline:
            return "the deadline passed before it started"
        return None

    try:
        while True:
            while not exhausted and len(running) < max(1, max_workers) and stop_reason() is None:
                try:
                    key = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                order.append(key)
                running[pool.submit(work, key)] = key
            if not running:
                break
            if cancel.is_set:
                _drain(running, finish, grace=cancel.grace_left(grace), cancel_reason=cancel.reason)
                break
            done, _ = wait(list(running), timeout=_TICK, return_when=FIRST_COMPLETED)
            for future in done:
                key = running.pop(future)
                result: V | Failed = _outcome(future)
                finish(key, result)
        reason = stop_reason() or "not started"
        if not exhausted:
            for key in pending:
                order.append(key)
                finish(key, NotDone(reason, started=False))
    finally:
        pool.shutdown(wait=not cancel.is_set, cancel_futures=True)
    return FanOut({k: outcomes[k] for k in order})


def _outcome(future: Future[T]) -> T | Failed:
    error = future.exception()
    if error is not None:
        return Failed(error)
    result: T = future.result()
    return result


def _drain(
    running: dict[Future[V], K],
    finish: Callable[[K, V | Failed | NotDone], None],
    *,
    grace: float,
    cancel_reason: str,
) -> None:
    """After a cancel: give running work ``grace`` seconds, then report the rest unfinished."""
    done, _ = wait(list(running), timeout=max(0.0, grace))
    for future in list(running):
        key = running.pop(future)
        if future in done:
            result: V | Failed = _outcome(future)
            finish(key, result)
        else:
            finish(key, NotDone(f"{cancel_reason or 'cancelled'} while running", started=True))
