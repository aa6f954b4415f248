"""The notification inputs every stage has, validated once and the webhook masked first.

The webhook URL *is* the credential (anyone holding it can post), so it is read as a
secret: masked in full the moment it is read, and its path (the key part) masked too, as
GitHub masks only verbatim values. An empty webhook is not an error: secrets are not given
to workflows started from forks, so a notification quietly does not happen there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlsplit

from imgpub.errors import InputError
from imgpub.inputs import InputReader
from imgpub.loopback import is_loopback_host

NotifyOn = Literal["always", "failure", "never"]
NOTIFY_ON: tuple[NotifyOn, ...] = ("always", "failure", "never")
#: Statuses that count as a failure for ``notify-on: failure``.
FAILURE_STATUSES = frozenset({"failed", "partial"})
_CHANNEL = re.compile(r"^@?[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class NotifySettings:
    """Where and when to post; ``webhook`` is a masked secret, never to be printed."""

    webhook: str
    channel: str
    on: NotifyOn

    def wants(self, status: str, exit_code: int = 0) -> bool:
        """Whether a run that ended with ``status`` (and ``exit_code``) is announced."""
        if self.on == "never":
            return False
        if self.on == "failure":
            return status in FAILURE_STATUSES or exit_code != 0
        return True


def webhook_label(url: str) -> str:
    """What may be shown of a webhook URL: ``https://hooks.slack.com/***``."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/***"


def read_notify_settings(
    reader: InputReader, mask: Callable[[str], None] | None = None
) -> NotifySettings | None:
    """The settings, or None when nothing is to be posted (no webhook, or notify-on never)."""
    on_text = reader.text("notify-on") or "always"
    if on_text not in NOTIFY_ON:
        raise InputError(
            "notify-on",
            f"{on_text!r} is not one of {', '.join(NOTIFY_ON)}",
            "use always, failure (failed or partial runs only) or never",
        )
    channel = reader.text("notify-channel")
    if channel and not _CHANNEL.match(channel):
        raise InputError(
            "notify-channel",
            f"{channel!r} is not a channel name",
            "give the channel's name as in its URL (e.g. releases) or @username",
        )
    webhook = reader.secret("notify-webhook")
    if not webhook:
        return None
    _check_webhook(webhook)
    path = urlsplit(webhook).path.strip("/")
    if mask is not None and len(path) >= 8:
        mask(path)
    if on_text == "never":
        return None
    return NotifySettings(webhook, channel, cast(NotifyOn, on_text))


def _check_webhook(url: str) -> None:
    """https://, or http:// to this machine only (a local receiver); never echo the URL."""
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        scheme, host = "", ""
    local = is_loopback_host(host)
    if (scheme == "https" and host) or (scheme == "http" and local):
        return
    raise InputError(
        "notify-webhook",
        "is not an https:// incoming-webhook URL",
        "copy the hook's URL from Mattermost (Integrations → Incoming Webhooks) or Slack "
        "into a secret and pass that secret",
    )
