"""Cutting a disk into page-sized chunks and finding the zeros in them at memory speed.

A page blob starts all zeros, so zero bytes never need to travel; but the whole-blob MD5
covers them, so every byte of the virtual disk still passes through the hash once. The
chunk stream therefore covers the blob end to end, in order: data chunks carry bytes,
hole chunks carry only a length (a hole in a sparse file is never read).

Zero detection compares against a preallocated zero buffer (``bytes.__eq__`` and
``bytes.startswith`` are ``memcmp``); a per-byte Python loop, as the Azure SDK uses, would
cost minutes on a 30 GiB disk.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from imgpub.diskimage.extents import SECTOR, Extent

MAX_PAGE_WRITE = 4 * 1024 * 1024
"""Azure's Put Page limit (Azurite accepts more; imgpub enforces it itself)."""
ZERO_BLOCK = 64 * 1024
"""Granularity of zero detection inside a data chunk: zero runs this long are not sent."""

HASH_ZEROS_STEP = 256 * 1024 * 1024

_ZEROS = bytes(MAX_PAGE_WRITE)
_HASH_ZEROS = memoryview(bytes(HASH_ZEROS_STEP))
"""Large on purpose and free: calloc'd pages that are only read stay mapped to the kernel's
shared zero page, so this costs no resident memory. Few, long hash updates keep the GIL
released for a long time, instead of re-acquiring it (and waiting for the upload threads)
every 4 MiB."""
_ZERO_BLOCK_BYTES = bytes(ZERO_BLOCK)


@dataclass(frozen=True)
class Chunk:
    """``length`` bytes of the blob at ``offset``; ``data is None`` means all zeros, unread."""

    offset: int
    length: int
    data: bytes | None

    @property
    def end(self) -> int:
        return self.offset + self.length


class Readable(Protocol):
    """A byte stream: a file, an HTTP response, a decompressor, an S3 body."""

    def read(self, size: int = ..., /) -> bytes: ...


def is_zero(data: bytes) -> bool:
    """True when every byte is zero (memcmp against the preallocated zero buffer)."""
    n = len(data)
    if n <= MAX_PAGE_WRITE:
        return data == _ZEROS if n == MAX_PAGE_WRITE else data == _ZEROS[:n]
    return all(is_zero(data[i : i + MAX_PAGE_WRITE]) for i in range(0, n, MAX_PAGE_WRITE))


def nonzero_runs(data: bytes, block: int = ZERO_BLOCK) -> list[tuple[int, int]]:
    """``(start, end)`` ranges of ``data`` that hold a non-zero byte, at ``block`` granularity.

    ``block`` is a multiple of 512 so the runs stay page-aligned for Put Page; a data chunk
    that is partly zero sends only its non-zero blocks.
    """
    if block % SECTOR:
        raise ValueError(f"zero-detection block {block} is not a multiple of {SECTOR}")
    n = len(data)
    if is_zero(data):
        return []
    zero = _ZERO_BLOCK_BYTES if block == ZERO_BLOCK else bytes(block)
    runs: list[tuple[int, int]] = []
    start = -1
    for pos in range(0, n, block):
        end = min(pos + block, n)
        blank = (
            data.startswith(zero, pos) if end - pos == block else data[pos:end] == zero[: end - pos]
        )
        if blank:
            if start >= 0:
                runs.append((start, pos))
                start = -1
        elif start < 0:
            start = pos
    if start >= 0:
        runs.append((start, n))
    return runs


def hash_zeros(digest: hashlib._Hash, length: int) -> None:
    """Feed ``length`` zero bytes to a hash without allocating them."""
    full, rest = divmod(length, HASH_ZEROS_STEP)
    for _ in range(full):
        digest.update(_HASH_ZEROS)
    if rest:
        digest.update(_HASH_ZEROS[:rest])


def pad_to_sector(data: bytes) -> bytes:
    """Zero-pad to a whole number of 512-byte sectors (Put Page needs aligned lengths)."""
    rest = len(data) % SECTOR
    return data if not rest else data + bytes(SECTOR - rest)


def read_full(stream: Readable, size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at the end of the stream (short reads are retried)."""
    first = stream.read(size)
    if len(first) == size or not first:
        return first
    parts = [first]
    got = len(first)
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def stream_chunks(stream: Readable, *, start: int = 0, limit: int | None = None) -> Iterator[Chunk]:
    """Chunks of a sequential stream, each read in one piece of at most 4 MiB.

    ``limit`` stops after that many bytes (a VHD's disk part when its size is known).
    Chunks are cut on the 4 MiB grid of the blob, so every page write is aligned.
    """
    offset = start
    while limit is None or offset < limit:
        want = MAX_PAGE_WRITE - offset % MAX_PAGE_WRITE
        if limit is not None:
            want = min(want, limit - offset)
        data = read_full(stream, want)
        if not data:
            return
        yield Chunk(offset, len(data), data)
        offset += len(data)
        if len(data) < want:
            return


def extent_chunks(
    read_at: Callable[[int, int], bytes], size: int, extents: tuple[Extent, ...]
) -> Iterator[Chunk]:
    """Chunks covering ``[0, size)``: holes between extents unread, extents read on the grid."""
    pos = 0
    for ext in extents:
        start, end = max(ext.offset, pos), min(ext.end, size)
        if start >= end:
            continue
        if start > pos:
            yield Chunk(pos, start - pos, None)
        while start < end:
            step = min(end, (start // MAX_PAGE_WRITE + 1) * MAX_PAGE_WRITE) - start
            data = read_at(start, step)
            if len(data) != step:
                raise OSError(f"short read at offset {start}: the file changed while reading")
            yield Chunk(start, step, data)
            start += step
        pos = end
    if pos < size:
        yield Chunk(pos, size - pos, None)


def pread_reader(fd: int) -> Callable[[int, int], bytes]:
    """A ``read_at`` over an open file descriptor (``os.pread``: no shared file position)."""

    def read_at(offset: int, length: int) -> bytes:
        return os.pread(fd, length, offset)

    return read_at
