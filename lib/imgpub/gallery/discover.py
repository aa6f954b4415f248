"""Read-only discovery, then the plan: what the image is, which blob index, what the gallery has.

In order, so that a bad image stops the run before Azure is asked anything:

1. the image: opened, identified and checked (size, VHD footer, the start of a compressed
   stream) — every problem is exit 2;
2. storage: the first blob index whose name is free or holds our own upload (a name taken
   by another source is left alone and the next index used, as the summary says);
3. Resource Manager: the gallery's region, the image definitions and the versions at that
   index.

Nothing here writes. A dry run that cannot reach Azure (no credential, no subscription, a
storage error) still returns the plan, marked "not checked against Azure" with the reason;
a real run raises instead. What the findings mean is decided purely by
:func:`imgpub.gallery.plan.build_plan`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from azure.core.exceptions import ResourceNotFoundError

from imgpub.azure.gallery import GalleryAdapter, VersionSource, VersionTarget, storage_account_id
from imgpub.azure.pageblob import BlobStatus, blob_status
from imgpub.azure.session import AzureSession
from imgpub.azure.storage import account_of, planned_blob_endpoint
from imgpub.diskimage.source import open_source
from imgpub.diskimage.streams import DiskSource
from imgpub.diskimage.vhd import FOOTER_SIZE, check_fixed_vhd
from imgpub.errors import CloudError, ConfigError, ImgpubError, InputError
from imgpub.gallery.inputs import GalleryInputs
from imgpub.gallery.names import PublishNames
from imgpub.gallery.plan import BlobFound, GalleryFound, GalleryPlan, build_plan
from imgpub.redact import without_query
from imgpub.text import first_line

MAX_INDEX_BUMPS = 20
"""How many taken blob names to skip before giving up (each is someone else's blob)."""
PROBE_SECONDS = 5.0
"""How long a dry run waits for Azure to answer before printing the unchecked plan."""

Log = Callable[[str], None]


@dataclass(frozen=True)
class Discovered:
    """The plan, and the opened image the upload will read (None with vhd-url)."""

    plan: GalleryPlan
    source: DiskSource | None


def discover_gallery(adapter: GalleryAdapter, targets: Sequence[VersionTarget]) -> GalleryFound:
    """The gallery's region, its definitions and the versions of ``targets`` (one gallery).

    A missing gallery is a ``ConfigError`` (exit 2): nothing can be published into it.
    """
    first = targets[0]
    location = adapter.gallery_location(first.resource_group, first.gallery)
    definitions = {}
    for t in targets:
        key = t.definition.name.lower()
        if key not in definitions:
            definitions[key] = adapter.get_definition(
                t.resource_group, t.gallery, t.definition.name
            )
    versions = {t.path: adapter.get_target(t) for t in targets}
    return GalleryFound(location, definitions, versions)


def locate_blob(
    inputs: GalleryInputs, session: AzureSession, source: DiskSource, warn: Log
) -> tuple[PublishNames, BlobFound]:
    """The first index whose blob is free or ours, as the upload will use it (read-only)."""
    storage = session.storage
    digest = source.identity().digest
    names = inputs.names
    skipped: list[str] = []
    for _ in range(MAX_INDEX_BUMPS + 1):
        container = storage.service.get_container_client(names.container)
        status = blob_status(container, names.blob_name, digest)
        url = f"{storage.endpoint}/{names.container}/{names.blob_name}"
        if status not in (BlobStatus.FOREIGN, BlobStatus.OTHER_SOURCE):
            return names, BlobFound(str(status), url, tuple(skipped))
        who = (
            "not made by imgpub"
            if status is BlobStatus.FOREIGN
            else "made from a different source image"
        )
        note = (
            f"blob {names.container}/{names.blob_name} already exists and was {who}; it is "
            f"left untouched and index {names.index + 1} is used instead"
        )
        warn(note)
        skipped.append(note)
        names = inputs.names_at(names.index + 1)
    raise ConfigError(
        f"the blob names of {MAX_INDEX_BUMPS} indexes up to {names.blob_name} are all taken by "
        "other sources",
        remedy="check the container; delete stale blobs or rename the image with a new index",
    )


def check_vhd_blob(inputs: GalleryInputs, session: AzureSession, log: Log) -> None:
    """vhd-url: the blob must exist and end in a valid fixed-VHD footer, when we can read it."""
    url = inputs.vhd_url or ""
    if not inputs.storage.connection_string:
        log("vhd-url: footer not checked (no storage connection string)")
        return
    storage = session.storage
    prefix = storage.endpoint + "/"
    if not url.startswith(prefix):
        log(f"vhd-url: footer not checked (not in storage account {storage.account})")
        return
    container, _, blob_name = url[len(prefix) :].partition("/")
    blob = storage.service.get_blob_client(container, blob_name)
    try:
        size = int(blob.get_blob_properties().size)
    except ResourceNotFoundError:
        raise InputError("vhd-url", f"no blob at {url}", "upload it first or fix the URL") from None
    tail = blob.download_blob(offset=max(size - FOOTER_SIZE, 0), length=FOOTER_SIZE).readall()
    check_fixed_vhd(tail, size, name="vhd-url")


class _Reach:
    """Why a dry run cannot look at Azure, asked once ('' when it can)."""

    def __init__(self, session: AzureSession) -> None:
        self._session = session
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            try:
                answer = self._session.probe(PROBE_SECONDS)
                self._token = "" if answer.ok else answer.reason
            except ImgpubError as exc:
                self._token = exc.one_line()
        return self._token

    def arm(self) -> str:
        if not self._session.has_subscription:
            return "no subscription given (subscription-id or AZURE_SUBSCRIPTION_ID)"
        return self.token()

    def storage(self) -> str:
        if self._session.can_reach_storage_without_arm:
            return ""
        if not self._session.has_subscription:  # nothing configured: do not wait for a token
            return "no storage connection string and no Azure subscription or credential"
        reason = self.token()
        return f"no storage connection string and no Azure credential ({reason})" if reason else ""


def discover(
    inputs: GalleryInputs,
    session: AzureSession,
    *,
    dry_run: bool,
    log: Log,
    warn: Log,
    s3_client: Callable[[], object],
) -> Discovered:
    """Everything prepare learns, then the plan; a real run raises what a dry run reports."""
    source = _open_image(inputs, s3_client)
    reach = _Reach(session)
    reasons: list[str] = []
    names = inputs.names
    blob: BlobFound | None = None
    if source is not None:
        names, blob = _blob(inputs, session, source, reach, reasons, dry_run, warn)
    elif inputs.publishes:
        _vhd(inputs, session, reasons, dry_run, log)
    gallery: GalleryFound | None = None
    if inputs.publishes:
        reason = reach.arm() if dry_run else ""
        try:
            if not reason:
                gallery = discover_gallery(session.gallery, names.versions)
        except CloudError as exc:  # ConfigError (no such gallery) is exit 2 even in a dry run
            if not dry_run:
                raise
            reason = exc.message
        if reason:
            reasons.append(reason)
    uri = blob.url if blob is not None else inputs.vhd_url or ""
    subscription = _subscription(inputs, session, dry_run)
    account = account_of(uri, inputs.cloud) or names.storage_account
    plan = build_plan(
        names,
        blob=blob,
        gallery=gallery,
        source=VersionSource(
            uri,
            storage_account_id(subscription, names.resource_group, account)
            if subscription
            else None,
        ),
        subscription=subscription,
        steps=inputs.steps,
        create_definitions=inputs.create_definitions,
        unchecked_reason="; ".join(dict.fromkeys(reasons)),
        vhd_url=inputs.vhd_url,
        image=_recorded(inputs.image),
        notes=("vhd-url given: the upload step was skipped",)
        if inputs.vhd_url and inputs.uploads
        else (),
    )
    if not dry_run:
        blockers = plan.blockers()
        if blockers is not None:
            raise blockers
    return Discovered(plan, source)


def _recorded(image: str | None) -> str | None:
    """The image as the results document may hold it: a URL loses query and user-info."""
    if image is None or "://" not in image:
        return image
    return without_query(image)


def _open_image(inputs: GalleryInputs, s3_client: Callable[[], object]) -> DiskSource | None:
    """The image as a source, identified and checked; every problem is an input error."""
    if inputs.image is None:
        return None
    is_s3 = inputs.image.lower().startswith("s3://")
    source = open_source(inputs.image, s3_client=s3_client() if is_s3 else None)
    source.identity()  # a missing file or an unreachable URL fails here, before any change
    source.check()
    return source


def _blob(
    inputs: GalleryInputs,
    session: AzureSession,
    source: DiskSource,
    reach: _Reach,
    reasons: list[str],
    dry_run: bool,
    warn: Log,
) -> tuple[PublishNames, BlobFound]:
    reason = reach.storage() if dry_run else ""
    if not reason:
        try:
            return locate_blob(inputs, session, source, warn)
        except ImgpubError:
            raise
        except Exception as exc:  # a dry run that cannot read storage prints the plan anyway
            if not dry_run:
                raise
            reason = f"storage not reachable ({first_line(exc)})"
    reasons.append(reason)
    names = inputs.names
    endpoint = planned_blob_endpoint(
        inputs.storage.connection_string, inputs.cloud, names.storage_account
    )
    return names, BlobFound("unchecked", f"{endpoint}/{names.container}/{names.blob_name}")


def _vhd(
    inputs: GalleryInputs,
    session: AzureSession,
    reasons: list[str],
    dry_run: bool,
    log: Log,
) -> None:
    if not dry_run:
        check_vhd_blob(inputs, session, log)
        return
    if inputs.storage.connection_string:
        try:
            check_vhd_blob(inputs, session, log)
        except ImgpubError:
            raise
        except Exception as exc:
            reasons.append(f"storage not reachable ({first_line(exc)})")


def _subscription(inputs: GalleryInputs, session: AzureSession, dry_run: bool) -> str | None:
    """The subscription for resource IDs: required to publish for real, optional otherwise."""
    if inputs.publishes and not dry_run:
        return session.subscription_id
    return inputs.subscription
