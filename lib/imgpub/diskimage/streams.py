"""What every disk source shares: its kind, its decompression, and the checks of its start.

Local files and remote objects (``source`` and ``remote``) both build on this module and on
nothing of each other, so neither imports the other.

A source is checked twice, on purpose. Before anything is written, its first bytes are
decompressed (:func:`check_stream_start`): a file that is not xz/gz at all, an empty image
and one smaller than a sector are input errors then (exit 2, nothing changed). What only
the rest of the stream can show — corruption or truncation past the start — surfaces while
the blob is being written, as :class:`CorruptSource`: the uploader knows that such a blob
can never be completed from this source and removes the partial blob it created.
"""

from __future__ import annotations

import gzip
import lzma
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal, Protocol, cast
from urllib.parse import unquote, urlsplit

from imgpub.diskimage.chunks import Chunk, Readable, stream_chunks
from imgpub.diskimage.errors import CorruptSource
from imgpub.diskimage.extents import SECTOR
from imgpub.diskimage.identity import SourceIdentity
from imgpub.diskimage.layout import raw_as_fixed_vhd, vhd_passthrough
from imgpub.diskimage.vhd import FOOTER_SIZE
from imgpub.errors import InputError

Format = Literal["raw", "vhd"]
Compression = Literal["none", "xz", "gz"]

PEEK_BYTES = 64 * 1024
"""How much of a compressed image is read before any write to check that it decompresses."""
WHOLE_CHECK_BYTES = 32 * 1024 * 1024
"""A compressed file no longer than PEEK_BYTES is decompressed up to this much, to find a
stream cut short (a small file can still hold a large, mostly zero disk)."""


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


def source_name(url_or_path: str) -> str:
    """The file name part of a path or URL, without query string."""
    path = urlsplit(url_or_path).path if "://" in url_or_path else url_or_path
    return unquote(path.rstrip("/").rsplit("/", 1)[-1])


def smallest_image(kind: ImageKind) -> int:
    """The fewest disk bytes a usable image has: one sector of RAW, or a VHD footer."""
    return FOOTER_SIZE if kind.format == "vhd" else SECTOR


def check_size(size: int | None, kind: ImageKind, where: str) -> None:
    """An empty image, or an uncompressed one smaller than a sector, is an input error."""
    if size is None:
        return
    if size == 0:
        raise InputError("image", f"{where} is empty (0 bytes)", "give the built disk image")
    if kind.compression == "none" and kind.format == "raw" and size < SECTOR:
        raise InputError(
            "image",
            f"{where} is {size} bytes, smaller than one {SECTOR}-byte sector",
            "give the built disk image (a RAW disk is a whole number of sectors)",
        )


def check_stream_start(prefix: bytes, kind: ImageKind, where: str, *, whole: bool) -> None:
    """Decompress the start of a compressed image before anything is written.

    ``prefix`` is the first bytes of the file (``whole``: all of it). A corrupt header, a
    stream that ends before a sector (or a VHD footer) of disk, or — when ``prefix`` is the
    whole file — a stream cut short, is an ``InputError``.
    """
    if kind.compression == "none":
        return
    want = smallest_image(kind)
    try:
        out, eof, more = _decompress_start(
            prefix, kind.compression, WHOLE_CHECK_BYTES if whole else want
        )
    except (lzma.LZMAError, zlib.error) as exc:
        raise InputError(
            "image",
            f"{where} is not a valid {kind.compression} stream ({exc})",
            "download or compress the image again",
        ) from None
    if more or (len(out) >= want and not whole):
        return
    if eof and len(out) < want:
        raise InputError(
            "image",
            f"{where} decompresses to {len(out)} bytes, smaller than a usable disk ({want})",
            "give the built disk image",
        )
    if whole and not eof and len(out) < WHOLE_CHECK_BYTES:
        raise InputError(
            "image",
            f"the {kind.compression} stream of {where} ends early (truncated download?)",
            "download the image again",
        )


def _decompress_start(
    prefix: bytes, compression: Compression, want: int
) -> tuple[bytes, bool, bool]:
    """Up to ``want`` bytes of output; whether the (first) stream ended; whether more follow."""
    if compression == "xz":
        xz = lzma.LZMADecompressor()
        out = xz.decompress(prefix, max_length=want)
        return out, xz.eof, bool(xz.unused_data)
    gz = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = gz.decompress(prefix, want)
    return out, gz.eof, bool(gz.unused_data)


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
            raise CorruptSource(
                "image",
                f"the {self._compression} stream of {self._name} ends early (truncated?)",
                "download the image again",
            ) from exc
        except (lzma.LZMAError, zlib.error, gzip.BadGzipFile) as exc:
            raise CorruptSource(
                "image",
                f"the {self._compression} stream of {self._name} is corrupt ({exc})",
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
        return vhd_passthrough(disk, name="image")
    return raw_as_fixed_vhd(disk, seed=identity.digest, unix_timestamp=identity.modified)
