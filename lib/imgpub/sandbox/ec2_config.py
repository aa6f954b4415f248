"""Value objects shared by the local EC2's control endpoint and its Python client.

Tests and benchmarks steer the local EC2 (latency, throttling, failing regions, block
public access, enabled regions) and read its call statistics. Both sides of that HTTP
conversation use these frozen dataclasses and their JSON forms, so a field added here is
added to the server and the client at once. Nothing here imports moto.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# HTTP statuses real EC2 uses for the error codes tests are likely to inject.
ERROR_STATUS: Mapping[str, int] = {
    "InternalError": 500,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "Unavailable": 503,
    "RequestLimitExceeded": 503,
    "UnauthorizedOperation": 403,
    "AuthFailure": 401,
    "OptInRequired": 401,
}

ERROR_MESSAGE: Mapping[str, str] = {
    "InternalError": "An internal error has occurred",
    "InternalFailure": "An internal error has occurred",
    "ServiceUnavailable": "The service is unavailable. Try again later.",
    "Unavailable": "The server is overloaded and can't handle the request.",
    "RequestLimitExceeded": "Request limit exceeded.",
    "UnauthorizedOperation": "You are not authorized to perform this operation.",
    "AuthFailure": "AWS was not able to validate the provided access credentials",
    "OptInRequired": "You are not subscribed to this service. Please go to http://aws.amazon.com "
    "to subscribe.",
}


def error_status(code: str) -> int:
    """The HTTP status EC2 answers ``code`` with (client errors are 400)."""
    return ERROR_STATUS.get(code, 400)


def error_message(code: str) -> str:
    """A message in EC2's wording for an injected ``code``."""
    return ERROR_MESSAGE.get(code, f"Injected failure {code}.")


@dataclass(frozen=True)
class Ec2Config:
    """How the local EC2 misbehaves. The defaults are a healthy, unthrottled account.

    * ``copy_pending_seconds``: a CopyImage result stays ``pending`` this long.
    * ``throttle_rate`` / ``seed``: the fraction of EC2 calls answered
      ``RequestLimitExceeded``, drawn from a ``random.Random(seed)``.
    * ``failing_regions``: region → error code every EC2 call there gets.
    * ``blocked_regions``: regions whose image block public access is ``block-new-sharing``
      (Enable/DisableImageBlockPublicAccess update this set).
    * ``enabled_regions``: the account's enabled regions; ``None`` means the regions every
      account has (:data:`imgpub.sandbox.ec2_regions.DEFAULT_ENABLED_REGIONS`).
    * ``reject_disabled_regions``: calls signed for a region that is not enabled get
      ``AuthFailure``, as real EC2 answers them.
    * ``boot_test_outcome``: what an instance running imgpub's boot-test user data prints
      to its console: ``pass``, ``fail`` (a test command failed) or ``silent`` (nothing,
      as a guest that never boots); ``console_delay_seconds``: how long after launch the
      console text appears.
    """

    copy_pending_seconds: float = 0.0
    throttle_rate: float = 0.0
    seed: int = 0
    failing_regions: Mapping[str, str] = field(default_factory=dict)
    blocked_regions: frozenset[str] = frozenset()
    enabled_regions: frozenset[str] | None = None
    reject_disabled_regions: bool = True
    boot_test_outcome: str = "pass"
    console_delay_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (sets become sorted lists)."""
        return {
            "copy_pending_seconds": self.copy_pending_seconds,
            "throttle_rate": self.throttle_rate,
            "seed": self.seed,
            "failing_regions": dict(sorted(self.failing_regions.items())),
            "blocked_regions": sorted(self.blocked_regions),
            "enabled_regions": (
                None if self.enabled_regions is None else sorted(self.enabled_regions)
            ),
            "reject_disabled_regions": self.reject_disabled_regions,
            "boot_test_outcome": self.boot_test_outcome,
            "console_delay_seconds": self.console_delay_seconds,
        }

    def updated(self, changes: Mapping[str, Any]) -> Ec2Config:
        """This config with the JSON ``changes`` applied; ``ValueError`` names a bad field."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for name, raw in changes.items():
            values[name] = _CONVERTERS[name](name, raw)
        return dataclasses.replace(self, **values)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ec2Config:
        """The inverse of :meth:`to_json`."""
        return cls().updated(data)


def _seconds(name: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}")
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number ≥ 0, not {raw!r}")
    return value


def _rate(name: str, raw: Any) -> float:
    value = _seconds(name, raw)
    if value > 1:
        raise ValueError(f"{name} must be between 0 and 1, not {raw!r}")
    return value


def _integer(name: str, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"{name} must be an integer, not {raw!r}")
    return raw


def _flag(name: str, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"{name} must be true or false, not {raw!r}")
    return raw


def _regions(name: str, raw: Any) -> frozenset[str]:
    if isinstance(raw, str) or not isinstance(raw, Iterable):
        raise ValueError(f"{name} must be a list of region names, not {raw!r}")
    regions = frozenset(raw)
    if not all(isinstance(r, str) and r for r in regions):
        raise ValueError(f"{name} must contain region names only, not {raw!r}")
    return regions


def _optional_regions(name: str, raw: Any) -> frozenset[str] | None:
    return None if raw is None else _regions(name, raw)


def _region_codes(name: str, raw: Any) -> Mapping[str, str]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{name} must map region names to EC2 error codes, not {raw!r}")
    if not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in raw.items()):
        raise ValueError(f"{name} must map region names to EC2 error codes, not {raw!r}")
    return dict(raw)


def _outcome(name: str, raw: Any) -> str:
    if raw not in BOOT_TEST_OUTCOMES:
        raise ValueError(f"{name} must be one of {', '.join(BOOT_TEST_OUTCOMES)}, not {raw!r}")
    return str(raw)


BOOT_TEST_OUTCOMES = ("pass", "fail", "silent")

_CONVERTERS: Mapping[str, Any] = {
    "copy_pending_seconds": _seconds,
    "throttle_rate": _rate,
    "seed": _integer,
    "failing_regions": _region_codes,
    "blocked_regions": _regions,
    "enabled_regions": _optional_regions,
    "reject_disabled_regions": _flag,
    "boot_test_outcome": _outcome,
    "console_delay_seconds": _seconds,
}


@dataclass(frozen=True)
class Ec2Stats:
    """What the local EC2 was asked since the last reset, for benchmarks and tests.

    ``calls`` counts every EC2 request received per (action, region) — including those
    answered with an injected throttle or failure, since a client paid for them too.
    ``images`` are the distinct AMI IDs that requests named or that CopyImage,
    RegisterImage and CreateImage returned; ``image_regions`` the distinct (AMI, region)
    pairs among them.
    """

    calls: Mapping[tuple[str, str], int] = field(default_factory=dict)
    throttled: int = 0
    injected_failures: int = 0
    images: int = 0
    image_regions: int = 0
    other_services: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """All EC2 calls."""
        return sum(self.calls.values())

    def count(self, action: str | None = None, region: str | None = None) -> int:
        """EC2 calls, optionally only of one action and/or in one region."""
        return sum(
            n
            for (a, r), n in self.calls.items()
            if (action is None or a == action) and (region is None or r == region)
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``calls`` becomes a sorted list of records."""
        return {
            "calls": [
                {"action": a, "region": r, "count": n} for (a, r), n in sorted(self.calls.items())
            ],
            "total": self.total,
            "throttled": self.throttled,
            "injected_failures": self.injected_failures,
            "images": self.images,
            "image_regions": self.image_regions,
            "other_services": dict(sorted(self.other_services.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ec2Stats:
        """The inverse of :meth:`to_json`."""
        return cls(
            calls={(c["action"], c["region"]): int(c["count"]) for c in data["calls"]},
            throttled=int(data["throttled"]),
            injected_failures=int(data["injected_failures"]),
            images=int(data["images"]),
            image_regions=int(data["image_regions"]),
            other_services={str(k): int(v) for k, v in data["other_services"].items()},
        )
