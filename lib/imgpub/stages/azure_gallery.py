"""azure-gallery: stream a disk image into a page blob and publish it as gallery image versions.

The stage is glue over :mod:`imgpub.gallery`, in the flow every stage shares:

* ``read`` validates every input (names by Azure's rules, URLs, regions, dates, the int32
  parts of the version) — a typo costs one line and exit 2;
* ``prepare`` opens and checks the image, then discovers read-only which blob index to
  use and what the gallery holds, and returns the plan: the whole answer of a dry run (the
  default, as in the AlmaLinux tool), "not checked against Azure" when Azure cannot be
  reached. A missing or mismatched definition stops a real run here, before any change;
* ``apply`` uploads the blob (deterministic name; a blob of another source is never
  overwritten) and publishes every version in parallel, and returns what happened to each.
"""

from __future__ import annotations

from imgpub.azure.session import AzureSession
from imgpub.flow import StageContext
from imgpub.gallery.discover import discover
from imgpub.gallery.inputs import GalleryInputs, read_inputs
from imgpub.gallery.progress import UploadReporter
from imgpub.gallery.publish import apply_plan
from imgpub.gallery.report import PlannedRelease, ReleaseResult
from imgpub.gallery.spec import GALLERY_INPUTS, GALLERY_OUTPUTS
from imgpub.stages import STAGES

NAME = "azure-gallery"
HELP = STAGES[NAME].help
INPUTS = GALLERY_INPUTS
OUTPUTS = GALLERY_OUTPUTS


def read(ctx: StageContext) -> GalleryInputs:
    """Every input validated; secrets in URLs and connection strings masked first."""
    return read_inputs(ctx.inputs, ctx.env, ctx.gha.mask)


def prepare(inputs: GalleryInputs, ctx: StageContext) -> PlannedRelease:
    """The image checked, the blob index and the gallery discovered, the plan decided.

    The session built here (one credential, one subscription, one client each) travels
    with the plan to apply.
    """
    session = AzureSession(
        inputs.cloud,
        ctx.env,
        subscription=inputs.subscription,
        storage=inputs.storage,
        mask=ctx.gha.mask,
        log=ctx.gha.info,
    )
    found = discover(
        inputs,
        session,
        dry_run=ctx.dry_run,
        log=ctx.gha.info,
        warn=ctx.gha.warning,
        s3_client=lambda: _s3_client(ctx),
    )
    return PlannedRelease.of(found.plan, found.source, session)


def apply(planned: PlannedRelease, ctx: StageContext) -> ReleaseResult:
    """Upload, then publish; every target's outcome comes back, nothing is raised."""
    source, session = planned.source, planned.session
    assert session is not None, "prepare builds the session"
    reporter = UploadReporter(ctx.gha, source.name) if source is not None else None
    result = apply_plan(
        planned.plan,
        source,
        session,
        cancel=ctx.cancel,
        log=ctx.gha.info,
        section=ctx.gha.group,
        progress=reporter,
    )
    return ReleaseResult.of(result, ctx.cancel.reason if ctx.cancel.is_set else "")


def _s3_client(ctx: StageContext) -> object:
    """An S3 client from the AWS client factory (botocore resolves the endpoint itself)."""
    from imgpub.aws.session import ClientFactory

    region = ctx.env.get("AWS_REGION") or ctx.env.get("AWS_DEFAULT_REGION") or "us-east-1"
    return ClientFactory(environ=ctx.env).s3(region)
