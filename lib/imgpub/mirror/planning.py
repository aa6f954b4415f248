"""From discovered state to the plan: only what is missing, as a pure value.

Identity of a copy is its **name** (EC2 names are unique per account and region, and a
copy keeps the source's name) confirmed by its ``SourceAMI`` tag. So a re-run finds the
copies of an earlier run — finished, pending, or left untagged by a crash — by one
DescribeImages per region for all sources, and plans a copy only where none exists. The
client token (derived from source AMI and region) additionally makes a repeated CopyImage
within EC2's idempotency window return the same copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from imgpub.aws.ec2_images import ImageRecord
from imgpub.errors import InputError
from imgpub.mirror.model import (
    MANAGED_BY_VALUE,
    MAX_TAGS_PER_RESOURCE,
    TAG_COPIED_AT,
    TAG_MANAGED_BY,
    TAG_SOURCE_AMI,
    TAG_SOURCE_REGION,
    MirrorInputs,
)
from imgpub.mirror.plan import Action, CopyTarget, Plan, SourceImage
from imgpub.mirror.ssm_names import ImageFacts, plan_parameters, stand_in_image_id

MAX_TOKEN = 64
BPA_UNBLOCKED = "unblocked"


def client_token(source_ami: str, region: str) -> str:
    """Deterministic per (source, region), readable, at most 64 ASCII characters."""
    token = f"imgpub-{source_ami}-{region}"
    if len(token) <= MAX_TOKEN:
        return token
    return "imgpub-" + hashlib.sha256(f"{source_ami}|{region}".encode()).hexdigest()[:56]


def system_tags(source_ami: str, source_region: str) -> dict[str, str]:
    """The tags that identify a copy (``CopiedAt`` is added at copy time only)."""
    return {
        TAG_SOURCE_AMI: source_ami,
        TAG_SOURCE_REGION: source_region,
        TAG_MANAGED_BY: MANAGED_BY_VALUE,
    }


def copy_tags(
    source: SourceImage,
    source_region: str,
    user_tags: Sequence[tuple[str, str]],
    copied_at: datetime,
) -> dict[str, str]:
    """Source tags (explicitly: CopyImageTags is not relied on) + user tags + imgpub's tags."""
    tags = {k: v for k, v in source.record.tags.items() if not k.lower().startswith("aws:")}
    tags.update(dict(user_tags))
    tags.update(system_tags(source.image_id, source_region))
    tags[TAG_COPIED_AT] = copied_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if len(tags) > MAX_TAGS_PER_RESOURCE:
        raise InputError(
            "tags",
            f"{source.image_id} has {len(source.record.tags)} tags;"
            f" with yours and imgpub's that is {len(tags)}",
            f"keep the total at most {MAX_TAGS_PER_RESOURCE}",
        )
    return tags


def missing_tags(have: Mapping[str, str], want: Mapping[str, str]) -> dict[str, str]:
    """What CreateTags must add; ``CopiedAt`` of an existing copy is kept as it is."""
    return {
        k: v for k, v in want.items() if have.get(k) != v and not (k == TAG_COPIED_AT and k in have)
    }


def classify(
    source: SourceImage, candidates: Sequence[ImageRecord]
) -> tuple[Action, ImageRecord | None, str]:
    """Decide from the images of one region that carry the source's name."""
    for image in candidates:
        if image.name != source.record.name:
            continue
        tagged = image.tags.get(TAG_SOURCE_AMI)
        if tagged and tagged != source.image_id:
            return (
                Action.BLOCKED,
                image,
                f"{image.image_id} is named {image.name!r} but is a copy of {tagged}; "
                "deregister or rename it, then re-run",
            )
        if image.state == "failed":
            return (
                Action.BLOCKED,
                image,
                f"an earlier copy {image.image_id} failed"
                f" ({image.state_reason or 'no reason given'}); deregister it, then re-run",
            )
        if image.state not in ("available", "pending"):
            return (
                Action.BLOCKED,
                image,
                f"{image.image_id} is {image.state}; deregister it, then re-run",
            )
        return Action.EXISTING, image, ""
    return Action.COPY, None, ""


def build_plan(
    inputs: MirrorInputs,
    sources: Sequence[SourceImage],
    regions: Sequence[str],
    discovered: Mapping[str, Sequence[ImageRecord] | str],
    bpa_states: Mapping[str, str],
    now: datetime,
    started: float = 0.0,
) -> Plan:
    """Pure: the preflight's findings → targets. ``discovered[region]`` is a str on failure.

    ``now`` is the copy time tagged on new copies; ``started`` the monotonic time the
    preflight began (for the summary's duration).
    """
    targets: list[CopyTarget] = []
    for source in sources:
        targets.append(
            CopyTarget(
                source_ami=source.image_id,
                region=inputs.source_region,
                action=Action.SOURCE,
                name=source.record.name,
                description=source.record.description,
                image_id=source.image_id,
                existing=source.record,
            )
        )
        tags = copy_tags(source, inputs.source_region, inputs.tags, now)
        for region in regions:
            found = discovered.get(region, ())
            base = CopyTarget(
                source_ami=source.image_id,
                region=region,
                action=Action.COPY,
                name=source.record.name,
                description=source.record.description,
                tags=tags,
                client_token=client_token(source.image_id, region),
                kms_key_id=inputs.kms_keys.get(region),
            )
            if isinstance(found, str):
                targets.append(
                    replace(base, action=Action.BLOCKED, problem=f"discovery failed: {found}")
                )
                continue
            action, image, problem = classify(source, found)
            targets.append(
                replace(
                    base,
                    action=action,
                    image_id=image.image_id if image else None,
                    existing=image,
                    problem=problem,
                )
            )
    unblock = (
        tuple(sorted(r for r, state in bpa_states.items() if state != BPA_UNBLOCKED))
        if inputs.share.public
        else ()
    )
    preview = plan_parameters(
        inputs.ssm_templates,
        [
            ImageFacts(
                source_ami=s.image_id,
                region=region,
                image_id=s.image_id
                if region == inputs.source_region
                else stand_in_image_id(s.image_id),
                arch=s.arch,
                version=s.version,
                name=s.record.name,
            )
            for s in sources
            for region in (inputs.source_region, *regions)
        ],
    )
    return Plan(
        source_region=inputs.source_region,
        regions=tuple(regions),
        sources=tuple(sources),
        copy_targets=tuple(targets),
        share=inputs.share,
        encrypt=inputs.encrypt,
        deprecate_at=inputs.deprecate_at,
        unblock_regions=unblock,
        ssm_templates=inputs.ssm_templates,
        ssm_preview=preview,
        max_concurrency=inputs.max_concurrency,
        timeout=inputs.timeout,
        csv_output=inputs.csv_output,
        md_output=inputs.md_output,
        started=started,
    )


def blocked_public_access_error(regions: Sequence[str]) -> InputError:
    return InputError(
        "allow-unblock-public-access",
        f"image block public access is on in {', '.join(regions)}, so make-public would fail there",
        "turn it off in those regions yourself,"
        " or set allow-unblock-public-access: true to let imgpub do it",
    )
