"""Injected failures and latency, for testing the unhappy path of every step.

A fault answers the next ``times`` matching requests with an error instead of serving
them (``fail``), or makes them slower first (``delay``). Requests match by the fake's
operation name, the method or a path pattern (:class:`~imgpub.sandbox.fake_log.Match`),
so a test says ``fake.faults.fail("StartChangeSet", status=429, times=2)``. The same verbs
work on an in-process fake (:class:`FaultTable`) and on one in another process
(``FakeClient.faults``): both are :class:`FaultControls`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from imgpub.sandbox.fake_log import Match


@dataclass(frozen=True)
class Fault:
    """What happens to matching requests, and how many more times (None: every time).

    With ``status`` the request is answered with that error: ``body`` as JSON when given,
    otherwise the fake's own error document for ``code`` (the fake's usual code for the
    status when None) and ``message``. ``delay`` seconds are waited first.
    """

    match: Match
    times: int | None = 1
    status: int | None = None
    delay: float = 0.0
    code: str | None = None
    message: str = "Injected failure."
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status is None and self.delay <= 0:
            raise ValueError("a fault needs a status to fail with or a delay > 0")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"a fault's status must be 4xx or 5xx, not {self.status}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be at least 1 (or None for always), not {self.times}")

    def to_json(self) -> dict[str, Any]:
        return {
            **self.match.to_json(),
            "times": self.times,
            "status": self.status,
            "delay": self.delay,
            "code": self.code,
            "message": self.message,
            "body": self.body,
            "headers": dict(self.headers),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        status = data.get("status")
        return cls(
            match=Match.from_json(data),
            times=None if data.get("times", 1) is None else int(data.get("times", 1)),
            status=None if status is None else int(status),
            delay=float(data.get("delay") or 0.0),
            code=data.get("code"),
            message=str(data.get("message") or "Injected failure."),
            body=data.get("body"),
            headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
        )


class FaultControls(ABC):
    """The fault verbs, wherever the fake runs."""

    @abstractmethod
    def add(self, fault: Fault) -> None:
        """Arm a fault (after the ones already armed)."""

    @abstractmethod
    def clear(self) -> None:
        """Disarm every fault and delay."""

    @abstractmethod
    def pending(self) -> list[Fault]:
        """The faults still armed, with the uses they have left."""

    def fail(
        self,
        operation: str | None = None,
        *,
        status: int,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        code: str | None = None,
        message: str = "Injected failure.",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (e.g. 429, 500).

        ``headers`` are added to the answer, e.g. ``{"Retry-After": "0"}``.
        """
        self.add(
            Fault(
                Match(operation, method, path),
                times=times,
                status=status,
                code=code,
                message=message,
                body=body,
                headers=dict(headers or {}),
            )
        )

    def delay(
        self,
        operation: str | None = None,
        *,
        seconds: float,
        times: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Wait ``seconds`` before serving matching requests (every one unless ``times``)."""
        self.add(Fault(Match(operation, method, path), times=times, delay=seconds))


@dataclass(frozen=True)
class Verdict:
    """What the armed faults decided for one request: wait this long, then maybe fail."""

    delay: float = 0.0
    failure: Fault | None = None


class FaultTable(FaultControls):
    """The in-process faults of one fake; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, operation: str | None, method: str, path: str) -> Verdict:
        """Use up the faults that apply to this request: every delay adds up, the first
        failure wins (a later failure keeps its uses for the next request)."""
        delay = 0.0
        failure: Fault | None = None
        with self._lock:
            kept: list[Fault] = []
            for fault in self._faults:
                applies = fault.match.matches(operation, method, path) and (
                    fault.status is None or failure is None
                )
                if applies:
                    delay += fault.delay
                    if fault.status is not None:
                        failure = fault
                    if fault.times is not None:
                        if fault.times == 1:
                            continue
                        fault = replace(fault, times=fault.times - 1)
                kept.append(fault)
            self._faults = kept
        return Verdict(delay, failure)
