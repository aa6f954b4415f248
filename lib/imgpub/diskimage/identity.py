"""The identity of a disk source: what lets a re-run recognise its own earlier upload.

The identity is cheap to compute *before* reading the image: a name, the source's size
and a fingerprint (sampled content and sparse layout for a local file; ETag, Last-Modified
and length for an HTTP or S3 object). It is recorded in the blob's metadata, so a later
run can tell "my upload, complete" (reuse), "my upload, interrupted" (resume) and "someone
else's blob" (never overwrite) apart without downloading anything. It also seeds the VHD
footer's unique ID, so that one source always produces the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import quote

METADATA_PREFIX = "imgpub_"
"""Blob metadata names must be C# identifiers: no hyphens (cloud-apis.md 2.1)."""


@dataclass(frozen=True)
class SourceIdentity:
    """Name, size in bytes as stored (``None`` when unknown) and a content fingerprint."""

    name: str
    size: int | None
    fingerprint: str
    modified: int | None = None
    """Unix seconds of the object's last modification, when the store reports a stable one
    (HTTP Last-Modified, S3 LastModified); used for the VHD footer timestamp."""

    @property
    def digest(self) -> str:
        """One hex string that stands for the whole identity; what blob metadata compares."""
        text = f"{self.name}\0{self.size}\0{self.fingerprint}"
        return hashlib.sha256(text.encode()).hexdigest()

    def metadata(self) -> dict[str, str]:
        """Blob metadata recording this identity (ASCII only, as HTTP headers require)."""
        return {
            f"{METADATA_PREFIX}identity": self.digest,
            f"{METADATA_PREFIX}source": quote(self.name, safe=""),
            f"{METADATA_PREFIX}size": "" if self.size is None else str(self.size),
            f"{METADATA_PREFIX}fingerprint": self.fingerprint,
        }


def identity_digest_of(metadata: dict[str, str] | None) -> str | None:
    """The identity digest recorded on a blob, or ``None`` if it was not made by imgpub."""
    if not metadata:
        return None
    # Services may return metadata names in another case than they were sent.
    for key, value in metadata.items():
        if key.lower() == f"{METADATA_PREFIX}identity":
            return value
    return None


def fingerprint_of(*parts: object) -> str:
    """A short stable hex fingerprint of some values (ETag, length, ...)."""
    text = "\0".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
