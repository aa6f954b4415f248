"""Resume arithmetic: which parts of a write a page blob does not hold yet."""

from __future__ import annotations

from imgpub.diskimage.byte_ranges import ByteRanges


def test_adjacent_ranges_merge_as_azure_would() -> None:
    """Azurite lists adjacent writes separately; they count as one covered range."""
    ranges = ByteRanges.of([(0, 512), (512, 1024), (4096, 8192), (2048, 2560)])
    assert ranges == ByteRanges((0, 2048, 4096), (1024, 2560, 8192))
    assert ranges.total == 1024 + 512 + 4096


def test_missing_subtracts_present_ranges() -> None:
    ranges = ByteRanges.of([(1024, 2048), (4096, 5120)])
    assert ranges.missing(0, 8192) == [(0, 1024), (2048, 4096), (5120, 8192)]
    assert ranges.missing(1024, 2048) == []
    assert ranges.missing(1536, 4608) == [(2048, 4096)]
    assert ranges.missing(6000, 7000) == [(6000, 7000)]
    assert ByteRanges().missing(0, 512) == [(0, 512)]
