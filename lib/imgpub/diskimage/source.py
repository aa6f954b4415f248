"""Disk sources: a local file, an HTTP(S) URL or an S3 object, RAW or fixed VHD, maybe xz/gz.

Every source answers the same three questions an uploader asks, in this order:

1. ``identity()`` — cheap, before any upload decision (reuse, resume or conflict);
2. ``check()`` and ``blob_size()`` — validate what can be validated before anything is
   written (a VHD footer, an empty or too small image, a stream that does not decompress)
   and say how long the blob will be, or ``None`` when only the end of a compressed stream
   will tell;
3. ``blob_chunks()`` — the blob, in order, read exactly once and never written to disk.

This module holds the local file and :func:`open_source`; remote sources live in
:mod:`imgpub.diskimage.remote`, and what both share in :mod:`imgpub.diskimage.streams`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Generator
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import urlsplit

from imgpub.diskimage import remote
from imgpub.diskimage.chunks import Chunk, Readable, extent_chunks, pread_reader
from imgpub.diskimage.extents import data_extents
from imgpub.diskimage.identity import SourceIdentity
from imgpub.diskimage.layout import raw_as_fixed_vhd, raw_blob_size
from imgpub.diskimage.streams import (
    PEEK_BYTES,
    DiskSource,
    ImageKind,
    check_size,
    check_stream_start,
    image_kind,
    stream_blob_chunks,
)
from imgpub.diskimage.vhd import FOOTER_SIZE, check_fixed_vhd
from imgpub.errors import InputError

_SAMPLE = 64 * 1024
_SAMPLES = 32


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
        """The file, opened for reading; a directory or an unopenable path is bad input."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise InputError(
                "image", f"cannot open {self.path}: {exc.strerror}", "check the path"
            ) from exc
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.close(fd)
            raise InputError(
                "image", f"{self.path} is a directory", "give the path of the disk image file"
            )
        return fd

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
        """Everything that can be known before a write: size, a VHD's footer, the stream's start.

        An empty or too small image, a VHD whose footer breaks Azure's rules and a compressed
        file that does not decompress are input errors here, before anything is created.
        """
        fd = self._open()
        try:
            size = os.fstat(fd).st_size
            check_size(size, self._kind, str(self.path))
            if self._kind == ImageKind("vhd", "none"):
                tail = os.pread(fd, FOOTER_SIZE, max(size - FOOTER_SIZE, 0))
                check_fixed_vhd(tail, size, name="image")
            elif self._kind.compression != "none":
                prefix = os.pread(fd, PEEK_BYTES, 0)
                check_stream_start(prefix, self._kind, str(self.path), whole=size <= PEEK_BYTES)
        finally:
            os.close(fd)

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


def open_source(image: str, *, s3_client: object | None = None) -> DiskSource:
    """The source for the ``image`` input: a local path, an http(s) URL or ``s3://b/k``."""
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
