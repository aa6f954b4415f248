"""Disk sources: a local file, an HTTP(S) URL or an S3 object, RAW or fixed VHD, maybe xz/gz.

Every source answers the same three questions an uploader asks, in this order:

1. ``identity()`` — cheap, before any upload decision (reuse, resume or conflict);
2. ``check()`` and ``blob_size()`` — validate what can be validated up front (a VHD footer)
   and say how long the blob will be, or ``None`` when only the end of a compressed stream
   will tell;
3. ``blob_chunks()`` — the blob, in order, read exactly once and never written to disk.
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, Protocol, cast
from urllib.parse import unquote, urlsplit

from imgpub.diskimage.chunks import Chunk, Readable, extent_chunks, pread_reader, stream_chunks
from imgpub.diskimage.extents import data_extents
from imgpub.diskimage.identity import SourceIdentity
from imgpub.diskimage.layout import raw_as_fixed_vhd, raw_blob_size, vhd_passthrough
from imgpub.diskimage.vhd import FOOTER_SIZE, check_fixed_vhd
from imgpub.errors import InputError

Format = Literal["raw", "vhd"]
Compression = Literal["none", "xz", "gz"]

_SAMPLE = 64 * 1024
_SAMPLES = 32


@dataclass(frozen=True)
class ImageKind:
    """What a file name says about its content."""

    format: Format
    compression: Compression


class DiskSource(Protocol):
    """What the page-blob uploader needs from a disk image."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> ImageKind: ...

    def identity(self) -> SourceIdentity: ...

    def check(self) -> None: ...

    def blob_size(self) -> int | None: ...

    def blob_chunks(self) -> Generator[Chunk, None, None]: ...


def image_kind(name: str) -> ImageKind:
    """``.xz``/``.gz`` compression, then ``.vhd`` (fixed VHD) or anything else (RAW)."""
    lower = name.lower()
    compression: Compression = "none"
    if lower.endswith(".xz"):
        compression, lower = "xz", lower[:-3]
    elif lower.endswith(".gz"):
        compression, lower = "gz", lower[:-3]
    return ImageKind("vhd" if lower.endswith(".vhd") else "raw", compression)


class _Decompressed:
    """A streaming decompressor (the stdlib's, multi-member aware) with one-line errors."""

    def __init__(self, raw: Readable, compression: Compression, name: str) -> None:
        # The stdlib readers only ever call read() on their file object.
        fileobj = cast("BinaryIO", raw)
        self._file: lzma.LZMAFile | gzip.GzipFile = (
            lzma.LZMAFile(fileobj)  # noqa: SIM115 - closed with the underlying stream
            if compression == "xz"
            else gzip.GzipFile(fileobj=fileobj, mode="rb")
        )
        self._compression = compression
        self._name = name

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._file.read(size)
        except EOFError as exc:
            raise InputError(
                self._name,
                f"the {self._compression} stream ends early (truncated download?)",
                "download the image again",
            ) from exc
        except (lzma.LZMAError, zlib.error, gzip.BadGzipFile) as exc:
            raise InputError(
                self._name,
                f"the {self._compression} stream is corrupt ({exc})",
                "download or compress the image again",
            ) from exc


def decompressed(raw: Readable, compression: Compression, name: str) -> Readable:
    """``raw`` itself, or a streaming decompressor over it."""
    return raw if compression == "none" else _Decompressed(raw, compression, name)


def stream_blob_chunks(
    stream: Readable, kind: ImageKind, identity: SourceIdentity
) -> Iterator[Chunk]:
    """The blob chunks of a sequential disk stream, RAW or VHD."""
    disk = stream_chunks(decompressed(stream, kind.compression, identity.name))
    if kind.format == "vhd":
        return vhd_passthrough(disk, name=identity.name)
    return raw_as_fixed_vhd(disk, seed=identity.digest, unix_timestamp=identity.modified)


class LocalSource:
    """A file on local disk; uncompressed files are read by data extent (sparse-aware)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._kind = image_kind(self.path.name)
        self._identity: SourceIdentity | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kind(self) -> ImageKind:
        return self._kind

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise InputError(
                "image", f"cannot open {self.path}: {exc.strerror}", "check the path"
            ) from exc

    def identity(self) -> SourceIdentity:
        """Size, sparse layout and sampled blocks: cheap, and changes when the build changes.

        The modification time is left out on purpose: a CI re-run downloads the same image
        again (new mtime) and must still recognise its earlier upload.
        """
        if self._identity is None:
            fd = self._open()
            try:
                size = os.fstat(fd).st_size
                digest = hashlib.sha256(str(size).encode())
                if self._kind.compression == "none":
                    for ext in data_extents(fd, size):
                        digest.update(f"{ext.offset}+{ext.length};".encode())
                for offset in _sample_offsets(size):
                    digest.update(os.pread(fd, _SAMPLE, offset))
            finally:
                os.close(fd)
            self._identity = SourceIdentity(self.name, size, digest.hexdigest()[:32])
        return self._identity

    def check(self) -> None:
        """A VHD's footer, checksum, type and size are checked before anything is sent."""
        if self._kind != ImageKind("vhd", "none"):
            return
        fd = self._open()
        try:
            size = os.fstat(fd).st_size
            tail = os.pread(fd, FOOTER_SIZE, max(size - FOOTER_SIZE, 0))
        finally:
            os.close(fd)
        check_fixed_vhd(tail, size, name="image")

    def blob_size(self) -> int | None:
        if self._kind.compression != "none":
            return None
        size = self.path.stat().st_size
        return size if self._kind.format == "vhd" else raw_blob_size(size)

    def blob_chunks(self) -> Generator[Chunk, None, None]:
        if self._kind.compression != "none":
            with self.path.open("rb") as raw:
                yield from stream_blob_chunks(_unbuffered(raw), self._kind, self.identity())
            return
        fd = self._open()
        try:
            size = os.fstat(fd).st_size
            read_at = pread_reader(fd)
            if self._kind.format == "raw":
                ident = self.identity()
                disk = extent_chunks(read_at, size, data_extents(fd, size))
                yield from raw_as_fixed_vhd(disk, seed=ident.digest, unix_timestamp=None)
                return
            tail = read_at(size - FOOTER_SIZE, FOOTER_SIZE)
            check_fixed_vhd(tail, size, name="image")
            body = size - FOOTER_SIZE
            yield from extent_chunks(read_at, body, data_extents(fd, body))
            yield Chunk(body, FOOTER_SIZE, tail)
        finally:
            os.close(fd)


def _unbuffered(raw: BinaryIO) -> Readable:
    return raw


def _sample_offsets(size: int) -> list[int]:
    """Offsets of the sampled blocks: start, end and evenly in between."""
    if size <= _SAMPLE * _SAMPLES:
        return list(range(0, size, _SAMPLE))
    step = (size - _SAMPLE) // (_SAMPLES - 1)
    return [i * step for i in range(_SAMPLES)]


def source_name(url_or_path: str) -> str:
    """The file name part of a path or URL, without query string."""
    path = urlsplit(url_or_path).path if "://" in url_or_path else url_or_path
    return unquote(path.rstrip("/").rsplit("/", 1)[-1])


def open_source(image: str, *, s3_client: object | None = None) -> DiskSource:
    """The source for the ``image`` input: a local path, an http(s) URL or ``s3://b/k``."""
    # Imported here because remote builds on this module.
    from imgpub.diskimage import remote

    scheme = urlsplit(image).scheme.lower() if "://" in image else ""
    if scheme in ("http", "https"):
        return remote.HttpSource(image)
    if scheme == "s3":
        parts = urlsplit(image)
        if not parts.netloc or not parts.path.strip("/"):
            raise InputError("image", f"{image} is not s3://BUCKET/KEY", "name bucket and key")
        if s3_client is None:
            raise ValueError("an s3:// image needs an S3 client")
        return remote.S3Source(cast("remote.S3Client", s3_client), parts.netloc, parts.path[1:])
    if scheme:
        raise InputError(
            "image", f"unsupported URL scheme '{scheme}'", "use a path, https://, http:// or s3://"
        )
    return LocalSource(image)
