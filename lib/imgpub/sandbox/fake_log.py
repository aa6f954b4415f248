"""What a fake server received: the request log, and how tests select requests in it.

Tests prove behaviour by what reached the server ("exit 2 made no mutating call", "the
429'd PUT was retried once"), so every fake records each request it serves. The same
queries work on the log of an in-process fake (:class:`RequestLog`) and, over the control
API, on the log of a fake in another process (``FakeClient.log``): both are
:class:`RequestQueries`.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Match:
    """Which requests something applies to; every criterion given must hold.

    ``operation`` is the fake's name for the request (a route's operation, an AWS action
    such as ``StartChangeSet``), compared exactly; ``method`` ignores case; ``path`` is a
    regular expression searched in the path (``(?i)`` makes it case-insensitive).
    """

    operation: str | None = None
    method: str | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())
        if self.path is not None:  # a bad pattern fails where it is given, not per request
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"path {self.path!r} is not a regular expression: {exc}") from None

    def matches(self, operation: str | None, method: str, path: str) -> bool:
        return (
            (self.operation is None or self.operation == operation)
            and (self.method is None or self.method == method.upper())
            and (self.path is None or re.search(self.path, path) is not None)
        )

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "method": self.method, "path": self.path}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Match:
        return cls(data.get("operation"), data.get("method"), data.get("path"))


@dataclass(frozen=True)
class RecordedRequest:
    """One request a fake served (control-API calls are not recorded).

    ``body`` is the parsed JSON body (None when empty or not JSON); ``headers`` holds only
    the headers the fake chose to record (never credentials: ``authorization`` only says
    whether one was sent); ``status`` is None while the request is still being answered.
    """

    method: str
    path: str
    query: Mapping[str, str]
    body: Any
    operation: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    authorization: bool = False
    status: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "body": self.body,
            "operation": self.operation,
            "headers": dict(self.headers),
            "authorization": self.authorization,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordedRequest:
        return cls(
            method=str(data["method"]),
            path=str(data["path"]),
            query=dict(data.get("query") or {}),
            body=data.get("body"),
            operation=data.get("operation"),
            headers=dict(data.get("headers") or {}),
            authorization=bool(data.get("authorization")),
            status=data.get("status"),
        )


class RequestQueries(ABC):
    """Selecting requests from a log, wherever the log is."""

    @abstractmethod
    def all(self) -> list[RecordedRequest]:
        """Every recorded request, oldest first."""

    @abstractmethod
    def clear(self) -> None:
        """Forget the recorded requests (state and faults stay)."""

    def matching(
        self, operation: str | None = None, *, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """The requests that match (see :class:`Match`), oldest first."""
        match = Match(operation, method, path)
        return [r for r in self.all() if match.matches(r.operation, r.method, r.path)]

    def count(
        self, operation: str | None = None, *, method: str | None = None, path: str | None = None
    ) -> int:
        """How many requests match."""
        return len(self.matching(operation, method=method, path=path))


class RequestLog(RequestQueries):
    """The in-process log; thread-safe, appended on arrival, completed with the status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RecordedRequest] = []
        self._generation = 0  # bumped by clear(), so a late status never lands on another entry

    def all(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation += 1

    def arrived(self, request: RecordedRequest) -> tuple[int, int]:
        """Record a request as it arrives (so a slow answer is already visible)."""
        with self._lock:
            self._entries.append(request)
            return self._generation, len(self._entries) - 1

    def answered(self, entry: tuple[int, int], status: int) -> None:
        """Complete the entry :meth:`arrived` returned with the status sent."""
        generation, index = entry
        with self._lock:
            if generation == self._generation:
                self._entries[index] = replace(self._entries[index], status=status)
