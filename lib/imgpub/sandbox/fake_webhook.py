"""A local incoming-webhook receiver that answers like Mattermost (and Slack) do.

Notifications are posted to an incoming-webhook URL; the URL is the credential and the
answers are the contract (cloud-apis.md §13): Mattermost takes ``POST /hooks/<key>`` with
JSON (or a form field ``payload=<json>``), answers 200 ``ok`` as text, 400 for an unknown
key or a message without text, 403 for a channel the hook is locked away from and 404
for a channel it cannot find, and splits a text over 16,383 characters into several
posts. Slack takes ``POST /services/<T>/<B>/<secret>``, ignores ``channel`` (app hooks
post where they were installed) and answers plain-text codes (``no_service``,
``no_text``). Every accepted post is kept (``messages``) so tests read what people would
have seen; the base's faults give 429s and 5xx on demand.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Response

from imgpub.sandbox.fake_server import (
    FakeError,
    FakeRequest,
    FakeServer,
    json_response,
    route,
    serve,
    verb,
)

#: Mattermost splits a longer post into several (server 5.0 and later).
MATTERMOST_POST_LIMIT = 16_383


@dataclass
class _Hook:
    channel: str
    locked: bool
    kind: str  # "mattermost" or "slack"


@dataclass
class _Post:
    key: str
    channel: str
    text: str
    username: str | None
    payload: dict[str, Any] = field(default_factory=dict)


class MattermostError(FakeError):
    """Mattermost's error document: an ``id`` like web.incoming_webhook.invalid.app_error."""


class FakeWebhook(FakeServer):
    """Incoming webhooks: ``add_hook(key)``, then post to ``url + "/hooks/" + key``."""

    def reset_state(self) -> None:
        self.hooks: dict[str, _Hook] = {}
        self.channels: set[str] = {"town-square"}
        self.posts: list[_Post] = []

    def error_response(self, error: FakeError) -> Response:
        body = {
            "id": error.code or "api.context.unknown.app_error",
            "message": error.message,
            "detailed_error": "",
            "request_id": uuid.uuid4().hex[:26],
            "status_code": error.status,
        }
        return json_response(body, error.status, error.headers)

    # -- seeding and inspection ------------------------------------------------------------

    @verb
    def add_hook(
        self, key: str, channel: str = "town-square", locked: bool = False, kind: str = "mattermost"
    ) -> str:
        """A hook posting to ``channel``; returns its path (``/hooks/<key>`` or ``/services/…``)."""
        if kind not in ("mattermost", "slack"):
            raise ValueError(f"hook kind {kind!r}: use mattermost or slack")
        self.hooks[key] = _Hook(channel, locked, kind)
        self.channels.add(channel)
        return f"/hooks/{key}" if kind == "mattermost" else f"/services/{key}"

    @verb
    def add_channel(self, name: str) -> None:
        self.channels.add(name)

    @verb
    def messages(self, key: str | None = None) -> list[dict[str, Any]]:
        """Every accepted post (of one hook), oldest first."""
        return [
            {
                "key": p.key,
                "channel": p.channel,
                "text": p.text,
                "username": p.username,
                "payload": p.payload,
            }
            for p in self.posts
            if key is None or p.key == key
        ]

    # -- Mattermost --------------------------------------------------------------------------

    @route("POST", "/hooks/<key>", "MattermostIncomingWebhook")
    def mattermost(self, request: FakeRequest, key: str) -> Response:
        hook = self.hooks.get(key)
        if hook is None or hook.kind != "mattermost":
            raise MattermostError(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook")
        payload = _payload(request)
        if payload is None:
            raise MattermostError(
                400, "api.webhook.incoming.parse.app_error", "Unable to parse incoming data"
            )
        text = payload.get("text")
        if not text and not payload.get("attachments"):
            raise MattermostError(400, "web.incoming_webhook.text.app_error", "No text specified")
        channel = str(payload.get("channel") or hook.channel)
        if hook.locked and channel != hook.channel:
            raise MattermostError(
                403,
                "web.incoming_webhook.channel_locked.app_error",
                "This webhook is not permitted to post to the requested channel",
            )
        if not channel.startswith("@") and channel not in self.channels:  # @user: a DM
            raise MattermostError(
                404, "web.incoming_webhook.channel.app_error", "Couldn't find the channel"
            )
        text = str(text or "")
        for start in range(0, max(len(text), 1), MATTERMOST_POST_LIMIT):
            self.posts.append(
                _Post(
                    key,
                    channel,
                    text[start : start + MATTERMOST_POST_LIMIT],
                    payload.get("username"),
                    payload,
                )
            )
        return Response("ok", status=200, mimetype="text/plain")

    # -- Slack -------------------------------------------------------------------------------

    @route("POST", "/services/<path:key>", "SlackIncomingWebhook")
    def slack(self, request: FakeRequest, key: str) -> Response:
        hook = self.hooks.get(key)
        if hook is None or hook.kind != "slack":
            return Response("no_service", status=404, mimetype="text/plain")
        payload = _payload(request)
        if payload is None:
            return Response("invalid_payload", status=400, mimetype="text/plain")
        if not payload.get("text") and not payload.get("blocks"):
            return Response("no_text", status=400, mimetype="text/plain")
        # App-created hooks post to their own channel whatever the payload says.
        self.posts.append(_Post(key, hook.channel, str(payload.get("text", "")), None, payload))
        return Response("ok", status=200, mimetype="text/plain")


def _payload(request: FakeRequest) -> dict[str, Any] | None:
    """The JSON body, or the ``payload=`` form field Slack-style clients send."""
    if isinstance(request.body, dict):
        return request.body
    if not request.data:
        return None
    form = parse_qs(request.data.decode("utf-8", "replace"))
    raw = form.get("payload", [None])[0]
    try:
        parsed = json.loads(raw) if raw else json.loads(request.data)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


if __name__ == "__main__":
    raise SystemExit(serve(FakeWebhook))
