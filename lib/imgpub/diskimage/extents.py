"""Where a local file holds data: SEEK_DATA/SEEK_HOLE, so that holes are never read.

A 30 GiB RAW disk typically holds a few GiB of data; the rest are holes the filesystem
returns as zeros without storing them. Reading only the data extents is what makes the
upload cost proportional to the data, not to the virtual size.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass

SECTOR = 512


@dataclass(frozen=True)
class Extent:
    """A byte range ``[offset, offset + length)``."""

    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


def data_extents(fd: int, size: int) -> tuple[Extent, ...]:
    """Data extents of an open file, in order, widened to 512-byte sectors and merged.

    Where the filesystem or platform lacks SEEK_DATA, the whole file is one extent: correct,
    only slower (the chunker still skips all-zero chunks on the wire).
    """
    if size <= 0:
        return ()
    try:
        raw = list(_seek_extents(fd, size))
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        raw = [Extent(0, size)]
    return merge_aligned(raw, size)


def _seek_extents(fd: int, size: int) -> Iterator[Extent]:
    seek_data = getattr(os, "SEEK_DATA", None)
    seek_hole = getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None:
        yield Extent(0, size)
        return
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, seek_data)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no data after pos
                return
            raise
        if start >= size:
            return
        end = min(os.lseek(fd, start, seek_hole), size)
        yield Extent(start, end - start)
        pos = end


def merge_aligned(extents: list[Extent], size: int) -> tuple[Extent, ...]:
    """Widen each extent to whole sectors (clipped to ``size``) and merge overlaps."""
    out: list[Extent] = []
    for ext in extents:
        start = ext.offset - ext.offset % SECTOR
        end = min(-(-ext.end // SECTOR) * SECTOR, size)
        if out and start <= out[-1].end:
            last = out[-1]
            out[-1] = Extent(last.offset, max(last.end, end) - last.offset)
        elif end > start:
            out.append(Extent(start, end - start))
    return tuple(out)
