"""Data extents of sparse files: holes are found by SEEK_HOLE and never read."""

from __future__ import annotations

import os
from pathlib import Path

from imgpub.diskimage.extents import Extent, data_extents, merge_aligned

MIB = 1024 * 1024


def _sparse(path: Path, size: int, writes: list[tuple[int, bytes]]) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
        for offset, data in writes:
            f.seek(offset)
            f.write(data)
    return path


def _extents(path: Path) -> tuple[Extent, ...]:
    fd = os.open(path, os.O_RDONLY)
    try:
        return data_extents(fd, path.stat().st_size)
    finally:
        os.close(fd)


def test_extents_cover_the_data_and_skip_the_holes(tmp_path: Path) -> None:
    path = _sparse(tmp_path / "d.raw", 16 * MIB, [(MIB, b"a" * 5000), (9 * MIB, b"b" * MIB)])
    extents = _extents(path)
    assert all(e.offset % 512 == 0 and e.length % 512 == 0 for e in extents)
    covered = sum(e.length for e in extents)
    if len(extents) == 1 and covered == 16 * MIB:  # a filesystem without SEEK_HOLE support
        return
    assert any(e.offset <= MIB and e.end >= MIB + 5000 for e in extents)
    assert any(e.offset <= 9 * MIB and e.end >= 10 * MIB for e in extents)
    assert covered < 4 * MIB  # the 14 MiB of holes are not data


def test_a_file_of_only_holes_has_no_extents(tmp_path: Path) -> None:
    path = _sparse(tmp_path / "h.raw", 8 * MIB, [])
    assert _extents(path) in ((), (Extent(0, 8 * MIB),))


def test_an_empty_file_has_no_extents(tmp_path: Path) -> None:
    assert _extents(_sparse(tmp_path / "e.raw", 0, [])) == ()


def test_merge_aligned_widens_to_sectors_and_merges() -> None:
    merged = merge_aligned([Extent(100, 10), Extent(600, 10), Extent(2048, 100)], 4096)
    assert merged == (Extent(0, 1024), Extent(2048, 512))


def test_merge_aligned_clips_at_the_file_end() -> None:
    assert merge_aligned([Extent(1000, 100)], 1050) == (Extent(512, 538),)
