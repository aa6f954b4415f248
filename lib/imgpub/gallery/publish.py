"""Apply the plan: write the blob, create the missing definitions, then the versions.

Each step turns into outcomes, never into an exception that would lose what was done: a
failed upload fails the blob target (kept for resume, or deleted when the source is
corrupt) and leaves the versions unpublished; a failed definition skips its versions; each
version is one key of a fan-out, so one failure is that version's and the others finish.
A cancel stops new work; what was in flight gets the grace, and what did not finish is
recorded ``cancelled`` (a version Azure goes on creating is waited for by the next run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from azure.core.exceptions import AzureError

from imgpub.azure import remedies
from imgpub.azure.gallery import GalleryAdapter, VersionSource, VersionState, VersionTarget
from imgpub.azure.page_writer import ProgressCallback
from imgpub.azure.pageblob import Outcome, UploadAbandoned, ensure_container, upload_page_blob
from imgpub.azure.session import AzureSession
from imgpub.cancel import NEVER, Cancellation, Cancelled
from imgpub.diskimage.streams import DiskSource
from imgpub.errors import ImgpubError
from imgpub.fanout import Failed, NotDone, fan_out
from imgpub.gallery.plan import (
    BlobAction,
    BlobPlan,
    DefinitionAction,
    DefinitionPlan,
    GalleryPlan,
    VersionAction,
    VersionPlan,
    classify,
)
from imgpub.gallery.result import BlobOutcome, DefinitionOutcome, GalleryResult, VersionOutcome
from imgpub.results import TargetState
from imgpub.text import first_line

VERSION_WORKERS = 8
"""Versions created at once (each is a long-running operation that mostly waits)."""
RERUN = remedies.RERUN


def apply_plan(
    plan: GalleryPlan,
    source: DiskSource | None,
    session: AzureSession,
    *,
    cancel: Cancellation,
    log: Callable[[str], None],
    section: Callable[[str], AbstractContextManager[None]] = lambda _title: nullcontext(),
    progress: ProgressCallback | None = None,
) -> GalleryResult:
    """Everything the plan says, in order; the outcome of every target, never a raise.

    ``section(title)`` marks the upload and the publish in the log (``Gha.group``).
    """
    started = time.monotonic()
    blob = None
    if plan.blob is not None:
        with section(f"Upload {source.name if source else plan.blob.name}"):
            blob = upload(plan.blob, source, session, cancel=cancel, log=log, progress=progress)
    definitions: tuple[DefinitionOutcome, ...] = ()
    if not plan.publishes:
        versions = tuple(VersionOutcome(v.target, "planned") for v in plan.versions)
    elif blob is not None and not blob.ready:
        versions = _not_published(plan, blob)
    else:
        with section("Publish image versions"):
            definitions, versions = publish_gallery(plan, session.gallery, cancel=cancel)
    return GalleryResult(plan, blob, definitions, versions, time.monotonic() - started)


def upload(
    blob: BlobPlan,
    source: DiskSource | None,
    session: AzureSession,
    *,
    cancel: Cancellation = NEVER,
    log: Callable[[str], None],
    progress: ProgressCallback | None = None,
) -> BlobOutcome:
    """Write (or resume, or reuse) the blob; every failure is the blob target's outcome."""
    if blob.action is BlobAction.REUSE:
        log(f"blob {blob.url}: already complete from this source: reused, nothing sent")
        return BlobOutcome(blob, "existed", blob.url)
    assert source is not None
    where = f"{blob.container}/{blob.name}"
    try:
        storage = session.storage
        container = ensure_container(storage.service, blob.container)
        result = upload_page_blob(container, blob.name, source, progress=progress, cancel=cancel)
    except UploadAbandoned as exc:
        log(f"blob {where}: {exc.message}")
        return BlobOutcome(
            blob, "failed", blob.url, error=exc.message, remedy=exc.remedy, deleted=exc.deleted
        )
    except (AzureError, ImgpubError, OSError) as exc:  # the service, the source, the disk
        message = exc.message if isinstance(exc, ImgpubError) else first_line(exc)
        return BlobOutcome(
            blob,
            "failed",
            blob.url,
            error=f"uploading {where} to {blob.account} failed: {message}",
            remedy=remedies.storage_error(),
            resumable=True,
        )
    if result.outcome is Outcome.CONFLICT:
        return BlobOutcome(
            blob,
            "failed",
            result.blob_url,
            upload=result,
            error=f"blob {where} was made from another source after the plan was made",
            remedy=f"{RERUN} (it then uses the next index)",
        )
    if result.outcome is Outcome.INTERRUPTED:
        log(f"blob {result.blob_url}: stopped ({cancel.reason}); kept for the next run")
        return BlobOutcome(
            blob,
            "cancelled",
            result.blob_url,
            upload=result,
            error=f"the upload was {cancel.reason or 'stopped'} part-way",
            remedy="re-run: the upload resumes and sends only the missing pages",
            resumable=True,
        )
    words = {
        Outcome.CREATED: "uploaded",
        Outcome.RESUMED: "resumed and completed",
        Outcome.EXISTED: "already complete from this source: reused, nothing sent",
    }[result.outcome]
    log(f"blob {result.blob_url}: {words}")
    state: TargetState = "existed" if result.outcome is Outcome.EXISTED else "created"
    return BlobOutcome(blob, state, result.blob_url, upload=result)


def _not_published(plan: GalleryPlan, blob: BlobOutcome) -> tuple[VersionOutcome, ...]:
    """The blob is not complete: no version is made from it (recorded, not attempted)."""
    if blob.state == "cancelled":
        return tuple(
            VersionOutcome(v.target, "cancelled", error="not started: the run was cancelled",
                           remedy=RERUN)
            for v in plan.versions
        )  # fmt: skip
    return tuple(
        VersionOutcome(
            v.target,
            "skipped",
            error="not published: the blob upload failed",
            remedy="fix the upload (see the page-blob target), then re-run",
        )
        for v in plan.versions
    )


def publish_gallery(
    plan: GalleryPlan,
    adapter: GalleryAdapter,
    *,
    cancel: Cancellation = NEVER,
    workers: int = VERSION_WORKERS,
) -> tuple[tuple[DefinitionOutcome, ...], tuple[VersionOutcome, ...]]:
    """Create the planned definitions, then the versions, each set in parallel."""
    assert plan.location is not None, "a plan that publishes has the gallery's location"
    location = plan.location
    creates = [d for d in plan.definitions if d.action is DefinitionAction.CREATE]
    made = fan_out(
        creates,
        lambda d: adapter.create_definition(d.target, location),
        max_workers=workers,
        cancel=cancel,
        thread_name="imgpub-definition",
    )
    definitions = []
    broken: dict[str, DefinitionOutcome] = {}
    for d in plan.definitions:
        if d.action is not DefinitionAction.CREATE:
            definitions.append(DefinitionOutcome(d, "existed"))
            continue
        outcome = made.outcomes[d]
        if isinstance(outcome, Failed | NotDone):
            broken[d.target.definition.name.lower()] = _failed_definition(d, outcome)
            definitions.append(broken[d.target.definition.name.lower()])
        else:
            definitions.append(DefinitionOutcome(d, "created"))

    def work(v: VersionPlan) -> VersionOutcome:
        return _make_version(v, plan.source, location, adapter, cancel)

    todo = [
        v
        for v in plan.versions
        if v.action in (VersionAction.CREATE, VersionAction.WAIT)
        and v.target.definition.name.lower() not in broken
    ]
    done = fan_out(todo, work, max_workers=workers, cancel=cancel, thread_name="imgpub-version")
    versions = []
    for v in plan.versions:
        if v in done.outcomes:
            versions.append(_version_outcome(v, done.outcomes[v]))
        elif v.target.definition.name.lower() in broken:
            cancelled = broken[v.target.definition.name.lower()].state == "cancelled"
            versions.append(
                VersionOutcome(
                    v.target,
                    "cancelled" if cancelled else "skipped",
                    error=f"not created: image definition {v.target.definition.name} is missing",
                    remedy=RERUN if cancelled else "see the image definition's error, then re-run",
                )
            )
        else:
            versions.append(_known(v))
    return tuple(definitions), tuple(versions)


def _failed_definition(d: DefinitionPlan, outcome: Failed | NotDone) -> DefinitionOutcome:
    if isinstance(outcome, NotDone):
        return DefinitionOutcome(d, "cancelled", error=outcome.reason, remedy=RERUN)
    error = outcome.error
    remedy = error.remedy if isinstance(error, ImgpubError) else remedies.arm_error(None)
    return DefinitionOutcome(d, "failed", error=outcome.message, remedy=remedy)


def _known(v: VersionPlan) -> VersionOutcome:
    """A version the plan already settled: it exists from this blob, or it is refused."""
    state = v.state
    if v.action is VersionAction.EXISTS and state is not None:
        return VersionOutcome(v.target, "existed", state.id, state.regions)
    return VersionOutcome(
        v.target,
        "failed",
        state.id if state else None,
        state.regions if state else (),
        error=v.error,
        remedy=v.remedy,
    )


def _make_version(
    v: VersionPlan,
    source: VersionSource,
    location: str,
    adapter: GalleryAdapter,
    cancel: Cancellation,
) -> VersionOutcome:
    """Wait for a version another run is making, or create it; then say what it is."""
    t = v.target
    try:
        state = None
        if v.action is VersionAction.WAIT:
            adapter.log(f"{t.path} is being created by another run; waiting for it")
            state = adapter.wait_version(t, cancel=cancel)
        made = state is None
        if state is None:
            state = adapter.create_version(t, source, location, cancel=cancel)
    except Cancelled as exc:
        return VersionOutcome(
            t,
            "cancelled",
            error=f"{exc or 'cancelled'} while Azure was creating it",
            remedy="re-run: imgpub waits for the version Azure is still creating",
        )
    except ImgpubError as exc:
        return VersionOutcome(t, "failed", error=exc.message, remedy=exc.remedy)
    return _created(t, state, source, created=made)


def _created(
    t: VersionTarget, state: VersionState, source: VersionSource, *, created: bool
) -> VersionOutcome:
    if state.provisioning_state in ("Succeeded", "Unknown") and created:
        return VersionOutcome(t, "created", state.id, state.regions)
    action, error, remedy = classify(t, state, source)
    if action is VersionAction.EXISTS:
        return VersionOutcome(t, "existed", state.id, state.regions)
    if action is VersionAction.WAIT:
        error, remedy = (
            f"image version {t.path} is {state.provisioning_state}",
            remedies.in_progress(),
        )
    return VersionOutcome(t, "failed", state.id, state.regions, error=error, remedy=remedy)


def _version_outcome(v: VersionPlan, outcome: VersionOutcome | Failed | NotDone) -> VersionOutcome:
    if isinstance(outcome, VersionOutcome):
        return outcome
    if isinstance(outcome, NotDone):
        return VersionOutcome(v.target, "cancelled", error=outcome.reason, remedy=RERUN)
    return VersionOutcome(
        v.target, "failed", error=outcome.message, remedy=remedies.arm_error(None)
    )
