"""A small stateful fake of Azure Resource Manager for Compute Gallery calls.

There is no local emulator for Azure's management plane, and mocking the SDK would test
our guesses about it rather than the SDK itself. This server speaks just enough ARM for
the real ``azure-mgmt-compute`` ``ComputeManagementClient`` to run end to end: galleries,
image definitions and image versions (GET/PUT/list, version DELETE), with PUTs as
long-running operations (``Azure-AsyncOperation`` + ``Location`` headers, ``Creating`` →
terminal after a configurable number of polls, as in cloud-apis.md §3.3), failure
injection (a version whose creation ends ``Failed`` with an ARM error; a status code once
for a matching request) and a request history for assertions.

It serves the local sandbox and ``imgpub demo`` too, so it lives in the library. Run it
standalone with ``python -m imgpub.sandbox.fake_arm --port-file PATH``; it serves on
127.0.0.1 until SIGTERM. A small control API under ``/_fake/`` (seed, requests, faults,
reset) lets another process drive it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import signal
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-00000000f00d"
INT32_MAX = 2**31 - 1

_PROVIDER = r"/providers/Microsoft\.Compute"
_GALLERY_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    + _PROVIDER
    + r"/galleries/(?P<gallery>[^/]+)"
    r"(?:(?P<images>/images)(?:/(?P<image>[^/]+)(?:(?P<versions>/versions)(?:/(?P<version>[^/]+))?)?)?)?$",
    re.IGNORECASE,
)
_OPERATION_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)"
    + _PROVIDER
    + r"/locations/(?P<loc>[^/]+)/(?P<kind>operations|operationResults)/(?P<op>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received, for assertions (``body`` is parsed JSON or None)."""

    method: str
    path: str
    query: Mapping[str, str]
    body: Any
    authorization: bool


@dataclass
class _Fault:
    method: str
    path_contains: str
    status: int
    times: int
    code: str
    message: str


@dataclass
class _Operation:
    """A long-running PUT: it reports InProgress for ``remaining`` polls, then its outcome."""

    op_id: str
    key: tuple[str, ...]
    location: str
    remaining: int
    outcome: str
    error: dict[str, Any] | None
    started: str
    done: bool = False


@dataclass
class _State:
    galleries: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    images: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    versions: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    operations: dict[str, _Operation] = field(default_factory=dict)
    failing_versions: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    faults: list[_Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)


class _ArmError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _QuietHandler(WSGIRequestHandler):
    """Keep test and sandbox output clean: no access log lines on stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:
        return


_DISPLAY_NAMES = {
    "eastus": "East US",
    "eastus2": "East US 2",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    "centralus": "Central US",
    "northcentralus": "North Central US",
    "southcentralus": "South Central US",
    "westcentralus": "West Central US",
    "northeurope": "North Europe",
    "westeurope": "West Europe",
    "germanywestcentral": "Germany West Central",
    "francecentral": "France Central",
    "swedencentral": "Sweden Central",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "southeastasia": "Southeast Asia",
    "eastasia": "East Asia",
    "japaneast": "Japan East",
    "australiaeast": "Australia East",
    "centralindia": "Central India",
    "koreacentral": "Korea Central",
    "canadacentral": "Canada Central",
    "brazilsouth": "Brazil South",
}
"""Region display names, as Azure answers a version's target regions (``East US``)."""


def _display(region: str) -> str:
    """The display name Azure answers for a region given by either spelling."""
    return _DISPLAY_NAMES.get(re.sub(r"\s", "", region).lower(), region)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0+00:00")


def _k(*parts: str) -> tuple[str, ...]:
    """ARM resource names are case-insensitive; state is keyed by the lowered names."""
    return tuple(p.lower() for p in parts)


class FakeArm:
    """The fake ARM server; start it, point ``ComputeManagementClient`` at ``url``.

    ``polls`` is how many status polls of a create report ``InProgress`` before the
    terminal state. ``retry_after`` is sent on async responses so that a client with the
    default 30 s polling interval still polls at once (``None`` omits the header).
    """

    def __init__(
        self,
        *,
        subscription_id: str = DEFAULT_SUBSCRIPTION,
        polls: int = 1,
        retry_after: int | None = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.subscription_id = subscription_id
        self.polls = polls
        self.retry_after = retry_after
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._state = _State()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._held = False
        self._released = threading.Condition(self._lock)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeArm:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._server = make_server(
            self._host, self._port, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        # A short poll interval keeps stop() quick (tests start one server per test).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-arm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (only while started)."""
        if self._server is None:
            raise RuntimeError("FakeArm is not started")
        return f"http://{self._host}:{self._server.server_port}"

    def __enter__(self) -> FakeArm:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- seeding and inspection ----------------------------------------------------------

    def reset(self) -> None:
        """Forget every resource, operation, fault and recorded request."""
        with self._lock:
            self._state = _State()

    def add_gallery(self, resource_group: str, name: str, location: str = "eastus") -> None:
        """Create a gallery directly (galleries are assumed to exist before a release)."""
        with self._lock:
            self._state.galleries[_k(resource_group, name)] = self._gallery_body(
                resource_group, name, location
            )

    def add_definition(
        self,
        resource_group: str,
        gallery: str,
        name: str,
        *,
        generation: str = "V2",
        architecture: str = "x64",
        publisher: str = "AlmaLinux",
        offer: str = "AlmaLinux",
        sku: str | None = None,
        security_type: str | None = None,
    ) -> None:
        """Create an image definition directly (its gallery must exist)."""
        props: dict[str, Any] = {
            "osType": "Linux",
            "osState": "Generalized",
            "hyperVGeneration": generation,
            "architecture": architecture,
            "identifier": {"publisher": publisher, "offer": offer, "sku": sku or name},
        }
        if security_type:
            props["features"] = [{"name": "SecurityType", "value": security_type}]
        with self._lock:
            gal = self._gallery(resource_group, gallery)
            self._state.images[_k(resource_group, gallery, name)] = self._resource(
                "images",
                (resource_group, gallery, name),
                gal["location"],
                {**props, "provisioningState": "Succeeded"},
            )

    def add_version(
        self,
        resource_group: str,
        gallery: str,
        image: str,
        version: str,
        *,
        source_uri: str,
        state: str = "Succeeded",
        regions: Iterable[str] = ("eastus",),
    ) -> None:
        """Create an image version directly, in any provisioning state."""
        with self._lock:
            gal = self._gallery(resource_group, gallery)
            self._definition(resource_group, gallery, image)
            props = {
                "publishingProfile": {
                    "targetRegions": [
                        {
                            "name": _display(r),
                            "regionalReplicaCount": 1,
                            "storageAccountType": "Standard_LRS",
                        }
                        for r in regions
                    ],
                    "replicaCount": 1,
                    "excludeFromLatest": False,
                    "storageAccountType": "Standard_LRS",
                    "publishedDate": _now(),
                },
                "storageProfile": {"osDiskImage": {"source": {"uri": source_uri}}},
                "provisioningState": state,
            }
            self._state.versions[_k(resource_group, gallery, image, version)] = self._resource(
                "versions", (resource_group, gallery, image, version), gal["location"], props
            )

    def fail_version(
        self,
        resource_group: str,
        gallery: str,
        image: str,
        version: str,
        *,
        code: str = "InternalOperationError",
        message: str = "Replication failed in region eastus.",
    ) -> None:
        """Make the creation of this version end ``Failed`` with this ARM error."""
        with self._lock:
            self._state.failing_versions[_k(resource_group, gallery, image, version)] = {
                "code": code,
                "message": message,
            }

    def fail_next(
        self,
        method: str,
        path_contains: str,
        status: int,
        *,
        times: int = 1,
        code: str | None = None,
        message: str = "Injected failure.",
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (e.g. 429 or 500)."""
        default_code = {429: "TooManyRequests", 500: "InternalServerError"}.get(status, "Error")
        with self._lock:
            self._state.faults.append(
                _Fault(method.upper(), path_contains, status, times, code or default_code, message)
            )

    def hold(self) -> None:
        """Keep every operation InProgress (without using up polls) until :meth:`release`.

        Tests use it to prove that creates run in parallel: all PUTs must arrive while the
        first operation is still held, which a sequential client could never do.
        """
        with self._lock:
            self._held = True

    def release(self) -> None:
        """Let held operations proceed."""
        with self._lock:
            self._held = False
            self._released.notify_all()

    def seed(self, spec: Mapping[str, Any]) -> None:
        """Seed from a JSON-like mapping (used by the control API and ``--seed``).

        ``{"galleries": [{"resource_group", "name", "location"}],
        "definitions": [{"resource_group", "gallery", "name", "generation", "architecture"}]}``
        """
        for g in spec.get("galleries", []):
            self.add_gallery(g["resource_group"], g["name"], g.get("location", "eastus"))
        for d in spec.get("definitions", []):
            extra = {
                k: d[k]
                for k in (
                    "generation",
                    "architecture",
                    "publisher",
                    "offer",
                    "sku",
                    "security_type",
                )
                if k in d
            }
            self.add_definition(d["resource_group"], d["gallery"], d["name"], **extra)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request history, oldest first (control-API calls excluded)."""
        with self._lock:
            return list(self._state.requests)

    def count(self, method: str, path_contains: str = "") -> int:
        """How many recorded requests match the method and path fragment (case-insensitive)."""
        frag = path_contains.lower()
        return sum(
            1 for r in self.requests if r.method == method.upper() and frag in r.path.lower()
        )

    def version_state(
        self, resource_group: str, gallery: str, image: str, version: str
    ) -> str | None:
        """The stored provisioning state of a version, or None if it does not exist."""
        with self._lock:
            body = self._state.versions.get(_k(resource_group, gallery, image, version))
            return None if body is None else str(body["properties"]["provisioningState"])

    # -- WSGI ----------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except _ArmError as exc:
            response = self._error(exc.status, exc.code, exc.message)
        except Exception as exc:  # a fake's bug must surface as a readable 500, not a hang
            response = self._error(500, "FakeArmBug", f"{type(exc).__name__}: {exc}")
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_fake/"):
            return self._control(request)
        body: Any = None
        if request.get_data():
            try:
                body = json.loads(request.get_data())
            except ValueError:
                raise _ArmError(400, "InvalidRequestContent", "The body is not JSON.") from None
        with self._lock:
            self._state.requests.append(
                RecordedRequest(
                    request.method,
                    path,
                    dict(request.args),
                    body,
                    "Authorization" in request.headers,
                )
            )
            fault = self._take_fault(request.method, path)
        if fault is not None:
            resp = self._error(fault.status, fault.code, fault.message)
            if fault.status in (429, 503):
                resp.headers["Retry-After"] = "0"
            return resp
        op = _OPERATION_RE.match(path)
        if op is not None:
            self._check_sub(op["sub"])
            return self._operation(op["op"], op["kind"].lower() == "operationresults")
        m = _GALLERY_RE.match(path)
        if m is None:
            raise _ArmError(404, "InvalidResourceType", f"No fake route for {path}.")
        self._check_sub(m["sub"])
        rg, gallery, image, version = m["rg"], m["gallery"], m["image"], m["version"]
        method = request.method
        expand = (request.args.get("$expand") or "").lower()
        with self._lock:
            if m["versions"] and version is None:
                if method != "GET":
                    raise _ArmError(405, "MethodNotAllowed", f"{method} on a list.")
                self._definition(rg, gallery, image)
                prefix = _k(rg, gallery, image)
                return self._json(
                    200,
                    {"value": [v for k, v in self._state.versions.items() if k[:3] == prefix]},
                )
            if version is not None:
                return self._version(method, rg, gallery, image, version, body, expand)
            if m["images"] and image is None:
                if method != "GET":
                    raise _ArmError(405, "MethodNotAllowed", f"{method} on a list.")
                self._gallery(rg, gallery)
                prefix2 = _k(rg, gallery)
                return self._json(
                    200,
                    {"value": [v for k, v in self._state.images.items() if k[:2] == prefix2]},
                )
            if image is not None:
                return self._image(method, rg, gallery, image, body)
            return self._gallery_call(method, rg, gallery, body)

    # -- resources -----------------------------------------------------------------------

    def _gallery_call(self, method: str, rg: str, gallery: str, body: Any) -> Response:
        if method == "GET":
            return self._json(200, self._gallery(rg, gallery))
        if method == "PUT":
            location = self._location(body)
            existed = _k(rg, gallery) in self._state.galleries
            self._state.galleries[_k(rg, gallery)] = self._gallery_body(rg, gallery, location)
            return self._json(200 if existed else 201, self._state.galleries[_k(rg, gallery)])
        raise _ArmError(405, "MethodNotAllowed", f"{method} on a gallery is not faked.")

    def _image(self, method: str, rg: str, gallery: str, image: str, body: Any) -> Response:
        key = _k(rg, gallery, image)
        if method == "GET":
            return self._json(200, self._definition(rg, gallery, image))
        if method != "PUT":
            raise _ArmError(405, "MethodNotAllowed", f"{method} on an image is not faked.")
        gal = self._gallery(rg, gallery)
        props = self._props(body)
        for required in ("osType", "osState", "identifier"):
            if required not in props:
                raise _ArmError(
                    400, "InvalidParameter", f"Required parameter '{required}' is missing (null)."
                )
        ident = props["identifier"]
        triple = (ident.get("publisher"), ident.get("offer"), ident.get("sku"))
        for other_key, other in self._state.images.items():
            other_ident = other["properties"]["identifier"]
            if (
                other_key[:2] == key[:2]
                and other_key != key
                and triple
                == (
                    other_ident.get("publisher"),
                    other_ident.get("offer"),
                    other_ident.get("sku"),
                )
            ):
                raise _ArmError(
                    409,
                    "Conflict",
                    f"Gallery image identifier {'/'.join(map(str, triple))} is already used"
                    f" by image definition {other['name']}.",
                )
        if props.get("hyperVGeneration") == "V1" and any(
            f.get("name") == "SecurityType" for f in props.get("features") or []
        ):
            raise _ArmError(
                400, "InvalidParameter", "SecurityType feature requires hyperVGeneration V2."
            )
        existed = key in self._state.images
        resource = self._resource(
            "images",
            (rg, gallery, image),
            str(body.get("location") or gal["location"]),
            {**props, "provisioningState": "Creating"},
        )
        self._state.images[key] = resource
        return self._start_operation(
            key, resource, 200 if existed else 201, outcome="Succeeded", error=None, polls=0
        )

    def _version(
        self,
        method: str,
        rg: str,
        gallery: str,
        image: str,
        version: str,
        body: Any,
        expand: str,
    ) -> Response:
        key = _k(rg, gallery, image, version)
        if method == "GET":
            found = self._state.versions.get(key)
            if found is None:
                self._definition(rg, gallery, image)
                raise self._not_found(
                    "galleries/images/versions", rg, f"{gallery}/{image}/{version}"
                )
            self._progress(key)
            return self._json(200, self._with_replication(found, expand))
        if method == "DELETE":
            if self._state.versions.pop(key, None) is None:
                return Response(status=204)
            return Response(status=200)
        if method != "PUT":
            raise _ArmError(405, "MethodNotAllowed", f"{method} on a version is not faked.")
        self._gallery(rg, gallery)
        self._definition(rg, gallery, image)
        parts = version.split(".")
        if len(parts) != 3 or not all(p.isdigit() and int(p) <= INT32_MAX for p in parts):
            raise _ArmError(
                400,
                "InvalidParameter",
                f"The gallery image version name '{version}' is invalid. It must be"
                " Major.Minor.Patch with each part an int32.",
            )
        location = self._location(body)
        props = self._props(body)
        source = props.get("storageProfile", {}).get("osDiskImage", {}).get("source", {}).get("uri")
        if not source:
            raise _ArmError(
                400,
                "InvalidParameter",
                "Required parameter 'storageProfile.osDiskImage.source.uri' is missing.",
            )
        existing = self._state.versions.get(key)
        if existing is not None:
            old = existing["properties"]["storageProfile"]["osDiskImage"]["source"]["uri"]
            if old != source:
                raise _ArmError(
                    409,
                    "PropertyChangeNotAllowed",
                    "Changing property 'galleryImageVersion.properties.storageProfile"
                    ".osDiskImage.source.uri' is not allowed.",
                )
        profile = dict(props.get("publishingProfile") or {})
        if not profile.get("targetRegions"):
            profile["targetRegions"] = [
                {
                    "name": location,
                    "regionalReplicaCount": profile.get("replicaCount", 1),
                    "storageAccountType": profile.get("storageAccountType", "Standard_LRS"),
                }
            ]
        self._check_source_region(location, profile["targetRegions"])
        profile["targetRegions"] = [
            {**r, "name": _display(str(r.get("name", "")))} for r in profile["targetRegions"]
        ]
        profile["publishedDate"] = _now()
        stored = {
            **props,
            "publishingProfile": profile,
            "provisioningState": "Creating",
        }
        resource = self._resource("versions", (rg, gallery, image, version), location, stored)
        if isinstance(body.get("tags"), dict):
            resource["tags"] = body["tags"]
        self._state.versions[key] = resource
        error = self._state.failing_versions.get(key)
        return self._start_operation(
            key,
            resource,
            200 if existing is not None else 201,
            outcome="Failed" if error else "Succeeded",
            error=error,
            polls=self.polls,
        )

    @staticmethod
    def _check_source_region(location: str, regions: list[dict[str, Any]]) -> None:
        """Azure refuses a version whose replication regions lack its own (the gallery's)."""
        names = {re.sub(r"\s", "", str(r.get("name", ""))).lower() for r in regions}
        where = re.sub(r"\s", "", location).lower()
        if where not in names:
            raise _ArmError(
                400,
                "InvalidParameter",
                "The replication regions must include the region the source VM is located."
                f" Please add '{where}' to the list of target regions.",
            )

    def _with_replication(self, resource: dict[str, Any], expand: str) -> dict[str, Any]:
        if "replicationstatus" not in expand:
            return resource
        state = resource["properties"]["provisioningState"]
        agg = {"Succeeded": "Completed", "Failed": "Failed"}.get(state, "InProgress")
        per = {"Completed": "Completed", "Failed": "Failed"}.get(agg, "Replicating")
        regions = resource["properties"]["publishingProfile"]["targetRegions"]
        out: dict[str, Any] = json.loads(json.dumps(resource))
        out["properties"]["replicationStatus"] = {
            "aggregatedState": agg,
            "summary": [
                {
                    "region": r["name"],
                    "state": per,
                    "details": "",
                    "progress": 100 if per == "Completed" else 0,
                }
                for r in regions
            ],
        }
        return out

    # -- long-running operations ---------------------------------------------------------

    def _start_operation(
        self,
        key: tuple[str, ...],
        resource: dict[str, Any],
        status: int,
        *,
        outcome: str,
        error: dict[str, Any] | None,
        polls: int,
    ) -> Response:
        op_id = f"{next(self._ids):04d}-{uuid.uuid4()}"
        location = re.sub(r"\s", "", str(resource["location"])).lower()
        self._state.operations[op_id] = _Operation(
            op_id, key, location, max(polls, 0), outcome, error, _now()
        )
        base = f"{self.url}/subscriptions/{self.subscription_id}/providers/Microsoft.Compute"
        base += f"/locations/{location}"
        resp = self._json(status, resource)
        resp.headers["Azure-AsyncOperation"] = f"{base}/operations/{op_id}?api-version=2026-03-03"
        resp.headers["Location"] = f"{base}/operationResults/{op_id}?api-version=2026-03-03"
        if self.retry_after is not None:
            resp.headers["Retry-After"] = str(self.retry_after)
        return resp

    def _operation(self, op_id: str, results: bool) -> Response:
        with self._lock:
            op = self._state.operations.get(op_id)
            if op is None:
                raise _ArmError(404, "OperationNotFound", f"Operation {op_id} was not found.")
            if self._held:
                # Slow the client's polling down while held instead of letting it spin.
                self._released.wait_for(lambda: not self._held, timeout=0.2)
            if self._held:
                pass
            elif not op.done and op.remaining > 0:
                op.remaining -= 1
            elif not op.done:
                self._finish(op)
            if not op.done:
                if results:
                    resp = Response(status=202)
                    if self.retry_after is not None:
                        resp.headers["Retry-After"] = str(self.retry_after)
                    return resp
                body: dict[str, Any] = {
                    "name": op_id,
                    "status": "InProgress",
                    "startTime": op.started,
                }
                resp = self._json(200, body)
                if self.retry_after is not None:
                    resp.headers["Retry-After"] = str(self.retry_after)
                return resp
            if results:
                resource = self._lookup(op.key)
                if op.outcome == "Failed" and op.error:
                    return self._error(400, op.error["code"], op.error["message"])
                return self._json(200, resource) if resource else Response(status=204)
            body = {"name": op_id, "status": op.outcome, "startTime": op.started, "endTime": _now()}
            if op.error:
                body["error"] = dict(op.error)
            return self._json(200, body)

    def _progress(self, key: tuple[str, ...]) -> None:
        """A read of a resource counts as a poll of its unfinished operation.

        Azure goes on creating a version when its client goes away; a run that was killed
        while polling must see the next run find the version finished, not Creating forever.
        """
        if self._held:
            return
        for op in self._state.operations.values():
            if op.key == key and not op.done:
                if op.remaining > 0:
                    op.remaining -= 1
                else:
                    self._finish(op)

    def _finish(self, op: _Operation) -> None:
        op.done = True
        resource = self._lookup(op.key)
        if resource is not None:
            resource["properties"]["provisioningState"] = op.outcome

    def _lookup(self, key: tuple[str, ...]) -> dict[str, Any] | None:
        table: Mapping[Any, dict[str, Any]]
        table = self._state.versions if len(key) == 4 else self._state.images
        return table.get(key)

    # -- control API ---------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        what = request.path[len("/_fake/") :]
        data = json.loads(request.get_data() or b"{}")
        if what == "seed" and request.method == "POST":
            self.seed(data)
            return self._json(200, {"ok": True})
        if what == "reset" and request.method == "POST":
            self.reset()
            return self._json(200, {"ok": True})
        if what == "faults" and request.method == "POST":
            self.fail_next(
                data["method"],
                data["path_contains"],
                int(data["status"]),
                times=int(data.get("times", 1)),
            )
            return self._json(200, {"ok": True})
        if what == "fail-version" and request.method == "POST":
            self.fail_version(
                data["resource_group"], data["gallery"], data["image"], data["version"]
            )
            return self._json(200, {"ok": True})
        if what == "requests" and request.method == "GET":
            return self._json(
                200,
                [
                    {"method": r.method, "path": r.path, "query": dict(r.query), "body": r.body}
                    for r in self.requests
                ],
            )
        raise _ArmError(404, "NotFound", f"No control endpoint {request.method} {request.path}.")

    # -- helpers -------------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._state.faults:
            if (
                fault.times > 0
                and fault.method == method
                and fault.path_contains.lower() in (path.lower())
            ):
                fault.times -= 1
                return fault
        return None

    def _check_sub(self, sub: str) -> None:
        if sub.lower() != self.subscription_id.lower():
            raise _ArmError(
                404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
            )

    def _gallery(self, rg: str, gallery: str) -> dict[str, Any]:
        found = self._state.galleries.get(_k(rg, gallery))
        if found is None:
            raise self._not_found("galleries", rg, gallery)
        return found

    def _definition(self, rg: str, gallery: str, image: str) -> dict[str, Any]:
        self._gallery(rg, gallery)
        found = self._state.images.get(_k(rg, gallery, image))
        if found is None:
            raise self._not_found("galleries/images", rg, f"{gallery}/{image}")
        return found

    @staticmethod
    def _not_found(kind: str, rg: str, name: str) -> _ArmError:
        return _ArmError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.Compute/{kind}/{name}' under resource group '{rg}'"
            " was not found.",
        )

    @staticmethod
    def _location(body: Any) -> str:
        if not isinstance(body, dict) or not body.get("location"):
            raise _ArmError(400, "LocationRequired", "The location property is required.")
        return str(body["location"])

    @staticmethod
    def _props(body: Any) -> dict[str, Any]:
        props = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            raise _ArmError(400, "InvalidRequestContent", "The request has no properties.")
        return props

    def _gallery_body(self, rg: str, name: str, location: str) -> dict[str, Any]:
        return self._resource(
            "galleries",
            (rg, name),
            location,
            {
                "identifier": {"uniqueName": f"{self.subscription_id}-{name.upper()}"},
                "provisioningState": "Succeeded",
            },
        )

    def _resource(
        self, kind: str, names: tuple[str, ...], location: str, props: dict[str, Any]
    ) -> dict[str, Any]:
        rg, gallery, *rest = names
        rid = (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{rg}"
            f"/providers/Microsoft.Compute/galleries/{gallery}"
        )
        types = ["Microsoft.Compute/galleries"]
        for segment, value in zip(("images", "versions"), rest, strict=False):
            rid += f"/{segment}/{value}"
            types.append(segment)
        return {
            "id": rid,
            "name": names[-1],
            "type": "/".join(types),
            "location": location,
            "tags": {},
            "properties": props,
        }

    @staticmethod
    def _json(status: int, body: Any) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json")

    @staticmethod
    def _error(status: int, code: str, message: str) -> Response:
        return FakeArm._json(status, {"error": {"code": code, "message": message}})


def main(argv: list[str] | None = None) -> int:
    """Serve on 127.0.0.1 until SIGTERM/SIGINT; write the port to ``--port-file``."""
    parser = argparse.ArgumentParser(prog="python -m imgpub.sandbox.fake_arm", description=__doc__)
    parser.add_argument("--port-file", required=True, type=Path, help="write the bound port here")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument("--subscription", default=DEFAULT_SUBSCRIPTION)
    parser.add_argument("--polls", type=int, default=1, help="InProgress polls before done")
    parser.add_argument("--seed", type=Path, help="JSON file of galleries and definitions")
    args = parser.parse_args(argv)
    fake = FakeArm(subscription_id=args.subscription, polls=args.polls, port=args.port)
    if args.seed:
        fake.seed(json.loads(args.seed.read_text("utf-8")))
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with fake:
        port = fake.url.rsplit(":", 1)[1]
        tmp = args.port_file.with_name(args.port_file.name + ".tmp")
        tmp.write_text(port, "utf-8")
        tmp.replace(args.port_file)  # atomic: a reader never sees a half-written port
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
