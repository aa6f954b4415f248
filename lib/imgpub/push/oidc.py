"""An AWS account given as ``AWS_ROLE_ARN``: assumed with the job's OIDC token.

No static key is needed: the runner issues an OIDC token (``permissions: id-token:
write``), imgpub writes it to a private file and points botocore's web-identity provider
at it (``AWS_ROLE_ARN`` + ``AWS_WEB_IDENTITY_TOKEN_FILE``), which calls
AssumeRoleWithWebIdentity and refreshes from the file. Outside Actions an existing
``AWS_WEB_IDENTITY_TOKEN_FILE`` is used.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from imgpub.errors import CloudError, InputError

AUDIENCE = "sts.amazonaws.com"


def check_oidc_available(env: Mapping[str, str], alias: str) -> None:
    """Read-only: the job can get a token (exit 2 before any change if not)."""
    if env.get("ACTIONS_ID_TOKEN_REQUEST_URL") and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        return
    if (
        env.get("AWS_WEB_IDENTITY_TOKEN_FILE")
        and Path(env["AWS_WEB_IDENTITY_TOKEN_FILE"]).is_file()
    ):
        return
    raise InputError(
        "credentials",
        f"account {alias} gives AWS_ROLE_ARN but this job has no OIDC token",
        "add 'permissions: id-token: write' to the job (or set AWS_WEB_IDENTITY_TOKEN_FILE)",
    )


def token_file(env: Mapping[str, str], mask: Callable[[str], None], folder: Path) -> str:
    """A file holding a fresh token (masked), readable by this user only."""
    url = env.get("ACTIONS_ID_TOKEN_REQUEST_URL", "")
    bearer = env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
    if not (url and bearer):
        return env["AWS_WEB_IDENTITY_TOKEN_FILE"]
    sep = "&" if "?" in url else "?"
    request = urllib.request.Request(  # noqa: S310 - the runner's https token URL
        f"{url}{sep}{urllib.parse.urlencode({'audience': AUDIENCE})}",
        headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            token = str(json.loads(response.read().decode("utf-8"))["value"])
    except (OSError, ValueError, KeyError) as exc:
        raise CloudError(
            f"could not get the job's OIDC token: {type(exc).__name__}",
            remedy="check 'permissions: id-token: write' and re-run",
        ) from None
    mask(token)
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="oidc-", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token)
    return name
