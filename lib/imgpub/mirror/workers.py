"""Bounded concurrency with region affinity, for the canary scheduler.

Each region is pinned to one of ``n`` single-thread executors, so at most ``n`` regions
work at once, a region's steps never run concurrently, and each region's boto3 client is
built once in the one thread that uses it (Sessions are per thread, see
:mod:`imgpub.aws.session`). Waiting regions hold no thread: the scheduler submits their
next poll as a new step. :func:`imgpub.fanout.fan_out` cannot give this: its workers take
any key, so a region's client would be built again on every thread that meets it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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

    @property
    def size(self) -> int:
        return len(self._pools)

    def submit(self, region: str, fn: Callable[[], T]) -> Future[T]:
        return self._pools[self._shard[region]].submit(fn)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the threads; ``wait=False`` after a cancel leaves calls in flight to end alone."""
        for pool in self._pools:
            pool.shutdown(wait=wait, cancel_futures=True)
