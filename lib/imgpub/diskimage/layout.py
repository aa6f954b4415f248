"""The blob a disk becomes: disk bytes, zero padding to a whole MiB, then the VHD footer.

Sources hand over the chunks of their disk; these functions turn them into the chunks of
the fixed-VHD page blob. The footer comes last because, for a compressed stream, the size
is known only at the end; an uploader that creates the blob before it knows the size can
therefore still write a correct footer. A VHD source keeps its own footer, checked first
when the size is known and at the latest before the footer is handed on (so an invalid
VHD never becomes a complete blob).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from imgpub.diskimage.chunks import Chunk, pad_to_sector
from imgpub.diskimage.errors import CorruptSource
from imgpub.diskimage.vhd import FOOTER_SIZE, MIB, build_footer, check_fixed_vhd


def round_up_mib(size: int) -> int:
    """The smallest whole number of MiB ≥ ``size`` (at least 1 MiB)."""
    return max(-(-size // MIB) * MIB, MIB)


def raw_blob_size(raw_size: int) -> int:
    """Blob length of a RAW disk of ``raw_size`` bytes: padded to MiB, plus the footer."""
    return round_up_mib(raw_size) + FOOTER_SIZE


def raw_as_fixed_vhd(
    disk: Iterable[Chunk], *, seed: str, unix_timestamp: int | None
) -> Iterator[Chunk]:
    """Blob chunks of a RAW disk: its chunks (last one sector-padded), a zero hole, the footer."""
    end = 0
    for chunk in disk:
        if chunk.offset != end:
            raise ValueError(f"disk chunks out of order at {chunk.offset}, expected {end}")
        if chunk.data is not None and chunk.length % 512:
            data = pad_to_sector(chunk.data)
            chunk = Chunk(chunk.offset, len(data), data)
        yield chunk
        end = chunk.end
    size = round_up_mib(end)
    if size > end:
        yield Chunk(end, size - end, None)
    yield Chunk(size, FOOTER_SIZE, build_footer(size, seed=seed, unix_timestamp=unix_timestamp))


def vhd_passthrough(disk: Iterable[Chunk], *, name: str) -> Iterator[Chunk]:
    """Blob chunks of a fixed VHD read as one stream: the last 512 bytes are its footer.

    One chunk is held back so the footer can be split off when the stream ends; the footer
    is validated against the total length before it is yielded. A bad one is
    ``CorruptSource``: the blob written so far can never be completed from this stream.
    """
    held: list[Chunk] = []
    for chunk in disk:
        held.append(chunk)
        # Keep just enough trailing chunks to be sure they hold the last 512 bytes.
        while len(held) > 1 and sum(c.length for c in held[1:]) >= FOOTER_SIZE:
            yield held.pop(0)
    total = held[-1].end if held else 0
    tail = b"".join(c.data if c.data is not None else bytes(c.length) for c in held)
    footer_at = total - FOOTER_SIZE
    last = tail[-FOOTER_SIZE:] if total >= FOOTER_SIZE else tail
    check_fixed_vhd(last, total, name=name, error=CorruptSource)
    start = held[0].offset
    body = tail[: footer_at - start]
    if body:
        yield Chunk(start, len(body), body)
    yield Chunk(footer_at, FOOTER_SIZE, tail[footer_at - start :])
