"""Waiting out GitHub's rate limits, cancellably, within a budget the user sets.

PyGithub's own retry (urllib3) sleeps with ``time.sleep`` (a cancelled job cannot stop
it), does not retry 429 at all, retries POSTs on 5xx (a pull request can be created twice
that way, cloud-apis.md §12.7) and ends in ``requests.RetryError`` rather than a GitHub
error. So imgpub turns it off (``retry=None``) and waits here instead, as GitHub documents
(cloud-apis.md §12.4): ``Retry-After`` when given; the primary limit (``x-ratelimit-
remaining: 0``) until ``x-ratelimit-reset``; a secondary limit without a header one minute,
then doubling. A wait beyond ``max_wait`` in total is not attempted: the run fails with
the reset time, and the re-run finishes the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

from github.GithubException import GithubException
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import Timeout

from imgpub.cancel import Cancellation, Cancelled
from imgpub.errors import CloudError

T = TypeVar("T")
SECONDARY_WAIT = 60.0
#: Retries of a read (or another repeatable call) after a 5xx or a dropped connection.
TRANSIENT_RETRIES = 2


def error_message(exc: GithubException) -> str:
    """GitHub's message of an error answer, the first of ``errors[]`` when there is one."""
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict) and first.get("message"):
            return str(first["message"])
    return str(data.get("message") or exc.message or "")


def rate_limit_wait(
    status: int, headers: Mapping[str, str], message: str, now: float
) -> float | None:
    """Seconds to wait before retrying, or None when the answer is not a rate limit."""
    if status not in (403, 429):
        return None
    h = {k.lower(): v for k, v in headers.items()}
    retry_after = h.get("retry-after", "")
    if retry_after.strip().isdigit():
        return float(retry_after)
    reset = h.get("x-ratelimit-reset", "")
    if h.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return max(0.0, int(reset) - now) + 1.0  # the reset's second is not exact
    if status == 429 or "rate limit" in message.lower():
        return SECONDARY_WAIT
    return None


class RateLimited(CloudError):
    """The wait GitHub asks for would exceed the run's budget."""

    def __init__(self, what: str, wait: float, budget: float, now: float) -> None:
        until = datetime.fromtimestamp(now + wait, UTC).strftime("%H:%M:%S UTC")
        super().__init__(
            f"GitHub's rate limit stops {what}: it asks for a wait of {wait:.0f} s (until "
            f"{until}), beyond the rate-limit-wait budget of {budget:.0f} s",
            remedy=f"re-run after {until} (nothing is repeated), or raise rate-limit-wait",
        )


class RateLimitGuard:
    """Runs each SDK call; rate limits are waited out, transient errors of reads retried."""

    def __init__(
        self,
        *,
        cancel: Cancellation,
        max_wait: float,
        log: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cancel = cancel
        self.max_wait = max_wait
        self.log = log
        self.clock = clock
        self.waited = 0.0

    def call(self, what: str, fn: Callable[[], T], *, repeatable: bool) -> T:
        """``fn()``; ``repeatable`` calls (reads, content-addressed writes) also survive a 5xx."""
        transient = 0
        limited = 0
        while True:
            self.cancel.check()
            try:
                return fn()
            except GithubException as exc:
                wait = rate_limit_wait(
                    exc.status, exc.headers or {}, error_message(exc), self.clock()
                )
                if wait is not None:
                    limited += 1
                    if limited > 1 and wait == SECONDARY_WAIT:
                        wait *= 2 ** (limited - 1)
                    self._wait(what, wait, f"rate limited ({exc.status})")
                    continue
                if not (repeatable and exc.status >= 500 and transient < TRANSIENT_RETRIES):
                    raise
            except (RequestsConnectionError, Timeout) as exc:
                if not (repeatable and transient < TRANSIENT_RETRIES):
                    raise CloudError(
                        f"GitHub could not be reached for {what}: {type(exc).__name__}",
                        remedy="check the network and github-api-url, then re-run",
                    ) from None
            transient += 1
            self._wait(what, float(2**transient), "transient error")

    def _wait(self, what: str, seconds: float, why: str) -> None:
        if self.waited + seconds > self.max_wait:
            raise RateLimited(what, seconds, self.max_wait, self.clock())
        self.log(f"GitHub: {why} on {what}; waiting {seconds:.0f} s before retrying")
        if self.cancel.sleep(seconds):
            raise Cancelled(self.cancel.reason)
        self.waited += seconds
