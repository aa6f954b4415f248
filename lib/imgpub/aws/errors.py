"""What AWS errors mean for the user: one line to record, and the next step to take.

Every AWS stage records a failed target with the error as EC2 or SSM said it (``Code:
message``, one line) and a remedy. The remedy depends on the error code, not on the stage:
an ``UnauthorizedOperation`` asks for a permission whether a copy, a share or a build hit
it, so the mapping lives here for mirror-ami, build-ami and marketplace-changeset alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from imgpub.errors import CloudError, ConfigError, InputError
from imgpub.text import first_line

RERUN = "re-run the same command: imgpub finds what exists and finishes only what is missing"

_ACCESS_CODES = ("UnauthorizedOperation", "AccessDenied", "AuthFailure")
_QUOTA_CODES = ("ResourceLimitExceeded", "AMIQuota")


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError (``InvalidAMIID.Unavailable``), else empty."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def error_text(exc: BaseException) -> str:
    """One line for results and logs: ``Code: message`` for AWS errors."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return first_line(f"{err.get('Code', 'Error')}: {err.get('Message', '')}")
    return f"{type(exc).__name__}: {first_line(exc)}"


def remedy_for(
    error: str,
    *,
    permissions: Sequence[str] = ("ec2:CopyImage", "ec2:ModifyImageAttribute"),
    or_else: str = "or exclude the region",
) -> str:
    """A next step for a failed target, from the AWS error code in its recorded message.

    ``permissions`` are the IAM actions the stage needs where access was denied, and
    ``or_else`` the way around it (mirror-ami can leave a region out; build-ami cannot).
    """
    if any(code in error for code in _ACCESS_CODES):
        grant = f"grant the role {'/'.join(permissions)} there"
        return f"{grant}, {or_else}" if or_else else grant
    if "deadline" in error or "timed out" in error.lower():
        return "raise the timeout input, then " + RERUN
    if any(code in error for code in _QUOTA_CODES):
        return "ask AWS for a higher AMI quota in that region, then " + RERUN
    return RERUN


@contextmanager
def sdk_setup_errors(region_input: str) -> Iterator[None]:
    """botocore's setup errors (no credentials, no region, no endpoint) as imgpub errors.

    They come from the environment, not from one target, so they stop the stage with the
    fix: missing credentials or region are exit 2 while nothing has changed.
    """
    try:
        yield
    except NoCredentialsError:
        raise ConfigError(
            "no AWS credentials found",
            remedy="use aws-actions/configure-aws-credentials with role-to-assume (OIDC), "
            "or set AWS_PROFILE / AWS_ACCESS_KEY_ID locally",
        ) from None
    except NoRegionError:
        raise InputError(region_input, "no region given", f"set {region_input}") from None
    except BotoCoreError as exc:  # endpoint unreachable, bad credentials file, ...
        raise CloudError(
            first_line(exc), remedy="check the network and AWS configuration"
        ) from None
