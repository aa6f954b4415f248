"""Keep credentials out of what imgpub writes down: logs, outputs and the results document.

Secrets reach imgpub in two ways: as inputs declared secret (masked the moment they are
read) and inside ordinary values — a SAS token in a blob URL, a presigned S3 URL, a user
and password in a registry URL. The first kind is scrubbed from anything saved by
:func:`scrub`; the second is removed by :func:`redact_urls` before a value is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
_CREDENTIAL_PARAM = re.compile(
    r"(?i)^(sig|x-amz-(signature|security-token|credential)|.*(token|secret|password|key))$"
)
_SECRET_PAIRS = re.compile(
    r"(?i)\b(AccountKey|SharedAccessSignature|SharedAccessKey|sig|password|token)=([^;&\s]+)"
)


def without_query(url: str) -> str:
    """A URL without its query string, fragment and user-info: safe for logs and outputs."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def redact_urls(text: str, *, keep_query: bool = False) -> str:
    """Every URL in ``text`` without user-info and query; ``key=secret`` pairs blanked.

    A recorded input keeps what identifies the resource (scheme, host, path) and loses
    what grants access to it. With ``keep_query`` only the query parameters that carry
    credentials (``sig``, ``X-Amz-Signature``, ``token``, …) are blanked: that is applied
    to the whole results document as it is saved, whatever a stage put in it.
    """

    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        try:
            parts = urlsplit(url)
        except ValueError:  # not a parseable URL after all: drop it whole
            return REDACTED
        clean = without_query(url)
        if not parts.query:
            return clean
        if not keep_query:
            return f"{clean}?{REDACTED}"
        pairs = [
            (k, REDACTED if _CREDENTIAL_PARAM.search(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return f"{clean}?{urlencode(pairs, safe='*')}"

    return _SECRET_PAIRS.sub(lambda m: f"{m.group(1)}={REDACTED}", _URL.sub(one, text))


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (JSON-like) with every secret replaced by ``***`` and URL credentials blanked."""
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            for secret in ordered:
                if secret in item:
                    item = item.replace(secret, REDACTED)
            return redact_urls(item, keep_query=True) if "://" in item else item
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        return item

    return walk(value)
