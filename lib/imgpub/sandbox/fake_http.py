"""How a fake declares what it serves: its handlers' routes, its verbs, its errors.

A handler is a method marked with :func:`route`; it gets a :class:`FakeRequest` and the
rule's path parameters, and returns a werkzeug ``Response`` or a JSON-able body (a 200),
or raises :class:`FakeError`. A verb is a method marked with :func:`verb`: a seed or
inspect call that tests make directly and other processes make through the control API.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.wrappers import Response

F = TypeVar("F", bound=Callable[..., Any])


class FakeError(Exception):
    """Raise in a handler or verb to answer with an error in the fake's own format."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class FakeRequest:
    """A request as a handler sees it: ``body`` is the parsed JSON (None when empty or not
    JSON), ``data`` the raw bytes, ``operation`` the name the fake gives the request."""

    method: str
    path: str
    query: MultiDict[str, str]
    headers: Headers
    body: Any
    data: bytes
    operation: str | None = None


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer (a handler may also just return the body: it becomes a 200)."""
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@dataclass(frozen=True)
class Resolved:
    """What a fake found for a request: the operation's name and how to serve it."""

    operation: str
    serve: Callable[[FakeRequest], Any]


def route(method: str, rule: str, operation: str | None = None) -> Callable[[F], F]:
    """Serve ``method rule`` with the decorated method; stackable.

    ``rule`` is a path with ``<name>`` (one segment) or ``<path:name>`` (the rest) parts,
    passed to the handler as keyword arguments after the :class:`FakeRequest`.
    ``operation`` (default: the function's name) is what logs and faults call it.
    """

    def mark(fn: F) -> F:
        spec = (method.upper(), rule, operation or fn.__name__)
        fn.__fake_routes__ = [*getattr(fn, "__fake_routes__", ()), spec]  # type: ignore[attr-defined]
        return fn

    return mark


def verb(fn: F) -> F:
    """Mark a seed or inspect method: it runs holding the fake's lock, and other processes
    call it as ``FakeClient.call(name, **kwargs)`` (arguments and result are JSON)."""

    @functools.wraps(fn)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return fn(self, *args, **kwargs)

    locked.__fake_verb__ = True  # type: ignore[attr-defined]
    return cast(F, locked)


def verbs_of(cls: type) -> frozenset[str]:
    """The names of the verbs a fake class has (inherited ones included)."""
    return frozenset(n for n in dir(cls) if getattr(getattr(cls, n), "__fake_verb__", False))


@dataclass(frozen=True)
class Route:
    """One compiled route: the handler is the fake's attribute ``attribute``."""

    method: str
    pattern: re.Pattern[str]
    operation: str
    attribute: str


class RouteTable:
    """The routes of one fake class, matched against a request's method and path."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)

    @classmethod
    def of_class(cls, fake_class: type, *, ignore_case: bool) -> RouteTable:
        routes = [
            Route(method, _compile(rule, ignore_case), operation, name)
            for name in dir(fake_class)
            for method, rule, operation in getattr(getattr(fake_class, name), "__fake_routes__", ())
        ]
        return cls(routes)

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for this request and its path parameters, if any."""
        for r in self.routes:
            found = r.pattern.match(path)
            if found is not None and r.method == method:
                return r, found.groupdict()
        return None

    def knows_path(self, path: str) -> bool:
        """Whether some route serves this path (with another method: a 405, not a 404)."""
        return any(r.pattern.match(path) for r in self.routes)


def _compile(rule: str, ignore_case: bool) -> re.Pattern[str]:
    parts: list[str] = []
    for literal, converter, name in re.findall(r"([^<]*)(?:<(?:(path):)?(\w+)>)?", rule):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P<{name}>{'.+' if converter else '[^/]+'})")
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE if ignore_case else 0)
