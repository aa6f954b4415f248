"""The byte ranges a page blob already holds, and what of a new write is still missing.

On resume, imgpub asks the service once for the blob's page ranges and then sends only the
parts of each chunk that are not yet there. The service's list is normalised here: Azurite
does not merge adjacent ranges (local-services.md §2), and its End is inclusive.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ByteRanges:
    """Sorted, disjoint, non-adjacent half-open ranges ``[start, end)``."""

    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    @classmethod
    def of(cls, ranges: Iterable[tuple[int, int]]) -> ByteRanges:
        """Normalise any half-open ranges: sort, merge overlapping and adjacent ones."""
        merged: list[list[int]] = []
        for start, end in sorted(r for r in ranges if r[1] > r[0]):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return cls(tuple(s for s, _ in merged), tuple(e for _, e in merged))

    @property
    def total(self) -> int:
        return sum(e - s for s, e in zip(self.starts, self.ends, strict=True))

    def __len__(self) -> int:
        return len(self.starts)

    def missing(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``[start, end)`` not covered by these ranges."""
        out: list[tuple[int, int]] = []
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        pos = start
        while pos < end and i < len(self.starts):
            s, e = self.starts[i], self.ends[i]
            if e <= pos:
                i += 1
                continue
            if s >= end:
                break
            if s > pos:
                out.append((pos, s))
            pos = max(pos, e)
            i += 1
        if pos < end:
            out.append((pos, end))
        return out
