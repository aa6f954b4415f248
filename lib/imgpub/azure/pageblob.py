"""Upload a disk source to an Azure page blob: one pass, parallel pages, resumable.

The source is read once, in order. Each chunk feeds the whole-blob MD5 (zeros included,
since the MD5 is of the blob as Azure will serve it) and, if it holds non-zero bytes and
they are not in the blob yet, becomes Put Page calls of at most 4 MiB on a bounded thread
pool, each with a transactional MD5. Only when every page is in does the blob get its
Content-MD5 — the completion marker. So a blob with the imgpub identity and no Content-MD5
is an interrupted upload of that source and can be resumed; one with Content-MD5 is
complete and reused; one with another identity belongs to someone else and is left alone.

The caller owns the client (a ``ContainerClient``; Azurite needs a service client built
with ``api_version="2025-11-05"``), the blob name and what to do on a conflict (the stage
picks the next index). Nothing here prints; progress goes to a callback.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient, ContentSettings

from imgpub.diskimage.byte_ranges import ByteRanges
from imgpub.diskimage.chunks import MAX_PAGE_WRITE, Chunk, hash_zeros, nonzero_runs
from imgpub.diskimage.identity import identity_digest_of
from imgpub.diskimage.streams import DiskSource
from imgpub.errors import CloudError

MAX_PAGE_BLOB = 8 * 1024**4
"""8 TiB, the largest page blob."""
GROW_STEP = 1024**3
"""When the size is unknown (compressed stream), the blob grows in steps of at least this."""
HOLE_STEP = 256 * 1024 * 1024
"""Holes are hashed in pieces this long so progress keeps moving through a big hole."""
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class Outcome(StrEnum):
    """What happened to the blob, in the words of the results document."""

    CREATED = "created"
    RESUMED = "resumed"
    EXISTED = "existed"
    CONFLICT = "conflict"
    """The name is taken by a blob of another source; nothing was written."""


@dataclass(frozen=True)
class UploadProgress:
    """A progress report: bytes of the blob scanned, bytes sent, and how fast."""

    bytes_scanned: int
    bytes_sent: int
    total: int | None
    elapsed: float

    @property
    def percent(self) -> float | None:
        return None if not self.total else 100.0 * self.bytes_scanned / self.total

    @property
    def rate(self) -> float:
        """Bytes of the blob scanned per second (the pace of the single pass)."""
        return self.bytes_scanned / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def send_rate(self) -> float:
        return self.bytes_sent / self.elapsed if self.elapsed > 0 else 0.0


ProgressCallback = Callable[[UploadProgress], None]


@dataclass(frozen=True)
class RetryRule:
    """Our own bounded retry around each Put Page, on top of azure-core's retry policy."""

    attempts: int = 6
    first_delay: float = 0.5
    max_delay: float = 20.0

    def delay(self, attempt: int) -> float:
        return float(min(self.first_delay * 2**attempt, self.max_delay))


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
) -> PageBlobResult:
    """Make ``blob_name`` a complete page blob of ``source``: create, resume or reuse it.

    Returns ``Outcome.CONFLICT`` (and writes nothing) when the blob exists with another
    identity. Raises the source's ``InputError`` for a bad image (a VHD footer is checked
    before anything is created) and ``CloudError`` when the service keeps failing.
    """
    opts = options or UploadOptions()
    source.check()
    identity = source.identity()
    blob = container.get_blob_client(blob_name)
    url = _without_query(blob.url)
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
            job = _Upload(blob, opts, progress, size, ByteRanges(), opts.content_type)
            return job.run(source, blob_name, url, Outcome.CREATED)
        if state.identity != identity.digest or not state.is_page_blob:
            return PageBlobResult(
                Outcome.CONFLICT, blob_name, url, state.size, state.content_md5,
                recorded_identity=state.identity,
            )  # fmt: skip
        if state.content_md5:
            return PageBlobResult(Outcome.EXISTED, blob_name, url, state.size, state.content_md5)
        present = _present_ranges(blob)
        content_type = state.content_type or opts.content_type
        job = _Upload(blob, opts, progress, state.size, present, content_type)
        return job.run(source, blob_name, url, Outcome.RESUMED)
    raise CloudError(f"blob {blob_name}: it keeps appearing and vanishing; re-run the upload")


def blob_status(container: ContainerClient, blob_name: str, identity: str) -> Outcome | None:
    """What :func:`upload_page_blob` would find, read-only: for dry runs and publish-only runs.

    ``identity`` is the source's identity digest. ``None``: no such blob (or container);
    ``EXISTED``: complete and ours; ``RESUMED``: ours but interrupted; ``CONFLICT``: someone
    else's blob under that name.
    """
    try:
        state = _inspect(container.get_blob_client(blob_name))
    except ResourceNotFoundError:
        return None
    if state is None:
        return None
    if state.identity != identity or not state.is_page_blob:
        return Outcome.CONFLICT
    return Outcome.EXISTED if state.content_md5 else Outcome.RESUMED


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


class _Upload:
    """One pass over the source: hash everything, send what is missing, then mark complete."""

    def __init__(
        self,
        blob: BlobClient,
        opts: UploadOptions,
        progress: ProgressCallback | None,
        size: int,
        present: ByteRanges,
        content_type: str,
    ) -> None:
        self._blob = blob
        self._opts = opts
        self._progress = progress
        self._size = size
        self._present = present
        self._content_type = content_type
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(opts.concurrency, 1) * 2)
        self._pending: set[Future[None]] = set()
        self._errors: list[BaseException] = []
        self._sent = 0
        self._pages = 0
        self._retries = 0
        self._scanned = 0
        self._started = time.monotonic()

    def run(self, source: DiskSource, name: str, url: str, outcome: Outcome) -> PageBlobResult:
        md5 = hashlib.md5(usedforsecurity=False)
        total = source.blob_size()
        end = 0
        chunks = source.blob_chunks()
        with (
            contextlib.closing(chunks),
            ThreadPoolExecutor(max(self._opts.concurrency, 1), "imgpub-page") as pool,
        ):
            try:
                for chunk in chunks:
                    if chunk.offset != end:
                        raise ValueError(f"chunk at {chunk.offset}, expected {end}")
                    end = chunk.end
                    if chunk.data is None:
                        for piece in _pieces(chunk.length, HOLE_STEP):
                            hash_zeros(md5, piece)
                            self._report(piece, total)
                        continue
                    md5.update(chunk.data)
                    self._send_chunk(pool, chunk)
                    self._report(chunk.length, total)
                self._drain()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        if end != self._size:
            self._blob.resize_blob(end)
        digest = md5.digest()
        self._blob.set_http_headers(
            ContentSettings(content_type=self._content_type, content_md5=bytearray(digest))
        )
        self._report(0, total or end)
        return PageBlobResult(
            outcome, name, url, end, digest, self._scanned, self._sent, self._pages,
            self._retries,
        )  # fmt: skip

    def _send_chunk(self, pool: ThreadPoolExecutor, chunk: Chunk) -> None:
        assert chunk.data is not None
        for start, stop in nonzero_runs(chunk.data):
            for lo, hi in self._present.missing(chunk.offset + start, chunk.offset + stop):
                if hi - lo > MAX_PAGE_WRITE:
                    raise ValueError(f"a page write of {hi - lo} bytes exceeds 4 MiB")
                self._grow_to(hi)
                page = chunk.data[lo - chunk.offset : hi - chunk.offset]
                self._raise_failure()
                self._slots.acquire()
                future = pool.submit(self._put_page, page, lo)
                with self._lock:
                    self._pending.add(future)
                future.add_done_callback(self._done)

    def _grow_to(self, end: int) -> None:
        """Resize before writing past the end; only for sources of unknown size."""
        if end <= self._size:
            return
        new = min(max(-(-end // GROW_STEP) * GROW_STEP, self._size * 2), MAX_PAGE_BLOB)
        if end > new:
            raise CloudError(f"the disk exceeds the {MAX_PAGE_BLOB} byte page blob limit")
        self._blob.resize_blob(new)
        self._size = new

    def _put_page(self, page: bytes, offset: int) -> None:
        rule = self._opts.retry
        for attempt in range(rule.attempts):
            try:
                self._blob.upload_page(page, offset, len(page), validate_content="md5")
            except (ServiceRequestError, ServiceResponseError, ConnectionError) as exc:
                failure: BaseException = exc
            except HttpResponseError as exc:
                if exc.status_code not in RETRYABLE_STATUS:
                    raise
                failure = exc
            else:
                with self._lock:
                    self._sent += len(page)
                    self._pages += 1
                return
            if attempt + 1 == rule.attempts:
                raise CloudError(
                    f"Put Page at offset {offset} failed {rule.attempts} times ({failure}); "
                    "re-run to resume the upload"
                ) from failure
            with self._lock:
                self._retries += 1
            time.sleep(rule.delay(attempt))

    def _done(self, future: Future[None]) -> None:
        self._slots.release()
        with self._lock:
            self._pending.discard(future)
            error = None if future.cancelled() else future.exception()
            if error is not None:
                self._errors.append(error)

    def _raise_failure(self) -> None:
        with self._lock:
            failure = self._errors[0] if self._errors else None
        if failure is not None:
            raise failure

    def _drain(self) -> None:
        while True:
            with self._lock:
                pending = next(iter(self._pending), None)
            if pending is None:
                break
            pending.exception()  # waits; errors are collected by _done
        self._raise_failure()

    def _report(self, scanned: int, total: int | None) -> None:
        self._scanned += scanned
        if self._progress is None:
            return
        with self._lock:
            sent = self._sent
        elapsed = time.monotonic() - self._started
        self._progress(UploadProgress(self._scanned, sent, total, elapsed))


def _pieces(length: int, step: int) -> Iterator[int]:
    while length > 0:
        piece = min(length, step)
        yield piece
        length -= piece


def _without_query(url: str) -> str:
    """The blob URL without a SAS token, safe for logs and outputs."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
