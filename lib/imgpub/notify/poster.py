"""Delivering one message to an incoming webhook, with retries, never leaking the URL.

Mattermost and Slack answer 200 ``ok``; a 4xx other than 429 is permanent (a bad payload,
a deleted or revoked hook, a locked channel: a person must act), while 429 and 5xx and
network errors are retried, honouring ``Retry-After``. Waits go through the caller's
``sleep`` (a cancellation's), so a cancelled job does not sit out a backoff. Errors are
described with :func:`imgpub.notify.settings.webhook_label`, never with the URL, whose path
is the credential (``urllib``'s own exception texts include it).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from imgpub import __version__
from imgpub.notify.settings import webhook_label
from imgpub.text import first_line

RETRY_AFTER_CAP = 30.0
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})

Opener = Callable[..., Any]


@dataclass(frozen=True)
class Delivery:
    """What happened to one message: delivered or not, after how many attempts, and why."""

    delivered: bool
    attempts: int
    problem: str = ""


def post_message(
    url: str,
    payload: Mapping[str, Any],
    *,
    sleep: Callable[[float], bool],
    attempts: int = 3,
    timeout: float = 10.0,
    opener: Opener = urllib.request.urlopen,
) -> Delivery:
    """POST ``payload`` as JSON; ``sleep(s)`` returns True when waiting should stop."""
    data = json.dumps(payload).encode("utf-8")
    label = webhook_label(url)
    problem = ""
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(  # noqa: S310 - https (or loopback http), checked
            url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": f"imgpub/{__version__}"},
        )
        wait = float(2 ** (attempt - 1))
        try:
            with opener(request, timeout=timeout) as response:
                response.read()
            return Delivery(True, attempt)
        except urllib.error.HTTPError as exc:
            body = _body(exc)
            problem = f"{label} answered {exc.code}" + (f": {body}" if body else "")
            if exc.code not in RETRIED_STATUSES:
                return Delivery(False, attempt, problem)
            wait = _retry_after(exc.headers, wait)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            problem = f"{label} could not be reached: {type(reason).__name__}"
        if attempt < attempts and sleep(wait):
            return Delivery(False, attempt, problem + " (stopped: the run is cancelled)")
    return Delivery(False, attempts, problem)


def _body(exc: urllib.error.HTTPError) -> str:
    """The first line of an error answer (Slack's code, Mattermost's message), short."""
    try:
        raw = exc.read(2000).decode("utf-8", "replace")
    except OSError:
        return ""
    try:
        doc = json.loads(raw)
        if isinstance(doc, dict) and doc.get("message"):
            raw = str(doc["message"])
    except ValueError:
        pass
    return first_line(raw)[:200]


def _retry_after(headers: Any, default: float) -> float:
    """Seconds from ``Retry-After`` (an HTTP-date is not worth parsing: use the backoff)."""
    value = str(headers.get("Retry-After", "") if headers is not None else "")
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_CAP)
    except ValueError:
        return default
