"""Preflight and discovery: every read-only call of mirror-ami, then the plan.

Preflight asks the source region which regions exist (``DescribeRegions``) and whether the
sources can be mirrored; discovery asks every region, in parallel, which copies already
exist (one DescribeImages by name for all sources) and, for a public mirror, whether image
block public access is on. What the cloud reveals to be bad input — a missing source, an
unknown region, a KMS key for a region not copied to, block public access in the way —
raises :class:`~imgpub.errors.InputError` here, before any change, so it is exit 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from imgpub.aws import ec2_images as ec2x
from imgpub.aws.ec2_images import ImageRecord
from imgpub.aws.errors import error_text
from imgpub.aws.session import AwsClients
from imgpub.cancel import Cancellation
from imgpub.errors import CloudError, InputError
from imgpub.fanout import Failed, NotDone, fan_out
from imgpub.mirror.model import MirrorInputs
from imgpub.mirror.plan import Plan, SourceImage
from imgpub.mirror.planning import blocked_public_access_error, build_plan
from imgpub.mirror.regions import KnownRegion, check_kms_keys, resolve_regions

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

Discovered = tuple[Sequence[ImageRecord], str | None]
"""One region's copies by name (none for the source region) and its block-public-access state."""


def discover_plan(
    clients: AwsClients,
    inputs: MirrorInputs,
    *,
    now: datetime,
    started: float,
    cancel: Cancellation,
    on_phase: Callable[[str], None],
) -> Plan:
    """Read-only: the plan of what is missing, or an InputError for what cannot be done."""
    on_phase("preflight")
    ec2 = clients.ec2(inputs.source_region)
    try:
        known = [KnownRegion(n, s) for n, s in ec2x.list_regions(ec2)]
    except Exception as exc:
        raise CloudError(
            f"cannot list regions from {inputs.source_region}: {error_text(exc)}",
            remedy="check the credentials and source-region, then re-run",
        ) from exc
    regions = resolve_regions(inputs.regions, inputs.source_region, known)
    check_kms_keys(inputs.kms_keys, inputs.source_region, regions)
    sources = check_sources(ec2, inputs)
    on_phase("discovery")
    discovered, bpa = discover_regions(clients, inputs, regions, sources, cancel)
    plan = build_plan(inputs, sources, regions, discovered, bpa, now, started)
    if plan.unblock_regions and not inputs.allow_unblock_public_access:
        raise blocked_public_access_error(plan.unblock_regions)
    return plan


def check_sources(ec2: EC2Client, inputs: MirrorInputs) -> list[SourceImage]:
    """The sources exist, are available, can be shared as asked and have distinct names."""
    try:
        found = {
            r.image_id: r
            for r in ec2x.images_by_id(ec2, inputs.source_region, inputs.source_amis, own=False)
        }
    except Exception as exc:
        raise CloudError(
            f"cannot describe the source AMIs in {inputs.source_region}: {error_text(exc)}",
            remedy="check the credentials and source-region, then re-run",
        ) from exc
    missing = [a for a in inputs.source_amis if a not in found]
    if missing:
        raise InputError(
            "source-ami",
            f"{', '.join(missing)} not found in {inputs.source_region}",
            "check the IDs and source-region",
        )
    names: dict[str, str] = {}
    for ami in inputs.source_amis:
        rec = found[ami]
        if rec.state != "available":
            raise InputError(
                "source-ami", f"{ami} is {rec.state}, not available", "wait until it is available"
            )
        if rec.encrypted and inputs.share.public:
            raise InputError(
                "make-public",
                f"{ami} is encrypted, and encrypted AMIs cannot be public",
                "share it with accounts instead",
            )
        if rec.name in names:
            raise InputError(
                "source-ami",
                f"{names[rec.name]} and {ami} have the same name {rec.name!r}",
                "mirror them in separate runs",
            )
        names[rec.name] = ami
    return [SourceImage(found[a]) for a in inputs.source_amis]


def discover_regions(
    clients: AwsClients,
    inputs: MirrorInputs,
    regions: Sequence[str],
    sources: Sequence[SourceImage],
    cancel: Cancellation,
) -> tuple[dict[str, Sequence[ImageRecord] | str], dict[str, str]]:
    """Per copy region its images by name (or why it could not be read); BPA states.

    A copy region that cannot be read is planned as blocked (the others go on); the source
    region must answer, and a cancel during discovery stops the run before any change.
    """
    names = [s.record.name for s in sources]
    check_bpa = set(regions) | {inputs.source_region} if inputs.share.public else set()

    def look(region: str) -> Discovered:
        ec2 = clients.ec2(region)
        state = ec2x.image_block_public_access_state(ec2) if region in check_bpa else None
        if region == inputs.source_region:
            return (), state
        return ec2x.images_by_name(ec2, region, names), state

    looked = fan_out(
        [inputs.source_region, *regions],
        look,
        max_workers=inputs.max_concurrency,
        cancel=cancel,
        thread_name="imgpub-discovery",
    )
    discovered: dict[str, Sequence[ImageRecord] | str] = {}
    bpa: dict[str, str] = {}
    for region, outcome in looked.outcomes.items():
        if isinstance(outcome, NotDone):
            raise CloudError(
                f"discovery stopped ({outcome.reason}) before any change",
                remedy="re-run the same command",
            )
        if isinstance(outcome, Failed):
            problem = error_text(outcome.error)
            if region == inputs.source_region:
                raise CloudError(
                    f"preflight failed in {region}: {problem}",
                    remedy="fix access to the source region, then re-run",
                )
            discovered[region] = problem
            continue
        images, state = outcome
        if region != inputs.source_region:
            discovered[region] = images
        if state is not None:
            bpa[region] = state
    return discovered, bpa
