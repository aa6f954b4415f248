"""Bounded concurrency with region affinity.

Each region is pinned to one of ``n`` single-thread executors, so at most ``n`` regions
work at once, a region's steps never run concurrently, and each region's boto3 client is
built once in the one thread that uses it (Sessions are per thread, see
:mod:`imgpub.aws.session`). Waiting regions hold no thread: the engine schedules their
next poll as a new step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")


class RegionWorkers:
    def __init__(self, regions: Sequence[str], max_workers: int) -> None:
        ordered = sorted(set(regions))
        count = max(1, min(max_workers, len(ordered)))
        self._pools = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"imgpub-region-{i}")
            for i in range(count)
        ]
        self._shard = {region: i % count for i, region in enumerate(ordered)}

    def covers(self, regions: Sequence[str]) -> bool:
        return all(r in self._shard for r in regions)

    @property
    def size(self) -> int:
        return len(self._pools)

    def submit(self, region: str, fn: Callable[[], T]) -> Future[T]:
        return self._pools[self._shard[region]].submit(fn)

    def shutdown(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> RegionWorkers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()
