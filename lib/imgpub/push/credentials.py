"""Per-account credentials: ``{"marketplace_account": ALIAS, "auth": {...}}`` documents.

``credentials`` is a comma-separated list; each part is the path of a JSON file or the
document itself in base64 (the seed's two forms). Every value that could identify or
unlock an account is masked (``gha.mask``) the moment the document is decoded, before
any other use, so no log line, summary, output or results document can show it; region
names and sharing groups (``all``) are not secret and stay readable (masking
``us-east-1`` would blank every region in the log and make the runner drop outputs).

AWS keys (the seed's): ``AWS_IMAGE_ACCESS_ID`` / ``AWS_IMAGE_SECRET_ACCESS`` (uploads and
AMIs), ``AWS_MARKETPLACE_ACCESS_ID`` / ``AWS_MARKETPLACE_SECRET_ACCESS`` (change sets),
``AWS_ACCESS_ROLE_ARN`` (the role AWS Marketplace assumes), ``AWS_GROUPS``,
``AWS_SNAPSHOT_ACCOUNTS``, ``AWS_REGION``, ``AWS_S3_BUCKET``; and imgpub's own
``AWS_ROLE_ARN``: a role assumed with the runner's OIDC token (web identity) instead of
static keys. Azure keys: ``AZURE_TENANT_ID``, ``AZURE_CLIENT_ID``, ``AZURE_API_SECRET``,
``AZURE_STORAGE_CONNECTION_STRING`` and ``AZURE_SUBSCRIPTION_ID``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imgpub.errors import InputError
from imgpub.push.model import Credentials

INPUT = "credentials"
AWS_KEYS = (
    "AWS_IMAGE_ACCESS_ID",
    "AWS_IMAGE_SECRET_ACCESS",
    "AWS_MARKETPLACE_ACCESS_ID",
    "AWS_MARKETPLACE_SECRET_ACCESS",
    "AWS_ACCESS_ROLE_ARN",
    "AWS_GROUPS",
    "AWS_SNAPSHOT_ACCOUNTS",
    "AWS_REGION",
    "AWS_S3_BUCKET",
    "AWS_ROLE_ARN",
)
AZURE_KEYS = (
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_API_SECRET",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_SUBSCRIPTION_ID",
)
#: Not secret, and masking them would blank region names and "all" everywhere.
READABLE = frozenset({"AWS_REGION", "AWS_GROUPS"})
_PAIRS = (
    ("AWS_IMAGE_ACCESS_ID", "AWS_IMAGE_SECRET_ACCESS"),
    ("AWS_MARKETPLACE_ACCESS_ID", "AWS_MARKETPLACE_SECRET_ACCESS"),
)


def read_credentials(text: str, mask: Callable[[str], None]) -> dict[str, Credentials]:
    """Alias → credentials; every secret value masked before anything else reads it."""
    out: dict[str, Credentials] = {}
    for index, part in enumerate(p.strip() for p in text.split(",")):
        if not part:
            continue
        where = f"credentials[{index}]"
        doc = _decode(part, where, mask)
        creds = _parse(doc, where, mask)
        if creds.alias in out:
            raise InputError(
                INPUT, f"{where}: account {creds.alias!r} is given twice", "give each once"
            )
        out[creds.alias] = creds
    return out


def _decode(part: str, where: str, mask: Callable[[str], None]) -> Any:
    path = Path(part)
    if _is_file(path):
        try:
            raw = path.read_text("utf-8")
        except OSError as exc:
            raise InputError(INPUT, f"{where}: cannot read {part}: {exc.strerror}", "fix") from None
        mask(raw)
        origin = f"file {part}"
    else:
        mask(part)  # a base64 blob is itself the secret
        try:
            raw = base64.b64decode(part, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InputError(
                INPUT,
                f"{where} is neither a readable file nor base64",
                "give a JSON file path or base64 of the JSON document",
            ) from None
        origin = "base64 document"
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(
            INPUT, f"{where} ({origin}) is not JSON: line {exc.lineno} column {exc.colno}", "fix it"
        ) from None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a base64 blob longer than a file name can be
        return False


def _secret_strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [s for v in value for s in _secret_strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _secret_strings(v)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


def _parse(doc: Any, where: str, mask: Callable[[str], None]) -> Credentials:
    if not isinstance(doc, dict):
        raise InputError(
            INPUT, f"{where} $: must be an object", 'give {"marketplace_account", "auth"}'
        )
    auth = doc.get("auth")
    if isinstance(auth, dict):
        for key, value in auth.items():
            if key not in READABLE:
                for text in _secret_strings(value):
                    mask(text)
    alias = doc.get("marketplace_account")
    if not isinstance(alias, str) or not alias:
        raise InputError(INPUT, f"{where} $.marketplace_account: missing", "name the account alias")
    if not isinstance(auth, dict):
        raise InputError(INPUT, f"{where} $.auth: must be an object", "give the account's keys")
    known = (*AWS_KEYS, *AZURE_KEYS)
    for key, value in auth.items():
        if key not in known:
            raise InputError(
                INPUT,
                f"{where} $.auth.{key}: unknown key (account {alias})",
                "use the keys listed in the README's imgpub push section",
            )
        if key in ("AWS_GROUPS", "AWS_SNAPSHOT_ACCOUNTS"):
            if not isinstance(value, list | str):
                raise InputError(INPUT, f"{where} $.auth.{key}: must be a list", "give a list")
        elif not isinstance(value, str):
            raise InputError(INPUT, f"{where} $.auth.{key}: must be a string", "quote it")
    for first, second in _PAIRS:
        if (first in auth) != (second in auth):
            missing = second if first in auth else first
            raise InputError(
                INPUT, f"{where} $.auth.{missing}: missing (account {alias})", "give both keys"
            )
    return Credentials(alias, dict(auth))


def check_usable(creds: Credentials, cloud: str) -> None:
    """The account can act in ``cloud``: keys or a role for AWS, a secret or storage for Azure."""
    where = f"credentials for {creds.alias}"
    if cloud == "aws":
        if not (creds.text("AWS_IMAGE_ACCESS_ID") or creds.text("AWS_ROLE_ARN")):
            raise InputError(
                INPUT,
                f"{where} $.auth: neither AWS_IMAGE_ACCESS_ID nor AWS_ROLE_ARN",
                "give the image keys, or AWS_ROLE_ARN to assume with the runner's OIDC token",
            )
    elif not (creds.text("AZURE_STORAGE_CONNECTION_STRING") or creds.text("AZURE_API_SECRET")):
        raise InputError(
            INPUT,
            f"{where} $.auth: no AZURE_STORAGE_CONNECTION_STRING or AZURE_API_SECRET",
            "give the Azure keys of that account",
        )
