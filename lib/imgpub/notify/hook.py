"""Posting after a stage (``run_stage``) and for a whole release (``imgpub notify``).

Called once the results document is written, so the message tells what the document
says. A notification that cannot be delivered is a warning: it never changes an exit code
and never fails a release. When the run is being cancelled there are seconds left before
the runner kills it, so one short attempt is made instead of three with backoff.
"""

from __future__ import annotations

from collections.abc import Mapping

from imgpub.cancel import Cancellation
from imgpub.gha import Gha
from imgpub.github.run_link import run_url
from imgpub.notify.message import document_text, overall_status, stage_text
from imgpub.notify.poster import Delivery, post_message
from imgpub.notify.settings import NotifySettings, webhook_label
from imgpub.results import ResultsDocument, Section


def payload(settings: NotifySettings, text: str) -> dict[str, str]:
    """``{"text"}`` (both services), plus ``channel`` only when asked for (Mattermost)."""
    body = {"text": text}
    if settings.channel:
        body["channel"] = settings.channel
    return body


def deliver(settings: NotifySettings, text: str, gha: Gha, cancel: Cancellation) -> Delivery:
    cancelled = cancel.is_set
    delivery = post_message(
        settings.webhook,
        payload(settings, text),
        sleep=cancel.sleep,
        attempts=1 if cancelled else 3,
        timeout=3.0 if cancelled else 10.0,
    )
    where = webhook_label(settings.webhook)
    if delivery.delivered:
        gha.info(f"notification posted to {where}")
    else:
        gha.warning(
            f"notification not posted ({delivery.attempts} attempts): {delivery.problem} — "
            "the release is not affected; check the notify-webhook secret",
            title="imgpub notify",
        )
    return delivery


def notify_stage(
    settings: NotifySettings,
    section: Section,
    *,
    env: Mapping[str, str],
    gha: Gha,
    cancel: Cancellation,
    exit_code: int,
) -> Delivery | None:
    """Post one stage's outcome if ``notify-on`` wants it; None when nothing was posted."""
    if not settings.wants(section.status, exit_code):
        return None
    return deliver(settings, stage_text(section, run_url=run_url(env)), gha, cancel)


def notify_document(
    settings: NotifySettings,
    doc: ResultsDocument,
    *,
    env: Mapping[str, str],
    gha: Gha,
    cancel: Cancellation,
) -> Delivery | None:
    """Post a digest of every stage in the document if ``notify-on`` wants it."""
    if not settings.wants(overall_status(doc.stages.values())):
        gha.info("notify-on is failure and nothing failed: no notification")
        return None
    return deliver(settings, document_text(doc, run_url=run_url(env)), gha, cancel)
