"""A disk as fixed-size blocks, only the ones that hold data: what an EBS snapshot is sent.

The EBS direct APIs take a snapshot as 512 KiB blocks; a block never written reads as
zeros. So an uploader needs, from any disk source, the blocks that hold a non-zero byte —
holes of a sparse file are never read, and all-zero blocks inside data extents are found
with ``memcmp`` (:func:`imgpub.diskimage.chunks.is_zero`), not a Python loop.

Sources hand out the chunks of the fixed-VHD blob they become (see
:mod:`imgpub.diskimage.source`); the disk is that blob without its 512-byte footer, so one
reader serves Azure page blobs and EBS snapshots alike. Before anything is read, the data
extents of a local file tell how many blocks at most will be sent (a dry run's figure).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from imgpub.diskimage.chunks import Chunk, is_zero
from imgpub.diskimage.extents import Extent, data_extents
from imgpub.diskimage.streams import DiskSource
from imgpub.diskimage.vhd import FOOTER_SIZE
from imgpub.diskimage.xz_index import xz_uncompressed_size

EBS_BLOCK = 512 * 1024
"""The only block size the EBS direct APIs accept."""
GIB = 1024**3


@dataclass(frozen=True)
class Block:
    """One block that holds data: its index (offset / block size) and its bytes."""

    index: int
    data: bytes


@dataclass
class BlockStats:
    """What reading the disk has seen so far (updated by :func:`data_blocks`)."""

    bytes_read: int = 0
    disk_bytes: int = 0
    data_blocks: int = 0
    zero_blocks_skipped: int = 0
    indices: list[int] = field(default_factory=list)


def disk_chunks(source: DiskSource) -> Iterator[Chunk]:
    """The disk of ``source`` in order: its blob's chunks without the closing VHD footer."""
    held: Chunk | None = None
    for chunk in source.blob_chunks():
        if held is not None:
            yield held
        held = chunk
    if held is None or held.length != FOOTER_SIZE:
        raise ValueError(f"{source.name}: the blob did not end with a {FOOTER_SIZE}-byte footer")


def data_blocks(
    chunks: Iterable[Chunk], stats: BlockStats | None = None, block: int = EBS_BLOCK
) -> Iterator[Block]:
    """The blocks of a disk that hold a non-zero byte, in index order, each ``block`` long.

    ``chunks`` cover the disk in order (hole chunks carry no data and are never read); a
    block cut by a hole or by the disk's end is zero-filled. Memory stays at one block.
    """
    stats = stats if stats is not None else BlockStats()
    partial: bytearray | None = None
    partial_index = -1

    def finish(index: int, data: bytes | bytearray | memoryview) -> Block | None:
        if is_zero(bytes(data)):
            stats.zero_blocks_skipped += 1
            return None
        stats.data_blocks += 1
        stats.indices.append(index)
        return Block(index, bytes(data))

    for chunk in chunks:
        stats.disk_bytes = max(stats.disk_bytes, chunk.end)
        if chunk.data is None:
            if partial is not None and chunk.end >= (partial_index + 1) * block:
                done = finish(partial_index, partial)
                partial = None
                if done is not None:
                    yield done
            continue
        stats.bytes_read += chunk.length
        view = memoryview(chunk.data)
        pos = chunk.offset
        while pos < chunk.end:
            index, start = divmod(pos, block)
            take = min(chunk.end - pos, block - start)
            piece = view[pos - chunk.offset : pos - chunk.offset + take]
            if partial is not None and index != partial_index:
                done = finish(partial_index, partial)
                partial = None
                if done is not None:
                    yield done
            if take == block:
                done = finish(index, piece)
                if done is not None:
                    yield done
            else:
                if partial is None:
                    partial, partial_index = bytearray(block), index
                partial[start : start + take] = piece
                if start + take == block:
                    done = finish(index, partial)
                    partial = None
                    if done is not None:
                        yield done
            pos += take
    if partial is not None:
        done = finish(partial_index, partial)
        if done is not None:
            yield done


def blocks_touched(extents: Iterable[Extent], block: int = EBS_BLOCK) -> int:
    """How many blocks the data extents touch: at most this many blocks will be sent."""
    count = 0
    last = -1
    for ext in extents:
        if ext.length <= 0:
            continue
        first, final = ext.offset // block, (ext.end - 1) // block
        first = max(first, last + 1)
        if final >= first:
            count += final - first + 1
            last = final
    return count


@dataclass(frozen=True)
class DiskLayout:
    """What is known of a disk before its data is read."""

    size: int | None
    """Bytes of disk, or None when only reading the whole stream would tell."""
    max_data_blocks: int | None
    """Blocks the data extents touch (local uncompressed files), else None."""


def disk_layout(source: DiskSource, path: Path | None) -> DiskLayout:
    """The disk's size and block estimate, from metadata, the extent map or the xz index.

    ``path`` is the local file of a local source (None for remote ones). A RAW disk's
    size is its length; a fixed VHD's is its length less the footer; an ``.xz`` file's is
    read from the stream index at its end; a ``.gz`` or remote compressed stream says
    nothing before it is read whole.
    """
    kind = source.kind
    footer = FOOTER_SIZE if kind.format == "vhd" else 0
    if path is None:
        length = source.identity().size
        if kind.compression != "none" or length is None:
            return DiskLayout(None, None)
        return DiskLayout(length - footer, None)
    if kind.compression == "xz":
        with path.open("rb") as fh:
            size = xz_uncompressed_size(fh)
        return DiskLayout(None if size is None else size - footer, None)
    if kind.compression != "none":
        return DiskLayout(None, None)
    fd = os.open(path, os.O_RDONLY)
    try:
        length = os.fstat(fd).st_size
        extents = data_extents(fd, length - footer)
    finally:
        os.close(fd)
    return DiskLayout(length - footer, blocks_touched(extents))


def volume_gib(disk_bytes: int) -> int:
    """The snapshot size a disk needs: whole GiB, rounded up, at least 1."""
    return max(1, -(-disk_bytes // GIB))
