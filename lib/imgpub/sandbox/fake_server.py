"""The base of every stateful fake HTTP server in the sandbox.

Where no local emulator exists (Azure Resource Manager, AWS Marketplace Catalog, License
Manager, GitHub's REST API, StArMap, a webhook receiver), imgpub owns a small fake that
the real SDK talks to through its standard endpoint setting. Each fake is only its routes
and its state; this base gives all of them the rest, so they behave alike:

* a fake is a subclass of :class:`FakeServer` whose handlers are marked with
  :func:`route` (method, path rule, operation name) and whose seed and inspect methods are
  marked with :func:`verb`; its state is (re)built by :meth:`FakeServer.reset_state`, and
  every handler and verb runs holding :attr:`FakeServer.lock`;
* it starts in-process (``with FakeX() as fake:``, a thread, for tests that poke state
  directly) or as a child process (``python -m imgpub.sandbox.fake_server MODULE:CLASS
  --port-file PATH``, started by :func:`imgpub.sandbox.fake_services.start_fake`), always on
  a free 127.0.0.1 port;
* every request is recorded (:attr:`FakeServer.log`), can be failed or slowed down
  (:attr:`FakeServer.faults`), and the same can be done from another process through
  the control API under ``/_fake/`` and its one client, :class:`FakeClient`.

The control API (JSON in and out; errors are ``{"error": "..."}`` with 400 or 404):

======  =====================  ======================================================
GET     /_fake/health          ``{"ok", "fake", "pid", "url"}``
POST    /_fake/reset           forget all state, recorded requests and faults
POST    /_fake/seed            :meth:`FakeServer.seed` with the body
GET     /_fake/requests        the request log (a list of :class:`RecordedRequest`)
DELETE  /_fake/requests        forget the recorded requests only
GET     /_fake/faults          the armed faults (a list of :class:`Fault`)
POST    /_fake/faults          arm a fault (failure and/or latency)
DELETE  /_fake/faults          disarm every fault
POST    /_fake/call/<verb>     call a :func:`verb` with the body as keyword arguments
======  =====================  ======================================================
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Self, cast

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from imgpub.sandbox.fake_client import FakeClient
from imgpub.sandbox.fake_faults import Fault, FaultTable
from imgpub.sandbox.fake_http import (
    FakeError,
    FakeRequest,
    Resolved,
    RouteTable,
    json_response,
    route,
    verb,
    verbs_of,
)
from imgpub.sandbox.fake_log import RecordedRequest, RequestLog
from imgpub.sandbox.serving import (
    LOOPBACK,
    ServerThread,
    add_server_arguments,
    check_loopback,
    serve_until_signalled,
)

__all__ = [
    "FakeClient",
    "FakeError",
    "FakeRequest",
    "FakeServer",
    "Fault",
    "RecordedRequest",
    "Resolved",
    "json_response",
    "route",
    "serve",
    "verb",
]

CONTROL_PREFIX = "/_fake/"
_log = logging.getLogger(__name__)


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request (errors are still logged, to the service's log)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class FakeServer:
    """A stateful fake; subclass it, declare routes and verbs, build state in reset_state.

    Class settings a fake may override: ``PATHS_IGNORE_CASE`` (ARM paths are
    case-insensitive), ``RECORD_HEADERS`` (request headers kept in the log),
    ``ERROR_CODES`` (the error code used for a status when none is given: injected faults,
    no route, a body that is not JSON) and :meth:`error_response` (the error document).
    """

    PATHS_IGNORE_CASE: ClassVar[bool] = False
    RECORD_HEADERS: ClassVar[tuple[str, ...]] = ("Content-Type", "Accept", "X-Amz-Target")
    ERROR_CODES: ClassVar[Mapping[int, str]] = {
        400: "BadRequest",
        404: "NotFound",
        405: "MethodNotAllowed",
        409: "Conflict",
        429: "TooManyRequests",
        500: "InternalServerError",
        503: "ServiceUnavailable",
    }
    _routes: ClassVar[RouteTable] = RouteTable(())
    _verbs: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._routes = RouteTable.of_class(cls, ignore_case=cls.PATHS_IGNORE_CASE)
        cls._verbs = verbs_of(cls)

    def __init__(self, *, host: str = LOOPBACK, port: int = 0) -> None:
        self.host = host
        self.port = port
        #: Held by every handler and verb; take it to read or change state from a test.
        self.lock = threading.RLock()
        self.log = RequestLog()
        self.faults = FaultTable()
        self._server: ServerThread | None = None
        self._stopping = threading.Event()
        self.reset_state()

    # -- what a fake provides --------------------------------------------------------------

    def reset_state(self) -> None:
        """Build the fake's empty state (called by __init__ and :meth:`reset`, locked)."""

    def seed(self, spec: Mapping[str, Any]) -> None:
        """Seed state: by default ``{"<verb>": [{kwargs}, ...], ...}`` calls each verb."""
        unknown = sorted(set(spec) - self._verbs)
        if unknown:
            raise ValueError(f"no seed verbs {unknown}; this fake has {sorted(self._verbs)}")
        for name, calls in spec.items():
            for kwargs in calls:
                getattr(self, name)(**kwargs)

    def error_response(self, error: FakeError) -> Response:
        """The fake's error document; by default ``{"error": {"code", "message"}}``."""
        body = {"error": {"code": error.code, "message": error.message}}
        return json_response(body, error.status, error.headers)

    def resolve(self, request: FakeRequest) -> Resolved:
        """Find the handler of a request (override for protocols not routed by path).

        It runs before the fault check and without the lock: it may read configuration,
        never state."""
        found = self._routes.find(request.method, request.path)
        if found is not None:
            r, params = found
            return Resolved(r.operation, functools.partial(getattr(self, r.attribute), **params))
        if self._routes.knows_path(request.path):
            message = f"{request.method} {request.path} is not faked."
            raise FakeError(405, self.code_for(405), message)
        raise FakeError(404, self.code_for(404), f"No fake route for {request.path}.")

    def code_for(self, status: int) -> str:
        """The error code this fake uses for ``status`` when none is given."""
        return self.ERROR_CODES.get(status, "Error")

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free port and serve in a daemon thread; returns self."""
        if self._server is None:
            self._stopping.clear()
            wsgi = make_server(
                self.host, self.port, self.wsgi, threaded=True, request_handler=QuietRequestHandler
            )
            self._server = ServerThread(wsgi).start()
        return self

    def stop(self) -> None:
        """Stop serving (delayed requests are woken) and release the port."""
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._server.address

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (only while started)."""
        host, port = self.address
        return f"http://{host}:{port}"

    def client(self) -> FakeClient:
        """A control-API client of this fake (what another process would use)."""
        return FakeClient(self.url)

    def reset(self) -> None:
        """Forget all state, recorded requests and faults."""
        with self.lock:
            self.reset_state()
        self.log.clear()
        self.faults.clear()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        request = Request(environ)
        if request.path.startswith(CONTROL_PREFIX):
            response = self._control(request)
        else:
            response = self._serve(request)
        return cast(Iterator[bytes], response(environ, start_response))

    def _serve(self, raw: Request) -> Response:
        data = raw.get_data()
        body, not_json = _parse_json(data, raw.mimetype)
        request = FakeRequest(raw.method, raw.path, raw.args, raw.headers, body, data)
        resolved: Resolved | None = None
        problem: FakeError | None = None
        try:
            resolved = self.resolve(request)
            request = replace(request, operation=resolved.operation)
        except FakeError as exc:
            problem = exc
        entry = self.log.arrived(self._record(request))
        response = self._answer(request, resolved, problem, not_json)
        self.log.answered(entry, response.status_code)
        return response

    def _answer(
        self,
        request: FakeRequest,
        resolved: Resolved | None,
        problem: FakeError | None,
        not_json: bool,
    ) -> Response:
        verdict = self.faults.take(request.operation, request.method, request.path)
        if verdict.delay > 0:
            self._stopping.wait(verdict.delay)
        if verdict.failure is not None:
            return self._fault_response(verdict.failure)
        try:
            if problem is not None:
                raise problem
            if not_json:
                raise FakeError(400, self.code_for(400), "The request body is not valid JSON.")
            assert resolved is not None
            with self.lock:
                result = resolved.serve(request)
        except FakeError as exc:
            return self.error_response(exc)
        except Exception as exc:  # a fake's bug must surface as a readable 500, not a hang
            _log.exception("%s failed on %s %s", type(self).__name__, request.method, request.path)
            return self.error_response(FakeError(500, "FakeBug", f"{type(exc).__name__}: {exc}"))
        return result if isinstance(result, Response) else json_response(result)

    def _fault_response(self, fault: Fault) -> Response:
        assert fault.status is not None
        if fault.body is not None:
            return json_response(fault.body, fault.status, fault.headers)
        code = fault.code or self.code_for(fault.status)
        return self.error_response(FakeError(fault.status, code, fault.message, fault.headers))

    def _record(self, request: FakeRequest) -> RecordedRequest:
        sent = request.headers
        headers = {h: str(sent[h]) for h in self.RECORD_HEADERS if h in sent}
        return RecordedRequest(
            request.method,
            request.path,
            request.query.to_dict(),
            request.body,
            request.operation,
            headers,
            "Authorization" in sent,
        )

    # -- the control API -------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        what = request.path[len(CONTROL_PREFIX) :].rstrip("/")
        try:
            data = json.loads(request.get_data() or b"{}")
            result = self._control_call(request.method, what, data)
        except (FakeError, ValueError, TypeError, KeyError) as exc:
            return json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)
        if result is _NO_ROUTE:
            return json_response(
                {"error": f"no control route {request.method} {request.path}"}, 404
            )
        return json_response(result)

    def _control_call(self, method: str, what: str, data: Any) -> Any:
        if (method, what) == ("GET", "health"):
            return {"ok": True, "fake": type(self).__name__, "pid": os.getpid(), "url": self.url}
        if (method, what) == ("POST", "reset"):
            self.reset()
            return {"ok": True}
        if (method, what) == ("POST", "seed"):
            with self.lock:
                self.seed(data)
            return {"ok": True}
        if what == "requests" and method in ("GET", "DELETE"):
            if method == "DELETE":
                self.log.clear()
            return [r.to_json() for r in self.log.all()]
        if what == "faults" and method in ("GET", "POST", "DELETE"):
            if method == "POST":
                self.faults.add(Fault.from_json(data))
            elif method == "DELETE":
                self.faults.clear()
            return [f.to_json() for f in self.faults.pending()]
        if method == "POST" and what.startswith("call/"):
            name = what[len("call/") :]
            if name not in self._verbs:
                raise KeyError(f"no verb {name!r}; this fake has {sorted(self._verbs)}")
            return {"result": getattr(self, name)(**data)}
        return _NO_ROUTE


_NO_ROUTE = object()


def _parse_json(data: bytes, mimetype: str) -> tuple[Any, bool]:
    """(parsed body, whether a body that says it is JSON is not); other bodies are None."""
    if not data or ("json" not in mimetype and mimetype != ""):
        return None, False
    try:
        return json.loads(data), False
    except ValueError:
        return None, "json" in mimetype


# -- the child-process entry -------------------------------------------------------------------


def load_fake(spec: str) -> type[FakeServer]:
    """The class named ``module:Class`` (e.g. ``imgpub.sandbox.fake_arm:FakeArm``)."""
    module_name, _, class_name = spec.partition(":")
    found = getattr(importlib.import_module(module_name), class_name or "", None)
    if not (isinstance(found, type) and issubclass(found, FakeServer)):
        raise ValueError(f"{spec} is not a FakeServer subclass (give module:Class)")
    return found


def parse_option(text: str) -> tuple[str, Any]:
    """``k=v`` → (k, v as JSON if it parses, e.g. ``polls=2`` → 2, else the string)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"--option {text!r}: expected name=value")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def serve(fake_class: type[FakeServer] | None = None, argv: Sequence[str] | None = None) -> int:
    """Run a fake as a child process until SIGTERM/SIGINT (or its parent's death)."""
    parser = argparse.ArgumentParser(description="Serve a sandbox fake on 127.0.0.1.")
    if fake_class is None:
        parser.prog = "python -m imgpub.sandbox.fake_server"
        parser.add_argument("fake", help="the fake's class, module:Class")
    add_server_arguments(parser)
    parser.add_argument(
        "--option", action="append", type=parse_option, default=[], metavar="NAME=VALUE",
        help="a keyword argument of the fake's constructor (repeatable; JSON values)",
    )  # fmt: skip
    parser.add_argument("--seed", type=Path, help="a JSON file given to the fake's seed()")
    args = parser.parse_args(argv)
    check_loopback(parser, args.host)
    try:
        cls = fake_class or load_fake(args.fake)
        fake = cls(host=args.host, port=args.port, **dict(args.option))
        if args.seed is not None:
            fake.seed(json.loads(args.seed.read_text("utf-8")))
    except (ValueError, TypeError, KeyError, ImportError, OSError, FakeError) as exc:
        parser.error(f"{type(exc).__name__}: {exc}")
    return serve_until_signalled(
        fake, port_file=args.port_file, exit_with_parent=args.exit_with_parent
    )


if __name__ == "__main__":
    # Run the imported module's serve, not this __main__ copy's: a fake loaded by name
    # subclasses imgpub.sandbox.fake_server.FakeServer, which is not __main__.FakeServer.
    from imgpub.sandbox.fake_server import serve as serve_imported

    raise SystemExit(serve_imported())
