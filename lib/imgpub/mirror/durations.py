"""The two time inputs of mirror-ami: ``deprecate-after`` and ``timeout``.

Grammars (documented here because the action's README is generated from the inputs):

* ``deprecate-after``: ``<N>d`` (days), ``<N>w`` (weeks) or ``<N>y`` (years of 365 days),
  counted from the run, or an absolute UTC date ``YYYY-MM-DD``. Months are not accepted:
  ``6m`` reads as minutes to half the world, and months have no fixed length. EC2 rounds
  ``DeprecateAt`` to the minute and rejects the past and anything beyond 10 years (2 years
  for public AMIs), so both limits are checked here, before any call.
* ``timeout`` (the overall deadline of one run): ``<N>`` minutes, or ``<N>s``, ``<N>m``,
  ``<N>h``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from imgpub.errors import InputError

_RELATIVE = re.compile(r"^(\d{1,5})\s*([dwy])$")
_ABSOLUTE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMEOUT = re.compile(r"^(\d{1,6})\s*([smh]?)$")
_UNIT_DAYS = {"d": 1, "w": 7, "y": 365}
_UNIT_SECONDS = {"s": 1, "m": 60, "": 60, "h": 3600}

MAX_DEPRECATION = timedelta(days=3650)
MAX_PUBLIC_DEPRECATION = timedelta(days=730)


def parse_deprecate_after(raw: str, *, now: datetime, public: bool) -> datetime | None:
    """The UTC deprecation time, minute-aligned, or None when the input is empty."""
    text = raw.strip().lower()
    if not text:
        return None
    fix = "write e.g. 365d, 52w, 2y or a UTC date 2027-06-30"
    if match := _RELATIVE.match(text):
        count, unit = int(match.group(1)), match.group(2)
        if count == 0:
            raise InputError("deprecate-after", f"{raw!r} is zero", fix)
        when = now + timedelta(days=count * _UNIT_DAYS[unit])
    elif _ABSOLUTE.match(text):
        try:
            when = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise InputError("deprecate-after", f"{raw!r} is not a date", fix) from None
        if when <= now:
            raise InputError("deprecate-after", f"{raw!r} is in the past", fix)
    else:
        raise InputError("deprecate-after", f"{raw!r} is not a duration or a date", fix)
    limit = MAX_PUBLIC_DEPRECATION if public else MAX_DEPRECATION
    if when - now > limit:
        raise InputError(
            "deprecate-after",
            f"{raw!r} is more than {limit.days} days ahead, EC2's limit"
            + (" for public AMIs" if public else ""),
            f"use at most {limit.days}d",
        )
    return when.replace(second=0, microsecond=0)


def parse_timeout(raw: str, *, default: timedelta = timedelta(minutes=60)) -> timedelta:
    """The overall deadline; a bare number is minutes, as in ``timeout-minutes``."""
    text = raw.strip().lower()
    if not text:
        return default
    match = _TIMEOUT.match(text)
    if not match or int(match.group(1)) == 0:
        raise InputError(
            "timeout", f"{raw!r} is not a positive duration", "write e.g. 60, 90m or 2h"
        )
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
