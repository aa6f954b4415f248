"""A small stateful fake of Azure Resource Manager for Compute Gallery calls.

There is no local emulator for Azure's management plane, and mocking the SDK would test
our guesses about it rather than the SDK itself. This server speaks just enough ARM for
the real ``azure-mgmt-compute`` ``ComputeManagementClient`` to run end to end: galleries,
image definitions and image versions (GET/PUT/list, version DELETE), with PUTs as
long-running operations (``Azure-AsyncOperation`` + ``Location`` headers, ``Creating`` →
terminal after a configurable number of polls, as in cloud-apis.md §3.3) and a version
whose creation ends ``Failed`` with an ARM error. Operations are named after ARM's
operation IDs (``GalleryImageVersions_CreateOrUpdate``, ...); the documents it returns
are built in :mod:`imgpub.sandbox.arm_documents`.

Lifecycle, request log, fault injection and the ``/_fake/`` control API come from
:class:`~imgpub.sandbox.fake_server.FakeServer`. It serves the local sandbox and
``imgpub demo`` too, so it lives in the library; standalone:
``python -m imgpub.sandbox.fake_arm --port-file PATH [--seed FILE] [--option polls=2]``.
"""

from __future__ import annotations

import itertools
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from werkzeug.wrappers import Response

from imgpub.sandbox import arm_documents as docs
from imgpub.sandbox.arm_documents import INT32_MAX, key
from imgpub.sandbox.fake_log import RecordedRequest
from imgpub.sandbox.fake_server import (
    FakeError,
    FakeRequest,
    FakeServer,
    Resolved,
    json_response,
    route,
    serve,
    verb,
)

__all__ = ["DEFAULT_SUBSCRIPTION", "INT32_MAX", "FakeArm", "RecordedRequest"]

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-00000000f00d"

_SUB = "/subscriptions/<sub>"
_GALLERY = _SUB + "/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<gallery>"
_IMAGE = _GALLERY + "/images/<image>"
_VERSION = _IMAGE + "/versions/<version>"
_LOCATION = _SUB + "/providers/Microsoft.Compute/locations/<loc>"


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


class FakeArm(FakeServer):
    """The fake ARM server; start it, point ``ComputeManagementClient`` at ``url``.

    ``polls`` is how many status polls of a create report ``InProgress`` before the
    terminal state. ``retry_after`` is sent on async responses so that a client with the
    default 30 s polling interval still polls at once (``None`` omits the header).
    """

    PATHS_IGNORE_CASE = True
    ERROR_CODES: ClassVar[Mapping[int, str]] = {
        **FakeServer.ERROR_CODES,
        400: "InvalidRequestContent",
        404: "InvalidResourceType",
    }

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
        super().__init__(host=host, port=port)
        self._released = threading.Condition(self.lock)

    def reset_state(self) -> None:
        self._state = _State()
        self._ids = itertools.count(1)
        self._held = False

    # -- seeding and inspection ----------------------------------------------------------

    @verb
    def add_gallery(self, resource_group: str, name: str, location: str = "eastus") -> None:
        """Create a gallery directly (galleries are assumed to exist before a release)."""
        self._state.galleries[key(resource_group, name)] = docs.gallery(
            self.subscription_id, resource_group, name, location
        )

    @verb
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
        identity = (publisher, offer, sku or name)
        props = docs.definition_properties(generation, architecture, identity, security_type)
        names = (resource_group, gallery, name)
        location = self._gallery(resource_group, gallery)["location"]
        self._state.images[key(*names)] = docs.resource(
            self.subscription_id, names, location, props
        )

    @verb
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
        location = self._gallery(resource_group, gallery)["location"]
        self._definition(resource_group, gallery, image)
        names = (resource_group, gallery, image, version)
        props = docs.version_properties(source_uri, state, regions)
        self._state.versions[key(*names)] = docs.resource(
            self.subscription_id, names, location, props
        )

    @verb
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
        self._state.failing_versions[key(resource_group, gallery, image, version)] = {
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
        """Answer the next ``times`` requests whose path contains ``path_contains`` (any
        case) with ``status``; 429 and 503 say ``Retry-After: 0`` so the SDK retries now."""
        self.faults.fail(
            method=method,
            path="(?i)" + re.escape(path_contains),
            status=status,
            times=times,
            code=code,
            message=message,
            headers={"Retry-After": "0"} if status in (429, 503) else None,
        )

    @verb
    def hold(self) -> None:
        """Keep every operation InProgress (without using up polls) until :meth:`release`.

        Tests use it to prove that creates run in parallel: all PUTs must arrive while the
        first operation is still held, which a sequential client could never do.
        """
        self._held = True

    @verb
    def release(self) -> None:
        """Let held operations proceed."""
        self._held = False
        self._released.notify_all()

    def seed(self, spec: Mapping[str, Any]) -> None:
        """Seed from ``{"galleries": [add_gallery kwargs], "definitions": [add_definition
        kwargs]}`` (used by the sandbox and ``--seed``); other keys name verbs."""
        aliases = {"galleries": "add_gallery", "definitions": "add_definition"}
        super().seed({aliases.get(name, name): calls for name, calls in spec.items()})

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request history, oldest first (control-API calls excluded)."""
        return self.log.all()

    def count(self, method: str, path_contains: str = "") -> int:
        """How many recorded requests match the method and path fragment (case-insensitive)."""
        return self.log.count(method=method, path="(?i)" + re.escape(path_contains))

    @verb
    def version_state(
        self, resource_group: str, gallery: str, image: str, version: str
    ) -> str | None:
        """The stored provisioning state of a version, or None if it does not exist."""
        body = self._state.versions.get(key(resource_group, gallery, image, version))
        return None if body is None else str(body["properties"]["provisioningState"])

    # -- routes (every one has the subscription first; resolve checks it) ----------------

    def resolve(self, request: FakeRequest) -> Resolved:
        resolved = super().resolve(request)
        sub = request.path.split("/")[2]
        if sub.lower() != self.subscription_id.lower():
            raise FakeError(
                404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
            )
        return resolved

    @route("GET", _GALLERY, "Galleries_Get")
    def get_gallery(self, request: FakeRequest, sub: str, rg: str, gallery: str) -> Any:
        return self._gallery(rg, gallery)

    @route("PUT", _GALLERY, "Galleries_CreateOrUpdate")
    def put_gallery(self, request: FakeRequest, sub: str, rg: str, gallery: str) -> Response:
        location = docs.location_of(request.body)
        existed = key(rg, gallery) in self._state.galleries
        body = docs.gallery(self.subscription_id, rg, gallery, location)
        self._state.galleries[key(rg, gallery)] = body
        return json_response(body, 200 if existed else 201)

    @route("GET", _GALLERY + "/images", "GalleryImages_ListByGallery")
    def list_images(self, request: FakeRequest, sub: str, rg: str, gallery: str) -> Any:
        self._gallery(rg, gallery)
        prefix = key(rg, gallery)
        return {"value": [v for k, v in self._state.images.items() if k[:2] == prefix]}

    @route("GET", _IMAGE, "GalleryImages_Get")
    def get_image(self, request: FakeRequest, sub: str, rg: str, gallery: str, image: str) -> Any:
        return self._definition(rg, gallery, image)

    @route("PUT", _IMAGE, "GalleryImages_CreateOrUpdate")
    def put_image(
        self, request: FakeRequest, sub: str, rg: str, gallery: str, image: str
    ) -> Response:
        image_key = key(rg, gallery, image)
        location = self._gallery(rg, gallery)["location"]
        props = docs.properties_of(request.body)
        docs.check_definition(props)
        conflict = docs.identifier_conflict(self._state.images, image_key, props)
        if conflict is not None:
            raise conflict
        existed = image_key in self._state.images
        stored = docs.resource(
            self.subscription_id,
            (rg, gallery, image),
            str(request.body.get("location") or location),
            {**props, "provisioningState": "Creating"},
        )
        self._state.images[image_key] = stored
        return self._start_operation(
            image_key, stored, 200 if existed else 201, outcome="Succeeded", error=None, polls=0
        )

    @route("GET", _IMAGE + "/versions", "GalleryImageVersions_ListByGalleryImage")
    def list_versions(
        self, request: FakeRequest, sub: str, rg: str, gallery: str, image: str
    ) -> Any:
        self._definition(rg, gallery, image)
        prefix = key(rg, gallery, image)
        return {"value": [v for k, v in self._state.versions.items() if k[:3] == prefix]}

    @route("GET", _VERSION, "GalleryImageVersions_Get")
    def get_version(
        self, request: FakeRequest, sub: str, rg: str, gallery: str, image: str, version: str
    ) -> Any:
        found = self._state.versions.get(key(rg, gallery, image, version))
        if found is None:
            self._definition(rg, gallery, image)
            raise docs.not_found("galleries/images/versions", rg, f"{gallery}/{image}/{version}")
        self._advance(key(rg, gallery, image, version))
        return docs.with_replication(found, request.query.get("$expand") or "")

    @route("DELETE", _VERSION, "GalleryImageVersions_Delete")
    def delete_version(
        self, request: FakeRequest, sub: str, rg: str, gallery: str, image: str, version: str
    ) -> Response:
        if self._state.versions.pop(key(rg, gallery, image, version), None) is None:
            return Response(status=204)
        return Response(status=200)

    @route("PUT", _VERSION, "GalleryImageVersions_CreateOrUpdate")
    def put_version(
        self, request: FakeRequest, sub: str, rg: str, gallery: str, image: str, version: str
    ) -> Response:
        version_key = key(rg, gallery, image, version)
        body = request.body
        self._definition(rg, gallery, image)
        docs.check_version_name(version)
        location = docs.location_of(body)
        props = docs.properties_of(body)
        source = docs.source_uri_of(props)
        existing = self._state.versions.get(version_key)
        if existing is not None and docs.source_uri_of(existing["properties"]) != source:
            raise FakeError(
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
        docs.check_source_region(location, profile["targetRegions"])
        profile["targetRegions"] = [
            {**r, "name": docs.display_region(str(r.get("name", "")))}
            for r in profile["targetRegions"]
        ]
        profile["publishedDate"] = docs.now()
        stored = docs.resource(
            self.subscription_id,
            (rg, gallery, image, version),
            location,
            {**props, "publishingProfile": profile, "provisioningState": "Creating"},
        )
        if isinstance(body.get("tags"), dict):
            stored["tags"] = body["tags"]
        self._state.versions[version_key] = stored
        error = self._state.failing_versions.get(version_key)
        return self._start_operation(
            version_key,
            stored,
            200 if existing is not None else 201,
            outcome="Failed" if error else "Succeeded",
            error=error,
            polls=self.polls,
        )

    # -- long-running operations ---------------------------------------------------------

    def _start_operation(
        self,
        resource_key: tuple[str, ...],
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
            op_id, resource_key, location, max(polls, 0), outcome, error, docs.now()
        )
        base = f"{self.url}/subscriptions/{self.subscription_id}/providers/Microsoft.Compute"
        base += f"/locations/{location}"
        resp = json_response(resource, status)
        resp.headers["Azure-AsyncOperation"] = f"{base}/operations/{op_id}?api-version=2026-03-03"
        resp.headers["Location"] = f"{base}/operationResults/{op_id}?api-version=2026-03-03"
        return self._retry_after(resp)

    @route("GET", _LOCATION + "/operations/<op>", "Operations_GetStatus")
    def operation_status(self, request: FakeRequest, sub: str, loc: str, op: str) -> Response:
        operation = self._poll(op)
        if not operation.done:
            body = {"name": op, "status": "InProgress", "startTime": operation.started}
            return self._retry_after(json_response(body))
        done: dict[str, Any] = {
            "name": op,
            "status": operation.outcome,
            "startTime": operation.started,
            "endTime": docs.now(),
        }
        if operation.error:
            done["error"] = dict(operation.error)
        return json_response(done)

    @route("GET", _LOCATION + "/operationResults/<op>", "Operations_GetResult")
    def operation_result(self, request: FakeRequest, sub: str, loc: str, op: str) -> Response:
        operation = self._poll(op)
        if not operation.done:
            return self._retry_after(Response(status=202))
        if operation.outcome == "Failed" and operation.error:
            raise FakeError(400, operation.error["code"], operation.error["message"])
        resource = self._lookup(operation.key)
        return json_response(resource) if resource else Response(status=204)

    def _advance(self, resource_key: tuple[str, ...]) -> None:
        """A read of a resource counts as a poll of its unfinished operations.

        Azure goes on creating a version when its client goes away; a run that was killed
        while polling must see the next run find the version finished, not Creating forever.
        """
        for op in list(self._state.operations.values()):
            if op.key == resource_key and not op.done and not self._held:
                self._step(op)

    def _poll(self, op_id: str) -> _Operation:
        """One status poll: it uses up one InProgress answer, or finishes the operation."""
        op = self._state.operations.get(op_id)
        if op is None:
            raise FakeError(404, "OperationNotFound", f"Operation {op_id} was not found.")
        if self._held:
            # Slow the client's polling down while held instead of letting it spin.
            self._released.wait_for(lambda: not self._held, timeout=0.2)
        if self._held or op.done:
            return op
        self._step(op)
        return op

    def _step(self, op: _Operation) -> None:
        if op.remaining > 0:
            op.remaining -= 1
        else:
            op.done = True
            resource = self._lookup(op.key)
            if resource is not None:
                resource["properties"]["provisioningState"] = op.outcome

    def _retry_after(self, response: Response) -> Response:
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response

    def _lookup(self, resource_key: tuple[str, ...]) -> dict[str, Any] | None:
        table = self._state.versions if len(resource_key) == 4 else self._state.images
        return table.get(resource_key)

    def _gallery(self, rg: str, gallery: str) -> dict[str, Any]:
        found = self._state.galleries.get(key(rg, gallery))
        if found is None:
            raise docs.not_found("galleries", rg, gallery)
        return found

    def _definition(self, rg: str, gallery: str, image: str) -> dict[str, Any]:
        self._gallery(rg, gallery)
        found = self._state.images.get(key(rg, gallery, image))
        if found is None:
            raise docs.not_found("galleries/images", rg, f"{gallery}/{image}")
        return found


if __name__ == "__main__":
    raise SystemExit(serve(FakeArm))
