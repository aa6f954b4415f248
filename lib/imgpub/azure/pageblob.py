"""Upload a disk source to an Azure page blob: create, resume or reuse it, never overwrite.

The blob records the source's identity in its metadata when it is created, and gets its
whole-blob Content-MD5 only when every page is in — the completion marker. So a blob with
our identity and no Content-MD5 is an interrupted upload of this source and is resumed; one
with Content-MD5 is complete and reused; one with another identity belongs to someone else
and is left alone (the caller picks the next index). The pass itself is
:class:`imgpub.azure.page_writer.PageWriter`.

Two ways an upload can stop short, handled differently on purpose:

* a broken connection, a failing service, a kill or a cancel: the blob is kept, and the
  next run resumes it, sending only the missing pages;
* a source that turns out corrupt while streaming (:class:`CorruptSource`): no run can
  ever complete that blob, and it would take the index of the good image's re-run. The
  blob this run created is deleted (only that one), and :class:`UploadAbandoned` says so.

The caller owns the client (a ``ContainerClient``; Azurite needs a service client built
with ``api_version="2025-11-05"``) and the blob name. Nothing here prints.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from enum import StrEnum

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient, ContentSettings

from imgpub.azure.page_writer import (
    GROW_STEP,
    PageWriter,
    ProgressCallback,
    RetryRule,
    UploadProgress,
)
from imgpub.cancel import NEVER, Cancellation
from imgpub.diskimage.byte_ranges import ByteRanges
from imgpub.diskimage.errors import CorruptSource
from imgpub.diskimage.identity import identity_digest_of
from imgpub.diskimage.streams import DiskSource
from imgpub.errors import CloudError
from imgpub.redact import without_query

__all__ = [
    "BlobStatus",
    "Outcome",
    "PageBlobResult",
    "RetryRule",
    "UploadAbandoned",
    "UploadOptions",
    "UploadProgress",
    "blob_status",
    "ensure_container",
    "upload_page_blob",
]


class Outcome(StrEnum):
    """What happened to the blob, in the words of the results document."""

    CREATED = "created"
    RESUMED = "resumed"
    EXISTED = "existed"
    CONFLICT = "conflict"
    """The name is taken by a blob of another source; nothing was written."""
    INTERRUPTED = "interrupted"
    """Cancelled part-way: the blob is kept, incomplete, and a re-run resumes it."""


class BlobStatus(StrEnum):
    """What a blob name holds, found read-only (dry runs, discovery)."""

    MISSING = "missing"
    COMPLETE = "complete"
    """Ours and marked complete."""
    INTERRUPTED = "interrupted"
    """Ours, not marked complete: an upload to resume."""
    FOREIGN = "foreign"
    """A blob imgpub did not make."""
    OTHER_SOURCE = "other-source"
    """A blob imgpub made from another image."""


@dataclass(frozen=True)
class UploadOptions:
    """How to upload; the defaults suit a CI runner talking to Azure."""

    concurrency: int = 8
    content_type: str = "application/octet-stream"
    retry: RetryRule = field(default_factory=RetryRule)


@dataclass(frozen=True)
class PageBlobResult:
    """What was found or done, with the figures the summary shows."""

    outcome: Outcome
    blob_name: str
    blob_url: str
    blob_size: int | None
    content_md5: bytes | None
    bytes_scanned: int = 0
    bytes_sent: int = 0
    pages_sent: int = 0
    page_retries: int = 0
    recorded_identity: str | None = None
    """On a conflict: the identity digest found on the blob (``None``: not made by imgpub)."""


class UploadAbandoned(CloudError):
    """The source is corrupt: the upload cannot finish, and its partial blob may be gone."""

    def __init__(self, cause: CorruptSource, *, deleted: bool, blob_url: str) -> None:
        what = (
            "the partial blob this run created was deleted, so the re-run takes the same name"
            if deleted
            else f"the partial blob {blob_url} was kept (an earlier run made it)"
        )
        super().__init__(cause.message, remedy=f"{cause.remedy}; {what}")
        self.cause = cause
        self.deleted = deleted


@dataclass(frozen=True)
class _BlobState:
    size: int
    identity: str | None
    content_md5: bytes | None
    content_type: str | None
    is_page_blob: bool


def ensure_container(service: BlobServiceClient, name: str) -> ContainerClient:
    """The container client, creating the (private) container when it is missing."""
    container = service.get_container_client(name)
    with contextlib.suppress(ResourceExistsError):
        container.create_container()
    return container


def upload_page_blob(
    container: ContainerClient,
    blob_name: str,
    source: DiskSource,
    *,
    options: UploadOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: Cancellation = NEVER,
) -> PageBlobResult:
    """Make ``blob_name`` a complete page blob of ``source``: create, resume or reuse it.

    Returns ``Outcome.CONFLICT`` (and writes nothing) when the blob exists with another
    identity, ``Outcome.INTERRUPTED`` when ``cancel`` stopped it. Raises the source's
    ``InputError`` for a bad image found before anything is created, ``UploadAbandoned``
    for one found corrupt while streaming, and ``CloudError`` when the service keeps failing.
    """
    opts = options or UploadOptions()
    source.check()
    identity = source.identity()
    blob = container.get_blob_client(blob_name)
    url = without_query(blob.url)
    for _ in range(3):
        state = _inspect(blob)
        if state is None:
            size = source.blob_size() or GROW_STEP
            try:
                blob.create_page_blob(
                    size,
                    content_settings=ContentSettings(content_type=opts.content_type),
                    metadata=identity.metadata(),
                    if_none_match="*",
                )
            except ResourceExistsError:
                continue  # another run created it just now: look again
            return _write(blob, source, opts, progress, cancel, size, ByteRanges(), None)
        if state.identity != identity.digest or not state.is_page_blob:
            return PageBlobResult(
                Outcome.CONFLICT, blob_name, url, state.size, state.content_md5,
                recorded_identity=state.identity,
            )  # fmt: skip
        if state.content_md5:
            return PageBlobResult(Outcome.EXISTED, blob_name, url, state.size, state.content_md5)
        present = _present_ranges(blob)
        return _write(blob, source, opts, progress, cancel, state.size, present, state)
    raise CloudError(f"blob {blob_name}: it keeps appearing and vanishing; re-run the upload")


def _write(
    blob: BlobClient,
    source: DiskSource,
    opts: UploadOptions,
    progress: ProgressCallback | None,
    cancel: Cancellation,
    size: int,
    present: ByteRanges,
    found: _BlobState | None,
) -> PageBlobResult:
    """One pass, then the completion marker; ``found`` is None when this run created it."""
    outcome = Outcome.CREATED if found is None else Outcome.RESUMED
    content_type = (found.content_type if found else None) or opts.content_type
    url = without_query(blob.url)
    writer = PageWriter(
        blob, size=size, present=present, concurrency=opts.concurrency, retry=opts.retry,
        progress=progress, cancel=cancel,
    )  # fmt: skip
    chunks = source.blob_chunks()
    try:
        with contextlib.closing(chunks):
            done = writer.write(chunks, source.blob_size())
    except CorruptSource as exc:
        deleted = found is None and _delete_partial(blob, source.identity().digest)
        raise UploadAbandoned(exc, deleted=deleted, blob_url=url) from exc
    name = blob.blob_name
    if not done.complete:
        return PageBlobResult(
            Outcome.INTERRUPTED, name, url, done.size, None, done.scanned, done.sent,
            done.pages, done.retries,
        )  # fmt: skip
    if done.end != done.size:
        blob.resize_blob(done.end)
    blob.set_http_headers(
        ContentSettings(content_type=content_type, content_md5=bytearray(done.digest))
    )
    writer.report_done()
    return PageBlobResult(
        outcome, name, url, done.end, done.digest, done.scanned, done.sent, done.pages,
        done.retries,
    )  # fmt: skip


def _delete_partial(blob: BlobClient, identity: str) -> bool:
    """Delete the blob if it is still our incomplete upload; whether it is gone."""
    try:
        state = _inspect(blob)
        if state is None:
            return True
        if state.identity != identity or state.content_md5:
            return False
        blob.delete_blob()
    except AzureError:
        return False
    return True


def blob_status(container: ContainerClient, blob_name: str, identity: str) -> BlobStatus:
    """What :func:`upload_page_blob` would find, read-only (``identity``: the source's digest)."""
    try:
        state = _inspect(container.get_blob_client(blob_name))
    except ResourceNotFoundError:  # the container does not exist
        return BlobStatus.MISSING
    if state is None:
        return BlobStatus.MISSING
    if state.identity is None or not state.is_page_blob:
        return BlobStatus.FOREIGN
    if state.identity != identity:
        return BlobStatus.OTHER_SOURCE
    return BlobStatus.COMPLETE if state.content_md5 else BlobStatus.INTERRUPTED


def _present_ranges(blob: BlobClient) -> ByteRanges:
    """Pages the blob holds already (End is inclusive in the service's answer)."""
    return ByteRanges.of(
        (int(r.start or 0), int(r.end or 0) + 1)
        for r in blob.list_page_ranges()
        if not r.cleared and r.end is not None
    )


def _inspect(blob: BlobClient) -> _BlobState | None:
    try:
        props = blob.get_blob_properties()
    except ResourceNotFoundError:
        return None
    settings = props.content_settings
    md5 = settings.content_md5
    return _BlobState(
        size=int(props.size),
        identity=identity_digest_of(props.metadata),
        content_md5=bytes(md5) if md5 else None,
        content_type=settings.content_type,
        is_page_blob=str(props.blob_type).lower().endswith("pageblob"),
    )
