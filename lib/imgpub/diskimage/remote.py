"""Disk sources that stream from the network: HTTP(S) URLs and S3 objects.

Both are read exactly once, as one sequential stream, straight into the uploader; nothing
is written to local disk. The identity comes from a HEAD request (``head_object`` for S3)
before any upload decision, so that a re-run that finds its complete blob downloads
nothing. Before anything is written, ranged reads check what they cheaply can: a
compressed image's first bytes decompress, an uncompressed VHD's footer is valid. A broken
connection mid-stream is resumed with a Range request pinned to the same object version
(If-Range / IfMatch), never by starting over.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from imgpub.diskimage.chunks import Chunk, Readable, read_full
from imgpub.diskimage.identity import SourceIdentity, fingerprint_of
from imgpub.diskimage.layout import raw_blob_size
from imgpub.diskimage.streams import (
    PEEK_BYTES,
    ImageKind,
    check_size,
    check_stream_start,
    image_kind,
    source_name,
    stream_blob_chunks,
)
from imgpub.diskimage.vhd import FOOTER_SIZE, check_fixed_vhd
from imgpub.errors import InputError
from imgpub.redact import without_query

_STREAM_ERRORS = (ConnectionError, TimeoutError, http.client.HTTPException, urllib.error.URLError)
_RESUME_ATTEMPTS = 5


class ResumingStream:
    """A byte stream that reopens at its current position after a broken connection.

    ``open_at(position)`` returns a fresh stream starting at that byte; it must pin the
    object version, so a resumed read can never splice two different objects together.
    With ``length`` known, a stream that ends early counts as a broken connection.
    """

    def __init__(
        self,
        open_at: Callable[[int], Readable],
        *,
        attempts: int = _RESUME_ATTEMPTS,
        delay: float = 0.5,
        errors: tuple[type[BaseException], ...] = _STREAM_ERRORS,
        length: int | None = None,
    ) -> None:
        self._open_at = open_at
        self._attempts = attempts
        self._delay = delay
        self._errors = errors
        self._length = length
        self._position = 0
        self._stream: Readable | None = None

    def read(self, size: int = -1, /) -> bytes:
        for attempt in range(self._attempts):
            try:
                if self._stream is None:
                    self._stream = self._open_at(self._position)
                data = self._stream.read(size)
                if not data and size and self._length is not None and self._position < self._length:
                    # http.client returns b"" when a server hangs up before Content-Length.
                    raise ConnectionError(f"stream ended at byte {self._position}")
            except self._errors:
                self.close()
                if attempt + 1 == self._attempts:
                    raise
                time.sleep(self._delay * 2**attempt)
                continue
            self._position += len(data)
            return data
        raise AssertionError("unreachable")

    def close(self) -> None:
        closer = getattr(self._stream, "close", None)
        self._stream = None
        if closer is not None:
            closer()


class _RemoteSource:
    """What every streamed remote image shares: its kind, the blob size it implies, and a
    stream that reopens at the current byte when the connection breaks.

    Subclasses say how to read the object's metadata (``identity``, ``_headers``) and how to
    open the object at a byte offset (``_open_at``).
    """

    _kind: ImageKind
    _checked = False
    #: Errors after which the stream is reopened at the current byte.
    _stream_errors: tuple[type[BaseException], ...] = _STREAM_ERRORS

    @property
    def kind(self) -> ImageKind:
        return self._kind

    def identity(self) -> SourceIdentity:
        raise NotImplementedError

    def _headers(self) -> Mapping[str, Any]:
        raise NotImplementedError

    def _open_at(self, position: int) -> Readable:
        raise NotImplementedError

    def _read_range(self, start: int, length: int) -> bytes | None:
        """``length`` bytes at ``start`` (fewer at the end), or None if Range is not served."""
        raise NotImplementedError

    @property
    def _where(self) -> str:
        raise NotImplementedError

    def check(self) -> None:
        """Reachability, then what ranged reads show before a write: size, footer, stream start.

        A VHD's footer is read from the object's end when its length is known; otherwise it
        is checked as the stream ends.
        """
        if self._checked:
            return
        size = self.identity().size
        check_size(size, self._kind, self._where)
        if self._kind.compression != "none":
            prefix = self._read_range(0, PEEK_BYTES)
            if prefix is not None:
                whole = size is not None and size <= len(prefix)
                check_stream_start(prefix, self._kind, self._where, whole=whole)
        elif self._kind.format == "vhd" and size is not None and size >= FOOTER_SIZE:
            tail = self._read_range(size - FOOTER_SIZE, FOOTER_SIZE)
            if tail is not None:
                check_fixed_vhd(tail, size, name="image")
        self._checked = True

    def blob_size(self) -> int | None:
        length = self.identity().size
        if length is None or self._kind.compression != "none":
            return None
        return length if self._kind.format == "vhd" else raw_blob_size(length)

    def blob_chunks(self) -> Generator[Chunk, None, None]:
        stream = ResumingStream(
            self._open_at, errors=self._stream_errors, length=self.identity().size
        )
        try:
            yield from stream_blob_chunks(stream, self._kind, self.identity())
        finally:
            stream.close()


class HttpSource(_RemoteSource):
    """An image behind an ``http://`` or ``https://`` URL (streamed with urllib)."""

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        self.url = url
        self._timeout = timeout
        self._kind = image_kind(source_name(url))
        self._head: Mapping[str, str] | None = None

    @property
    def name(self) -> str:
        return source_name(self.url)

    @property
    def _where(self) -> str:
        return without_query(self.url)

    def _request(
        self, method: str, headers: Mapping[str, str], *, transient_5xx: bool = False
    ) -> http.client.HTTPResponse:
        """One request; HTTP and network errors become one-line input errors.

        With ``transient_5xx`` a server error is raised as ``ConnectionError`` instead, so
        that a stream being resumed retries it.
        """
        request = urllib.request.Request(self.url, method=method, headers=dict(headers))  # noqa: S310 - scheme checked by open_source
        try:
            response: http.client.HTTPResponse = urllib.request.urlopen(  # noqa: S310
                request, timeout=self._timeout
            )
        except urllib.error.HTTPError as exc:
            exc.close()
            if transient_5xx and exc.code >= 500:
                raise ConnectionError(f"HTTP {exc.code} from {without_query(self.url)}") from exc
            raise InputError(
                "image",
                f"{without_query(self.url)} answered HTTP {exc.code} {exc.reason}",
                "check the URL and that the image is published",
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InputError(
                "image",
                f"{without_query(self.url)} is unreachable ({reason})",
                "check the URL and the network",
            ) from exc
        return response

    def _headers(self) -> Mapping[str, str]:
        """HEAD; where HEAD is refused (a presigned GET URL signs the method), a 1-byte GET."""
        if self._head is None:
            try:
                with self._request("HEAD", {}) as response:
                    self._head = {k.lower(): v for k, v in response.getheaders()}
            except InputError as exc:
                cause = exc.__cause__
                if not isinstance(cause, urllib.error.HTTPError) or cause.code not in (
                    403,
                    405,
                    501,
                ):
                    raise
                with self._request("GET", {"Range": "bytes=0-0"}) as response:
                    head = {k.lower(): v for k, v in response.getheaders()}
                total = head.get("content-range", "").rpartition("/")[2]
                if response.status == 206 and total.isdigit():
                    head["content-length"] = total
                elif response.status != 200:
                    head.pop("content-length", None)
                self._head = head
        return self._head

    def identity(self) -> SourceIdentity:
        """ETag, Last-Modified and length identify the object; the query string (often a
        short-lived SAS or presigned signature) is left out so re-runs match."""
        head = self._headers()
        length = _int_or_none(head.get("content-length"))
        modified = _http_date(head.get("last-modified"))
        fingerprint = fingerprint_of(
            without_query(self.url), head.get("etag"), head.get("last-modified"), length
        )
        return SourceIdentity(self.name, length, fingerprint, modified)

    def _open_at(self, position: int) -> Readable:
        head = self._headers()
        headers: dict[str, str] = {}
        if position:
            headers["Range"] = f"bytes={position}-"
            validator = head.get("etag") or head.get("last-modified")
            if validator:
                headers["If-Range"] = validator
        response = self._request("GET", headers, transient_5xx=True)
        if position and response.status != 206:
            response.close()
            raise InputError(
                "image",
                f"{without_query(self.url)} changed or ignores Range while being read",
                "re-run when the image is stable",
            )
        return response

    def _read_range(self, start: int, length: int) -> bytes | None:
        last = start + length - 1
        with self._request("GET", {"Range": f"bytes={start}-{last}"}) as response:
            if response.status != 206:
                return None  # the server sends the whole object: not worth reading here
            return read_full(response, length)


class S3Client(Protocol):
    """The two calls of a boto3 S3 client imgpub uses (the client is injected)."""

    def head_object(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def get_object(self, **kwargs: Any) -> Mapping[str, Any]: ...


class S3Source(_RemoteSource):
    """An image in S3, streamed with ``get_object``; the client is passed in."""

    def __init__(self, client: S3Client, bucket: str, key: str) -> None:
        self._client = client
        self.bucket = bucket
        self.key = key
        self._kind = image_kind(source_name(key))
        self._head: Mapping[str, Any] | None = None
        self._stream_errors = (*_STREAM_ERRORS, _botocore_stream_errors())

    @property
    def name(self) -> str:
        return source_name(self.key)

    @property
    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def _headers(self) -> Mapping[str, Any]:
        if self._head is None:
            try:
                self._head = self._client.head_object(Bucket=self.bucket, Key=self.key)
            except Exception as exc:  # botocore's ClientError and connection errors alike
                raise InputError(
                    "image",
                    f"s3://{self.bucket}/{self.key} cannot be read ({exc})",
                    "check the bucket, key and the AWS credentials",
                ) from exc
        return self._head

    def identity(self) -> SourceIdentity:
        head = self._headers()
        length = _int_or_none(head.get("ContentLength"))
        modified = head.get("LastModified")
        unix = int(modified.timestamp()) if isinstance(modified, datetime) else None
        fingerprint = fingerprint_of(
            f"s3://{self.bucket}/{self.key}", head.get("ETag"), head.get("VersionId"), length
        )
        return SourceIdentity(self.name, length, fingerprint, unix)

    def _open_at(self, position: int) -> Readable:
        head = self._headers()
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        if head.get("ETag"):
            kwargs["IfMatch"] = head["ETag"]
        if position:
            kwargs["Range"] = f"bytes={position}-"
        body: Readable = self._client.get_object(**kwargs)["Body"]
        return body

    def _read_range(self, start: int, length: int) -> bytes | None:
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key,
            "Range": f"bytes={start}-{start + length - 1}",
        }
        try:
            body = self._client.get_object(**kwargs)["Body"]
            data = read_full(body, length)
        except Exception as exc:  # botocore's ClientError and connection errors alike
            raise InputError(
                "image", f"{self._where} cannot be read ({exc})", "check the bucket and key"
            ) from exc
        return data


def _botocore_stream_errors() -> type[BaseException]:
    try:
        # boto3 is an optional extra; only S3 sources need it.
        from botocore.exceptions import ReadTimeoutError
    except ImportError:  # pragma: no cover
        return ConnectionError
    return ReadTimeoutError


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _http_date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError):
        return None
