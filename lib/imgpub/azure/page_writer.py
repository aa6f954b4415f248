"""One pass over a disk source into a page blob: hash every byte, send only missing data pages.

The source is read once, in order, on the calling thread. Each chunk feeds the whole-blob
MD5 (zeros included, since the MD5 is of the blob as Azure will serve it); its non-zero
runs that the blob does not hold yet become Put Page calls of at most 4 MiB, each with a
transactional MD5. The calls go through :func:`imgpub.fanout.fan_out`, which pulls page
offsets from a generator only as workers free up, so memory stays bounded by the workers
however large the disk: the generator is the reader, and it reads ahead by at most one
page per worker while ``concurrency`` of them are on the wire.

A cancel stops the reader at the next chunk; pages in flight get the fan-out's grace and
the pass reports itself interrupted (the blob stays resumable). A failed page stops the
reader too, and is raised once the pages in flight are done.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.storage.blob import BlobClient

from imgpub.cancel import NEVER, Cancellation, Cancelled
from imgpub.diskimage.byte_ranges import ByteRanges
from imgpub.diskimage.chunks import MAX_PAGE_WRITE, Chunk, hash_zeros, nonzero_runs
from imgpub.errors import CloudError
from imgpub.fanout import Failed, NotDone, fan_out

MAX_PAGE_BLOB = 8 * 1024**4
"""8 TiB, the largest page blob."""
GROW_STEP = 1024**3
"""When the size is unknown (compressed stream), the blob grows in steps of at least this."""
HOLE_STEP = 256 * 1024 * 1024
"""Holes are hashed in pieces this long so progress keeps moving through a big hole."""
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryRule:
    """Our own bounded retry around each Put Page, on top of azure-core's retry policy."""

    attempts: int = 6
    first_delay: float = 0.5
    max_delay: float = 20.0

    def delay(self, attempt: int) -> float:
        return float(min(self.first_delay * 2**attempt, self.max_delay))


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
class WritePass:
    """What one pass did; ``complete`` means every byte was read and every page is in."""

    complete: bool
    end: int
    digest: bytes
    scanned: int
    sent: int
    pages: int
    retries: int
    size: int
    """The blob's size when the pass ended (it grows for streams of unknown length)."""


class PageWriter:
    """Writes one source's chunks into ``blob``, skipping the ranges in ``present``."""

    def __init__(
        self,
        blob: BlobClient,
        *,
        size: int,
        present: ByteRanges,
        concurrency: int,
        retry: RetryRule,
        progress: ProgressCallback | None = None,
        cancel: Cancellation = NEVER,
    ) -> None:
        self._blob = blob
        self._size = size
        self._present = present
        self._concurrency = max(concurrency, 1)
        self._retry = retry
        self._progress = progress
        self._cancel = cancel
        self._on_wire = threading.BoundedSemaphore(self._concurrency)
        self._lock = threading.Lock()
        self._buffered: dict[int, bytes] = {}
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._failure: BaseException | None = None
        self._read_all = False
        self._unfinished = 0
        self._end = 0
        self._scanned = 0
        self._sent = 0
        self._pages = 0
        self._retries = 0
        self._total: int | None = None
        self._started = time.monotonic()

    def write(self, chunks: Iterable[Chunk], total: int | None) -> WritePass:
        """Hash and send everything; raises the first page failure or the source's error."""
        self._total = total
        fan_out(
            self._page_offsets(chunks),
            self._send,
            max_workers=2 * self._concurrency,
            cancel=self._cancel,
            on_done=self._done,
            thread_name="imgpub-page",
        )
        if self._failure is not None:
            raise self._failure
        complete = self._read_all and not self._unfinished and not self._cancel.is_set
        return WritePass(
            complete, self._end, self._md5.digest(), self._scanned, self._sent, self._pages,
            self._retries, self._size,
        )  # fmt: skip

    def report_done(self) -> None:
        """A last progress line at 100 % (after the completion marker is set)."""
        self._report(0)

    # -- the reader (runs on the calling thread, inside fan_out) ----------------------------

    def _page_offsets(self, chunks: Iterable[Chunk]) -> Iterator[int]:
        for chunk in chunks:
            if self._cancel.is_set or self._failure is not None:
                return
            if chunk.offset != self._end:
                raise ValueError(f"chunk at {chunk.offset}, expected {self._end}")
            self._end = chunk.end
            if chunk.data is None:
                for piece in _pieces(chunk.length, HOLE_STEP):
                    hash_zeros(self._md5, piece)
                    self._report(piece)
                continue
            self._md5.update(chunk.data)
            yield from self._pages_of(chunk)
            self._report(chunk.length)
        self._read_all = True

    def _pages_of(self, chunk: Chunk) -> Iterator[int]:
        assert chunk.data is not None
        for start, stop in nonzero_runs(chunk.data):
            for lo, hi in self._present.missing(chunk.offset + start, chunk.offset + stop):
                if hi - lo > MAX_PAGE_WRITE:
                    raise ValueError(f"a page write of {hi - lo} bytes exceeds 4 MiB")
                self._grow_to(hi)
                self._buffered[lo] = chunk.data[lo - chunk.offset : hi - chunk.offset]
                yield lo

    def _grow_to(self, end: int) -> None:
        """Resize before writing past the end; only for sources of unknown size."""
        if end <= self._size:
            return
        new = min(max(-(-end // GROW_STEP) * GROW_STEP, self._size * 2), MAX_PAGE_BLOB)
        if end > new:
            raise CloudError(f"the disk exceeds the {MAX_PAGE_BLOB} byte page blob limit")
        self._blob.resize_blob(new)
        self._size = new

    def _report(self, scanned: int) -> None:
        self._scanned += scanned
        if self._progress is not None:
            elapsed = time.monotonic() - self._started
            total = self._total or (self._end if self._read_all else None)
            self._progress(UploadProgress(self._scanned, self._sent, total, elapsed))

    # -- the senders (worker threads) ------------------------------------------------------

    def _send(self, offset: int) -> int:
        page = self._buffered.pop(offset)
        with self._on_wire:
            self._cancel.check()
            self._put_page(page, offset)
        return len(page)

    def _put_page(self, page: bytes, offset: int) -> None:
        rule = self._retry
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
                return
            if attempt + 1 == rule.attempts:
                raise CloudError(
                    f"Put Page at offset {offset} failed {rule.attempts} times ({failure}); "
                    "re-run to resume the upload"
                ) from failure
            with self._lock:
                self._retries += 1
            if self._cancel.sleep(rule.delay(attempt)):
                raise Cancelled(self._cancel.reason)

    def _done(self, offset: int, outcome: int | Failed | NotDone) -> None:
        """Called on the reader's thread, in completion order: no lock needed for the tallies."""
        if isinstance(outcome, int):
            self._sent += outcome
            self._pages += 1
        elif isinstance(outcome, Failed) and not isinstance(outcome.error, Cancelled):
            if self._failure is None:
                self._failure = outcome.error
        else:
            self._unfinished += 1
            self._buffered.pop(offset, None)


def _pieces(length: int, step: int) -> Iterator[int]:
    while length > 0:
        piece = min(length, step)
        yield piece
        length -= piece
