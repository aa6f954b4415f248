"""The uncompressed size of an ``.xz`` file, read from its index without decompressing.

An EBS snapshot's size must be given when it is started, before a compressed image has
been read. The xz format (tukaani.org/xz/xz-file-format.txt) ends every stream with an
index listing each block's uncompressed size and a footer pointing at that index, so a
few small reads at the end of the file give the exact size. Python's ``lzma`` module does
not expose the index; this reads it.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

_FOOTER = 12
_HEADER = 12
_FOOTER_MAGIC = b"YZ"


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A multibyte integer of the xz format at ``pos``: (value, next position)."""
    value = 0
    for i in range(9):
        if pos >= len(data):
            raise ValueError("truncated xz index")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos
    raise ValueError("xz index integer too long")


def _stream_sizes(fh: BinaryIO, end: int) -> tuple[int, int]:
    """(uncompressed size, start offset) of the stream whose footer ends at ``end``."""
    fh.seek(end - _FOOTER)
    footer = fh.read(_FOOTER)
    if len(footer) != _FOOTER or footer[10:] != _FOOTER_MAGIC:
        raise ValueError("no xz stream footer")
    if zlib.crc32(footer[4:10]) != struct.unpack("<I", footer[:4])[0]:
        raise ValueError("xz stream footer checksum mismatch")
    index_size = (struct.unpack("<I", footer[4:8])[0] + 1) * 4
    index_start = end - _FOOTER - index_size
    if index_start < _HEADER:
        raise ValueError("xz index out of range")
    fh.seek(index_start)
    index = fh.read(index_size)
    if len(index) != index_size or index[0] != 0:
        raise ValueError("no xz index")
    if zlib.crc32(index[:-4]) != struct.unpack("<I", index[-4:])[0]:
        raise ValueError("xz index checksum mismatch")
    records, pos = _varint(index, 1)
    uncompressed = 0
    blocks = 0
    for _ in range(records):
        unpadded, pos = _varint(index, pos)
        size, pos = _varint(index, pos)
        uncompressed += size
        blocks += -(-unpadded // 4) * 4
    start = index_start - blocks - _HEADER
    if start < 0:
        raise ValueError("xz blocks out of range")
    return uncompressed, start


def xz_uncompressed_size(fh: BinaryIO) -> int | None:
    """Total uncompressed bytes of every stream in the file, or None if it is not valid xz."""
    fh.seek(0, 2)
    end = fh.tell()
    total = 0
    try:
        while end > 0:
            # Stream padding: zero bytes, in multiples of four, after a stream.
            fh.seek(end - 4)
            while end >= 4 and fh.read(4) == b"\0\0\0\0":
                end -= 4
                fh.seek(max(end - 4, 0))
            size, start = _stream_sizes(fh, end)
            total += size
            end = start
    except (ValueError, OSError):
        return None
    return total
