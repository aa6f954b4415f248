"""Chunking and zero detection: aligned, at most 4 MiB, holes unread, zeros found."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from imgpub.diskimage.chunks import (
    MAX_PAGE_WRITE,
    Chunk,
    extent_chunks,
    hash_zeros,
    is_zero,
    nonzero_runs,
    read_full,
    stream_chunks,
)
from imgpub.diskimage.extents import Extent

MIB = 1024 * 1024


def test_is_zero() -> None:
    assert is_zero(bytes(MAX_PAGE_WRITE))
    assert is_zero(bytes(4096))
    assert is_zero(b"")
    assert is_zero(bytes(3 * MAX_PAGE_WRITE))
    data = bytearray(MAX_PAGE_WRITE)
    data[-1] = 1
    assert not is_zero(bytes(data))


def test_nonzero_runs_at_block_granularity() -> None:
    data = bytearray(MIB)
    data[70_000] = 1  # in block 1 (64 KiB blocks)
    data[200_000:400_000] = b"x" * 200_000  # blocks 3..6
    assert nonzero_runs(bytes(data)) == [(65536, 131072), (196608, 458752)]
    assert nonzero_runs(bytes(MIB)) == []
    assert nonzero_runs(b"\x01" * 1024) == [(0, 1024)]


def test_nonzero_runs_with_a_short_last_block() -> None:
    data = bytes(65536) + b"\x00" * 511 + b"\x02"
    assert nonzero_runs(data) == [(65536, 66048)]


def test_nonzero_runs_refuses_unaligned_blocks() -> None:
    with pytest.raises(ValueError, match="512"):
        nonzero_runs(b"a", block=1000)


def test_hash_zeros_equals_hashing_real_zeros() -> None:
    for length in (0, 1, 512, MAX_PAGE_WRITE, 2 * MAX_PAGE_WRITE + 12345):
        a = hashlib.md5()
        hash_zeros(a, length)
        assert a.digest() == hashlib.md5(bytes(length)).digest()


class _Dribble(io.RawIOBase):
    """A stream that returns at most 1000 bytes per read, like a slow socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._data.read(min(size, 1000) if size >= 0 else 1000)


def test_stream_chunks_are_on_the_4mib_grid_and_complete() -> None:
    data = os.urandom(9 * MIB + 700)
    chunks = list(stream_chunks(_Dribble(data)))
    assert [c.length for c in chunks] == [MAX_PAGE_WRITE, MAX_PAGE_WRITE, MIB + 700]
    assert b"".join(c.data or b"" for c in chunks) == data
    assert [c.offset for c in chunks] == [0, MAX_PAGE_WRITE, 2 * MAX_PAGE_WRITE]


def test_stream_chunks_stop_at_a_limit() -> None:
    chunks = list(stream_chunks(io.BytesIO(bytes(10 * MIB)), limit=5 * MIB))
    assert sum(c.length for c in chunks) == 5 * MIB


def test_read_full_gathers_short_reads() -> None:
    assert read_full(_Dribble(b"a" * 5000), 4096) == b"a" * 4096


def test_extent_chunks_read_only_extents(tmp_path: Path) -> None:
    """Holes become chunks without data and are never read."""
    content = bytearray(20 * MIB)
    content[3 * MIB : 3 * MIB + 8192] = b"q" * 8192
    content[7 * MIB : 13 * MIB] = os.urandom(6 * MIB)
    reads: list[tuple[int, int]] = []

    def read_at(offset: int, length: int) -> bytes:
        reads.append((offset, length))
        return bytes(content[offset : offset + length])

    extents = (Extent(3 * MIB, 8192), Extent(7 * MIB, 6 * MIB))
    chunks = list(extent_chunks(read_at, len(content), extents))
    assert sum(length for _, length in reads) == 8192 + 6 * MIB
    assert all(c.length <= MAX_PAGE_WRITE for c in chunks if c.data is not None)
    assert all(
        c.offset // MAX_PAGE_WRITE == (c.end - 1) // MAX_PAGE_WRITE for c in chunks if c.data
    )
    pos = 0
    for c in chunks:
        assert c.offset == pos
        pos = c.end
    assert pos == len(content)
    rebuilt = b"".join(c.data if c.data is not None else bytes(c.length) for c in chunks)
    assert rebuilt == bytes(content)


def test_extent_chunks_detect_a_file_that_shrank() -> None:
    with pytest.raises(OSError, match="short read"):
        list(extent_chunks(lambda off, n: b"", MIB, (Extent(0, MIB),)))


def test_chunk_end() -> None:
    assert Chunk(512, 1024, None).end == 1536
