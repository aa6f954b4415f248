"""Blob storage access for azure-gallery: connection string or Entra ID, secrets masked first.

Two ways in, as the AlmaLinux tool and Azure accounts need:

* a connection string (the ``storage-connection-string`` input, else the
  ``AZURE_STORAGE_CONNECTION_STRING`` environment variable) — the only way into Azurite,
  and what accounts without Entra data-plane roles require;
* Entra ID through the same credential chain as Resource Manager (``azure/login`` with
  OIDC), against ``https://<account>.blob.<cloud suffix>``.

Every secret part of a connection string (the whole string, ``AccountKey``,
``SharedAccessSignature``) is handed to the mask callback *before* the SDK sees it, so no
log line or error can show it. Azurite speaks an older service version than the newest
SDK asks for by default, so a local endpoint gets ``api_version`` pinned to one it knows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from azure.storage.blob import BlobServiceClient

from imgpub.azure.clouds import AzureCloud
from imgpub.errors import InputError
from imgpub.redact import without_query
from imgpub.text import first_line

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
SANDBOX_API_VERSION = "2025-11-05"
"""The newest blob service version Azurite 3.35 serves (local-services.md §2)."""
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_SECRET_KEYS = ("accountkey", "sharedaccesssignature")
_URL_CREDENTIALS = ("sig", "x-amz-signature", "x-amz-security-token", "x-amz-credential")
"""Query parameters of SAS and presigned URLs that grant access; masked one by one too."""


@dataclass(frozen=True)
class StorageAccess:
    """A blob service client and where it points; ``endpoint`` has no trailing slash."""

    service: BlobServiceClient
    account: str
    endpoint: str
    auth: Literal["connection-string", "entra-id"]


def parse_connection_string(text: str) -> dict[str, str]:
    """``Key=Value;...`` pairs with lower-cased keys (values may contain ``=``)."""
    pairs: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            continue
        pairs[key.strip().lower()] = value.strip()
    return pairs


def connection_string_secrets(text: str) -> list[str]:
    """The values to mask for a connection string: the string itself and its secret parts.

    A SAS is also masked without its leading ``?`` and per signature, because the SDK and
    services echo it in pieces (``sig=...``) in URLs and errors.
    """
    out = [text]
    for key, value in parse_connection_string(text).items():
        if key in _SECRET_KEYS and value:
            out.append(value)
            if key == "sharedaccesssignature":
                out.extend(v for k, v in parse_qsl(value.lstrip("?")) if k == "sig" and v)
    return out


def url_secrets(url: str) -> list[str]:
    """The query string of a URL (a SAS or a presigned signature) and its credential values."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    if not query:
        return []
    out = [query]
    out.extend(v for k, v in parse_qsl(query) if k.lower() in _URL_CREDENTIALS and v)
    return out


def check_connection_string(text: str, origin: str) -> dict[str, str]:
    """Its pairs, if the string can name a blob endpoint; else an ``InputError`` (no I/O).

    The SDK's own parser fails late and as a bare ``ValueError`` (``BlobEndpoint=http://[::1``
    is "Invalid IPv6 URL"), which would reach the user as a bug report.
    """
    pairs = parse_connection_string(text)
    name = "storage-connection-string"
    where = "the connection string" + ("" if origin == name else f" in {origin}")
    fix = "copy it again from the storage account's Access keys page"
    if pairs.get("usedevelopmentstorage", "").lower() == "true":
        return pairs
    endpoint = pairs.get("blobendpoint", "")
    if endpoint:
        try:
            parts = urlsplit(endpoint)
            host = parts.hostname
        except ValueError as exc:
            raise InputError(name, f"{where} has an invalid BlobEndpoint ({exc})", fix) from None
        if parts.scheme not in ("http", "https") or not host:
            raise InputError(name, f"{where} has a BlobEndpoint that is not an http(s) URL", fix)
    elif not pairs.get("accountname"):
        raise InputError(name, f"{where} names neither AccountName nor BlobEndpoint", fix)
    if not any(pairs.get(k) for k in _SECRET_KEYS):
        raise InputError(name, f"{where} has neither AccountKey nor SharedAccessSignature", fix)
    return pairs


def planned_blob_endpoint(connection_string: str | None, cloud: AzureCloud, account: str) -> str:
    """The blob endpoint a connection string or an account name gives, without a client."""
    if connection_string:
        pairs = parse_connection_string(connection_string)
        endpoint = _blob_endpoint(pairs)
        if endpoint:
            return without_query(endpoint).rstrip("/")
        account = pairs.get("accountname", account)
    return cloud.blob_endpoint(account)


def _blob_endpoint(pairs: Mapping[str, str]) -> str:
    """The BlobEndpoint a connection string names ('' when it names only the account)."""
    endpoint = pairs.get("blobendpoint", "")
    if pairs.get("usedevelopmentstorage", "").lower() == "true":
        endpoint = endpoint or "http://127.0.0.1:10000/devstoreaccount1"
    return endpoint


def account_of(url: str, cloud: AzureCloud) -> str | None:
    """The storage account of a blob URL (host label, or the first path part on Azurite)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.endswith(f".blob.{cloud.storage_suffix}"):
        return host.split(".", 1)[0]
    segments = [p for p in parts.path.split("/") if p]
    if host in _LOOPBACK and segments:
        return segments[0]
    return None


def is_local_endpoint(url: str) -> bool:
    """Whether a blob endpoint is a local emulator (plain http on loopback)."""
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK


def resolve_connection_string(
    given: str, env: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """The connection string and where it came from (input or environment), or None."""
    if given:
        return given, "storage-connection-string"
    environ = os.environ if env is None else env
    value = environ.get(CONNECTION_STRING_ENV, "").strip()
    return (value, CONNECTION_STRING_ENV) if value else None


def storage_access(
    *,
    connection_string: str | None,
    origin: str,
    account: str,
    cloud: AzureCloud,
    credential: Callable[[], Any],
    mask: Callable[[str], None],
    sandbox: bool = False,
) -> StorageAccess:
    """Build the blob service client; ``credential`` is called only for Entra ID.

    A connection string wins over Entra ID. Its account must match an explicitly given
    ``storage-account`` (the caller passes ``account=""`` when none was given).
    """
    if connection_string:
        for secret in connection_string_secrets(connection_string):
            mask(secret)
        endpoint = _blob_endpoint(parse_connection_string(connection_string))
        local = is_local_endpoint(endpoint) if endpoint else False
        kwargs: dict[str, Any] = {}
        if local or sandbox:
            kwargs["api_version"] = SANDBOX_API_VERSION
        try:
            service = BlobServiceClient.from_connection_string(connection_string, **kwargs)
        except (ValueError, TypeError) as exc:
            problem = first_line(exc)
            # The SDK's messages never quote the string itself, and it is masked anyway.
            raise InputError(
                origin if origin != CONNECTION_STRING_ENV else "storage-connection-string",
                f"the connection string ({origin}) is not usable: {problem}",
                "copy it again from the storage account's Access keys page",
            ) from None
        name = str(service.account_name or "")
        if account and name and account.lower() != name.lower():
            raise InputError(
                "storage-account",
                f"{account!r} differs from the connection string's account {name!r}",
                "leave storage-account empty or give the matching connection string",
            )
        url = without_query(service.url).rstrip("/")
        return StorageAccess(service, name or account, url, "connection-string")
    endpoint = cloud.blob_endpoint(account)
    service = BlobServiceClient(endpoint, credential=credential())
    return StorageAccess(service, account, endpoint, "entra-id")
