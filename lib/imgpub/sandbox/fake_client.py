"""The one client of every fake's control API (``/_fake/``), for tests and other processes.

A test that starts a fake as a child process (or finds one through the sandbox's
environment) drives it with ``FakeClient(url)``; one that runs the fake in-process may use
the fake object itself: ``client.log`` and ``client.faults`` answer to the same verbs as
``fake.log`` and ``fake.faults``. A fake's own seed and inspect verbs are reached with
:meth:`FakeClient.call`; a fake that wants typed ones subclasses this client.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from typing import Any

from imgpub.sandbox.fake_faults import Fault, FaultControls
from imgpub.sandbox.fake_log import RecordedRequest, RequestQueries

_PREFIX = "/_fake/"


class FakeControlError(RuntimeError):
    """The control API refused a request (an unknown verb, bad arguments, a bad fault)."""


class FakeClient:
    """Client of the control API of the fake at ``url`` (e.g. ``http://127.0.0.1:41234``)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"a fake's url must be http(s), not {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._opener = loopback_opener()
        self.log: RequestQueries = _RemoteLog(self)
        self.faults: FaultControls = _RemoteFaults(self)

    def health(self) -> dict[str, Any]:
        """``{"ok": True, "fake": class name, "pid", "url"}``; raises if it is not up."""
        return dict(self.request("GET", "health"))

    def reset(self) -> None:
        """Forget all state, recorded requests and faults."""
        self.request("POST", "reset", {})

    def seed(self, spec: dict[str, Any]) -> None:
        """Give ``spec`` to the fake's ``seed``."""
        self.request("POST", "seed", spec)

    def call(self, verb: str, /, **kwargs: Any) -> Any:
        """Call one of the fake's verbs with JSON keyword arguments; its JSON result."""
        return self.request("POST", f"call/{verb}", kwargs)["result"]

    def request(self, method: str, route: str, body: Any = None) -> Any:
        """One control request; the decoded JSON answer."""
        url = f"{self.url}{_PREFIX}{route}"
        label = f"{method} {_PREFIX}{route}"
        return json_request(self._opener, method, url, body, self.timeout, FakeControlError, label)


def loopback_opener() -> urllib.request.OpenerDirector:
    """An opener that never routes through an HTTP(S)_PROXY: sandbox servers are local."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def json_request(
    opener: urllib.request.OpenerDirector,
    method: str,
    url: str,
    body: Any,
    timeout: float,
    error: type[Exception],
    label: str,
) -> Any:
    """Send ``body`` as JSON, return the JSON answer; an HTTP error raises ``error`` with
    ``label`` and the server's ``{"error": ...}`` text (the control APIs' error shape)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    # Callers check that url is http(s): only those schemes reach urllib.
    req = urllib.request.Request(  # noqa: S310
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with opener.open(req, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            detail = str(json.loads(detail)["error"])
        raise error(f"{label}: {detail}") from None


class _RemoteLog(RequestQueries):
    def __init__(self, client: FakeClient) -> None:
        self._client = client

    def all(self) -> list[RecordedRequest]:
        return [RecordedRequest.from_json(r) for r in self._client.request("GET", "requests")]

    def clear(self) -> None:
        self._client.request("DELETE", "requests")


class _RemoteFaults(FaultControls):
    def __init__(self, client: FakeClient) -> None:
        self._client = client

    def add(self, fault: Fault) -> None:
        self._client.request("POST", "faults", fault.to_json())

    def clear(self) -> None:
        self._client.request("DELETE", "faults")

    def pending(self) -> list[Fault]:
        return [Fault.from_json(f) for f in self._client.request("GET", "faults")]
