"""The VHD footer writer and reader, against the spec's rules (qemu checks are integration)."""

from __future__ import annotations

import struct

import pytest

from imgpub.diskimage.vhd import (
    FOOTER_SIZE,
    MIB,
    Geometry,
    build_footer,
    check_fixed_vhd,
    chs_geometry,
    footer_checksum,
    parse_footer,
)
from imgpub.errors import InputError


def _with(footer: bytes, offset: int, value: bytes, *, fix_checksum: bool = True) -> bytes:
    """The footer with some bytes replaced and (by default) the checksum made valid again."""
    data = bytearray(footer)
    data[offset : offset + len(value)] = value
    if fix_checksum:
        data[64:68] = footer_checksum(bytes(data)).to_bytes(4, "big")
    return bytes(data)


def test_footer_fields_follow_the_spec() -> None:
    footer = build_footer(30 * MIB, seed="s", unix_timestamp=946684800 + 1000)
    assert len(footer) == FOOTER_SIZE
    assert footer[:8] == b"conectix"
    assert struct.unpack(">I", footer[8:12])[0] == 2
    assert struct.unpack(">I", footer[12:16])[0] == 0x10000
    assert footer[16:24] == b"\xff" * 8
    assert struct.unpack(">I", footer[24:28])[0] == 1000
    assert struct.unpack(">QQ", footer[40:56]) == (30 * MIB, 30 * MIB)
    assert struct.unpack(">I", footer[60:64])[0] == 2
    assert footer[85:] == bytes(427)
    parsed = parse_footer(footer)
    assert parsed.current_size == 30 * MIB
    assert parsed.geometry == chs_geometry(30 * MIB)


def test_checksum_is_ones_complement_of_byte_sum() -> None:
    footer = build_footer(MIB, seed="x")
    stored = struct.unpack(">I", footer[64:68])[0]
    assert stored == ~(sum(footer[:64]) + sum(footer[68:])) & 0xFFFFFFFF


def test_footer_is_deterministic_per_seed() -> None:
    """Resume and a stable Content-MD5 need the same bytes on every run."""
    assert build_footer(8 * MIB, seed="a") == build_footer(8 * MIB, seed="a")
    assert build_footer(8 * MIB, seed="a")[68:84] != build_footer(8 * MIB, seed="b")[68:84]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        # Values from the spec's algorithm worked by hand (and by qemu's calculate_geometry).
        (MIB, Geometry(30, 4, 17)),
        (30 * MIB, Geometry(903, 4, 17)),
        (1024 * MIB, Geometry(2080, 16, 63)),
        (127 * 1024 * MIB, Geometry(65278, 16, 255)),
    ],
)
def test_chs_geometry(size: int, expected: Geometry) -> None:
    assert chs_geometry(size) == expected


@pytest.mark.parametrize("size", [0, MIB + 512, 3 * MIB - 1])
def test_build_refuses_sizes_azure_rejects(size: int) -> None:
    with pytest.raises(ValueError, match="MiB"):
        build_footer(size, seed="s")


def test_parse_rejects_a_missing_cookie() -> None:
    with pytest.raises(InputError, match="conectix"):
        parse_footer(bytes(FOOTER_SIZE))


def test_parse_rejects_a_bad_checksum() -> None:
    footer = _with(
        build_footer(MIB, seed="s"), 48, (2 * MIB).to_bytes(8, "big"), fix_checksum=False
    )
    with pytest.raises(InputError, match="checksum") as info:
        parse_footer(footer)
    assert info.value.name == "image"
    assert "\n" not in info.value.one_line()


def test_parse_rejects_a_truncated_footer() -> None:
    with pytest.raises(InputError, match="truncated"):
        parse_footer(build_footer(MIB, seed="s")[:300])


def test_check_rejects_a_dynamic_vhd() -> None:
    footer = _with(build_footer(MIB, seed="s"), 60, (3).to_bytes(4, "big"))
    with pytest.raises(InputError, match="dynamic"):
        check_fixed_vhd(footer, MIB + FOOTER_SIZE)


def test_check_rejects_a_size_that_is_not_whole_mib() -> None:
    odd = MIB + 16 * 1024
    footer = _with(build_footer(MIB, seed="s"), 40, odd.to_bytes(8, "big") * 2)
    with pytest.raises(InputError, match="whole number of MiB"):
        check_fixed_vhd(footer, odd + FOOTER_SIZE)


def test_check_rejects_a_file_size_that_disagrees_with_the_footer() -> None:
    footer = build_footer(2 * MIB, seed="s")
    with pytest.raises(InputError, match="footer says"):
        check_fixed_vhd(footer, MIB + FOOTER_SIZE)
    with pytest.raises(InputError, match="only 100 bytes"):
        check_fixed_vhd(footer[:100], 100)


def test_check_accepts_a_valid_footer() -> None:
    footer = check_fixed_vhd(build_footer(4 * MIB, seed="s"), 4 * MIB + FOOTER_SIZE)
    assert footer.current_size == 4 * MIB
