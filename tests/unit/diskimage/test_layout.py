"""The blob layout: RAW padded to a MiB and given a footer; a VHD stream split at its footer."""

from __future__ import annotations

import io
import os

import pytest

from imgpub.diskimage.chunks import Chunk, stream_chunks
from imgpub.diskimage.layout import raw_as_fixed_vhd, raw_blob_size, round_up_mib, vhd_passthrough
from imgpub.diskimage.vhd import FOOTER_SIZE, MIB, build_footer, parse_footer
from imgpub.errors import InputError


def _blob(chunks: list[Chunk]) -> bytes:
    return b"".join(c.data if c.data is not None else bytes(c.length) for c in chunks)


def test_round_up_mib() -> None:
    assert round_up_mib(1) == MIB
    assert round_up_mib(MIB) == MIB  # no spurious extra MiB when already aligned
    assert round_up_mib(MIB + 1) == 2 * MIB
    assert raw_blob_size(0) == MIB + FOOTER_SIZE


def test_raw_is_padded_to_mib_and_ends_with_the_footer() -> None:
    raw = os.urandom(3 * MIB + 1000)  # not even sector-aligned
    chunks = list(raw_as_fixed_vhd(stream_chunks(io.BytesIO(raw)), seed="s", unix_timestamp=None))
    blob = _blob(chunks)
    assert len(blob) == 4 * MIB + FOOTER_SIZE == raw_blob_size(len(raw))
    assert blob[: len(raw)] == raw
    assert blob[len(raw) : 4 * MIB] == bytes(4 * MIB - len(raw))
    assert parse_footer(blob[-FOOTER_SIZE:]).current_size == 4 * MIB
    assert all(c.offset % 512 == 0 and c.length % 512 == 0 for c in chunks)
    assert chunks[-1].offset == 4 * MIB and chunks[-1].length == FOOTER_SIZE


def test_raw_footer_is_the_same_on_every_run() -> None:
    raw = os.urandom(MIB)
    a = list(raw_as_fixed_vhd(stream_chunks(io.BytesIO(raw)), seed="x", unix_timestamp=5))
    b = list(raw_as_fixed_vhd(stream_chunks(io.BytesIO(raw)), seed="x", unix_timestamp=5))
    assert a[-1] == b[-1]


def test_vhd_stream_is_split_at_its_footer() -> None:
    disk = os.urandom(5 * MIB)
    vhd = disk + build_footer(5 * MIB, seed="v")
    chunks = list(vhd_passthrough(stream_chunks(io.BytesIO(vhd)), name="image"))
    assert _blob(chunks) == vhd
    assert chunks[-1] == Chunk(5 * MIB, FOOTER_SIZE, vhd[-FOOTER_SIZE:])
    assert all(c.length <= 4 * MIB for c in chunks)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda v: v[:-100], "not start with 'conectix'|truncated|checksum|footer says"),
        (lambda v: v[:-FOOTER_SIZE] + bytes(FOOTER_SIZE), "conectix"),
        (lambda v: v[:-20] + b"\xff" * 20, "checksum"),
        (lambda v: v[:MIB] + v[-FOOTER_SIZE:], "footer says"),
        (lambda v: b"", "only 0 bytes"),
    ],
)
def test_a_bad_vhd_stream_is_rejected_before_its_footer(mangle: object, message: str) -> None:
    vhd = bytes(2 * MIB) + build_footer(2 * MIB, seed="v")
    bad = mangle(vhd)  # type: ignore[operator]
    with pytest.raises(InputError, match=message):
        list(vhd_passthrough(stream_chunks(io.BytesIO(bad)), name="image"))
