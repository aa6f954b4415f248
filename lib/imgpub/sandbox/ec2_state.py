"""The mutable, thread-safe state behind imgpub's EC2 extensions.

The server is threaded, so every read and write of the configuration, the random source
for throttling, CopyImage client tokens, pending copies and call statistics goes through
one lock. Nothing here speaks HTTP or imports moto; :mod:`imgpub.sandbox.ec2_extras` does.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from imgpub.sandbox.ec2_config import Ec2Config, Ec2Stats
from imgpub.sandbox.ec2_regions import DEFAULT_ENABLED_REGIONS

# (account, region, image or token)
ResourceKey = tuple[str, str, str]


@dataclass(frozen=True)
class TokenRecord:
    """What a CopyImage client token was first used for, and what it produced."""

    fingerprint: tuple[tuple[str, str], ...]
    image_id: str


class Ec2State:
    """Configuration, per-resource extension state and statistics of one local EC2."""

    def __init__(self, config: Ec2Config | None = None) -> None:
        self._lock = threading.RLock()
        self._config = config or Ec2Config()
        self._rng = random.Random(self._config.seed)
        self._tokens: dict[ResourceKey, TokenRecord] = {}
        self._token_locks: dict[ResourceKey, threading.Lock] = {}
        self._pending: dict[ResourceKey, float] = {}
        self._calls: Counter[tuple[str, str]] = Counter()
        self._other: Counter[str] = Counter()
        self._images: set[tuple[str, str]] = set()
        self._throttled = 0
        self._failures = 0
        self._registrations: dict[str, dict[str, Any]] = {}

    # --- configuration -------------------------------------------------------------

    @property
    def config(self) -> Ec2Config:
        """The current configuration (an immutable snapshot)."""
        with self._lock:
            return self._config

    def configure(self, changes: Mapping[str, Any]) -> Ec2Config:
        """Apply a partial JSON update; re-seed throttling when seed or rate is given."""
        with self._lock:
            self._config = self._config.updated(changes)
            if "seed" in changes or "throttle_rate" in changes:
                self._rng = random.Random(self._config.seed)
            return self._config

    def enabled_regions(self) -> frozenset[str]:
        """The account's enabled regions."""
        enabled = self.config.enabled_regions
        return DEFAULT_ENABLED_REGIONS if enabled is None else enabled

    def is_blocked(self, region: str) -> bool:
        """Whether image block public access is on in ``region``."""
        return region in self.config.blocked_regions

    def set_blocked(self, region: str, blocked: bool) -> None:
        """Enable or disable image block public access in ``region``."""
        with self._lock:
            regions = set(self._config.blocked_regions)
            if blocked:
                regions.add(region)
            else:
                regions.discard(region)
            self._config = dataclasses.replace(self._config, blocked_regions=frozenset(regions))

    # --- fault injection -----------------------------------------------------------

    def injected_failure(self, region: str) -> str | None:
        """The error code configured for ``region``, counted as an injected failure."""
        with self._lock:
            code = self._config.failing_regions.get(region)
            if code is not None:
                self._failures += 1
            return code

    def should_throttle(self) -> bool:
        """Draw from the seeded source: True for a ``throttle_rate`` share of calls."""
        with self._lock:
            rate = self._config.throttle_rate
            if rate <= 0:
                return False
            hit = self._rng.random() < rate
            if hit:
                self._throttled += 1
            return hit

    # --- CopyImage client tokens ---------------------------------------------------

    def token_lock(self, key: ResourceKey) -> threading.Lock:
        """A lock serialising concurrent CopyImage calls that carry the same token."""
        with self._lock:
            return self._token_locks.setdefault(key, threading.Lock())

    def token(self, key: ResourceKey) -> TokenRecord | None:
        """What ``key``'s token produced before, if anything."""
        with self._lock:
            return self._tokens.get(key)

    def remember_token(self, key: ResourceKey, record: TokenRecord) -> None:
        """Bind a token to its first successful request."""
        with self._lock:
            self._tokens[key] = record

    # --- pending copies ------------------------------------------------------------

    def add_pending(self, key: ResourceKey, seconds: float) -> None:
        """Keep an image ``pending`` for ``seconds`` from now."""
        with self._lock:
            self._pending[key] = time.monotonic() + seconds

    def take_due(self) -> list[ResourceKey]:
        """Images whose pending time is over; they are forgotten here once returned."""
        now = time.monotonic()
        with self._lock:
            due = [key for key, deadline in self._pending.items() if deadline <= now]
            for key in due:
                del self._pending[key]
            return due

    # --- registered images (build-ami) ---------------------------------------------

    def remember_registration(self, image_id: str, record: dict[str, Any]) -> None:
        """Keep what RegisterImage asked for an image (moto drops most of it)."""
        with self._lock:
            self._registrations[image_id] = record

    def registration(self, image_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._registrations.get(image_id)
            return None if found is None else dict(found)

    # --- statistics ----------------------------------------------------------------

    def record_call(self, action: str, region: str) -> None:
        """Count one EC2 request."""
        with self._lock:
            self._calls[(action, region)] += 1

    def record_other(self, service: str) -> None:
        """Count one request to another service (SSM, STS …)."""
        with self._lock:
            self._other[service] += 1

    def record_images(self, region: str, image_ids: Iterable[str]) -> None:
        """Note AMIs a request named or produced in ``region``."""
        with self._lock:
            self._images.update((image, region) for image in image_ids if image.startswith("ami-"))

    def stats(self) -> Ec2Stats:
        """A snapshot of the statistics."""
        with self._lock:
            return Ec2Stats(
                calls=dict(self._calls),
                throttled=self._throttled,
                injected_failures=self._failures,
                images=len({image for image, _ in self._images}),
                image_regions=len(self._images),
                other_services=dict(self._other),
            )

    def reset_stats(self) -> None:
        """Start counting afresh (a benchmark does this after its setup)."""
        with self._lock:
            self._calls.clear()
            self._other.clear()
            self._images.clear()
            self._throttled = 0
            self._failures = 0

    # --- resets --------------------------------------------------------------------

    def forget_resources(self) -> None:
        """Drop state tied to moto's resources (after moto itself was reset)."""
        with self._lock:
            self._tokens.clear()
            self._token_locks.clear()
            self._pending.clear()
            self._registrations.clear()

    def reset(self) -> None:
        """Back to a fresh server: default configuration, no resources, no statistics."""
        with self._lock:
            self._config = Ec2Config()
            self._rng = random.Random(self._config.seed)
            self.forget_resources()
            self.reset_stats()
