"""Waiting out GitHub's rate limits: the wait GitHub asks for, within the run's budget."""

from __future__ import annotations

import pytest
from github.GithubException import GithubException

from imgpub.cancel import Cancellation, Cancelled
from imgpub.errors import CloudError
from imgpub.github.client import WRITE_SPACING, write_spacing
from imgpub.github.errors import describe
from imgpub.github.ratelimit import SECONDARY_WAIT, RateLimited, RateLimitGuard, rate_limit_wait

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("status", "headers", "message", "wait"),
    [
        (403, {"Retry-After": "7"}, "You have exceeded a secondary rate limit", 7.0),
        (429, {"retry-after": "0"}, "", 0.0),
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)},
            "API rate limit exceeded",
            31.0,
        ),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) - 5)}, "", 1.0),
        (403, {}, "You have exceeded a secondary rate limit.", SECONDARY_WAIT),
        (429, {}, "", SECONDARY_WAIT),
        (403, {}, "Resource not accessible by integration", None),
        (404, {"Retry-After": "1"}, "Not Found", None),
        (500, {}, "", None),
    ],
)
def test_rate_limit_wait(status, headers, message, wait):
    assert rate_limit_wait(status, headers, message, NOW) == wait


class Clock:
    def __init__(self):
        self.now = NOW


class SleepLog(Cancellation):
    """A cancellation whose sleeps are recorded, not slept."""

    def __init__(self):
        super().__init__()
        self.slept: list[float] = []

    def sleep(self, seconds):
        self.slept.append(seconds)
        return self.is_set


def failing(*errors, then="ok"):
    left = list(errors)

    def call():
        if left:
            raise left.pop(0)
        return then

    return call


def limited(headers, message="API rate limit exceeded"):
    return GithubException(403, {"message": message}, headers)


def guard(cancel, max_wait=600.0):
    clock = Clock()
    return RateLimitGuard(
        cancel=cancel, max_wait=max_wait, log=lambda _m: None, clock=lambda: clock.now
    )


def test_primary_limit_is_waited_until_reset_then_retried():
    cancel = SleepLog()
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 10)}
    assert guard(cancel).call("read", failing(limited(headers)), repeatable=False) == "ok"
    assert cancel.slept == [11.0]


def test_secondary_limits_back_off_doubling():
    cancel = SleepLog()
    call = failing(limited({}, "secondary rate limit"), limited({}, "secondary rate limit"))
    assert guard(cancel).call("write", call, repeatable=False) == "ok"
    assert cancel.slept == [60.0, 120.0]


def test_a_wait_beyond_the_budget_fails_with_the_reset_time():
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 3600)}
    with pytest.raises(RateLimited) as err:
        guard(SleepLog(), max_wait=900).call("read", failing(limited(headers)), repeatable=True)
    assert "UTC" in err.value.message and "rate-limit-wait" in (err.value.remedy or "")


def test_5xx_is_retried_only_for_repeatable_calls():
    cancel = SleepLog()
    boom = GithubException(502, {"message": "Bad gateway"}, {})
    assert guard(cancel).call("read", failing(boom), repeatable=True) == "ok"
    with pytest.raises(GithubException):
        guard(SleepLog()).call("open the pull request", failing(boom), repeatable=False)


def test_a_cancel_stops_the_wait():
    cancel = SleepLog()
    cancel.cancel("cancelled by SIGTERM")
    with pytest.raises(Cancelled):
        guard(cancel).call("read", failing(), repeatable=True)


def test_other_refusals_pass_through():
    denied = GithubException(403, {"message": "Resource not accessible by integration"}, {})
    with pytest.raises(GithubException):
        guard(SleepLog()).call("write", failing(denied), repeatable=True)


def test_write_spacing_follows_githubs_guidance_except_locally():
    assert write_spacing("https://api.github.com") == WRITE_SPACING
    assert write_spacing("https://ghes.example.com/api/v3") == WRITE_SPACING
    assert write_spacing("http://127.0.0.1:8080") == 0.0
    assert write_spacing("http://localhost:1/api/v3") == 0.0


def test_refusals_name_the_permission_to_grant():
    denied = GithubException(403, {"message": "Resource not accessible by integration"}, {})
    err = describe(denied, what="create a commit", repository="almalinux/wiki")
    assert isinstance(err, CloudError) and err.exit_code == 1
    assert "contents: write and pull-requests: write on almalinux/wiki" in (err.remedy or "")
    missing = describe(
        GithubException(404, {"message": "Not Found"}, {}),
        what="read the repository",
        repository="o/r",
    )
    assert "not found, or the token cannot see it" in missing.message
    bad = describe(
        GithubException(401, {"message": "Bad credentials"}, {}), what="x", repository="o/r"
    )
    assert "rejected the token" in bad.message
