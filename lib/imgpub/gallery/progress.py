"""Upload progress as log lines: bytes scanned, percent, pace and bytes sent.

``Gha.progress`` throttles per label, and the rate is part of the label here, so this
throttles itself and forces each line; the line at 100 % is always printed.
"""

from __future__ import annotations

import time
from typing import Protocol

from imgpub.azure.page_writer import UploadProgress
from imgpub.text import human_bytes

PROGRESS_SECONDS = 2.0


class ProgressLog(Protocol):
    """The part of ``imgpub.gha.Gha`` that prints progress."""

    def progress(
        self, label: str, done: float, total: float | None, unit: str = "", *, force: bool = False
    ) -> None: ...


class UploadReporter:
    """A progress callback for the page-blob upload of one image."""

    def __init__(self, log: ProgressLog, name: str, *, every: float = PROGRESS_SECONDS) -> None:
        self._log = log
        self._name = name
        self._every = every
        self._last = 0.0
        self._finished = False

    def __call__(self, p: UploadProgress) -> None:
        final = bool(p.total) and p.bytes_scanned >= (p.total or 0)
        now = time.monotonic()
        if self._finished or (not final and now - self._last < self._every):
            return
        self._last = now
        self._finished = final
        label = f"upload {self._name} at {human_bytes(p.rate)}/s, {human_bytes(p.bytes_sent)} sent"
        self._log.progress(label, p.bytes_scanned, p.total, "B", force=True)
