"""From discovered state to the plan: only what is missing, as a pure value.

Identity of a copy is its **name** (EC2 names are unique per account and region, and a
copy keeps the source's name) confirmed by its ``SourceAMI`` tag. So a re-run finds the
copies of an earlier run — finished, pending, or left untagged by a crash — by one
DescribeImages per region for all sources, and plans a copy only where none exists. The
client token (derived from source AMI and region) additionally makes a repeated CopyImage
within EC2's idempotency window return the same copy.

The plan is also the whole answer of a dry run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

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
    ShareAudience,
)
from imgpub.mirror.ssm_names import ImageFacts, SsmParameter, plan_parameters, stand_in_image_id

MAX_TOKEN = 64
BPA_UNBLOCKED = "unblocked"


class Action(StrEnum):
    COPY = "copy"  # no copy yet: CopyImage
    EXISTING = "existing"  # a copy exists (maybe pending): wait, then repair tags/shares
    SOURCE = "source"  # the source itself, in the source region: share only
    BLOCKED = "blocked"  # cannot proceed in this region (conflict, discovery failed)


@dataclass(frozen=True)
class SourceImage:
    """The source AMI as the preflight saw it."""

    record: ImageRecord

    @property
    def image_id(self) -> str:
        return self.record.image_id

    @property
    def arch(self) -> str:
        """The Architecture tag (``aarch64``) first, as the tables and SSM names want it."""
        return self.record.tags.get("Architecture") or self.record.architecture

    @property
    def version(self) -> str:
        return self.record.tags.get("Version", "")


@dataclass(frozen=True)
class Target:
    """One (source AMI, region) and what to do there."""

    source_ami: str
    region: str
    action: Action
    name: str
    description: str = ""
    image_id: str | None = None  # known for EXISTING and SOURCE
    existing: ImageRecord | None = None
    tags: Mapping[str, str] = field(default_factory=dict)  # wanted on the copy and its snapshots
    client_token: str = ""
    kms_key_id: str | None = None
    problem: str = ""  # why BLOCKED


@dataclass(frozen=True)
class Plan:
    """Everything apply will do; printed by a dry run."""

    source_region: str
    regions: tuple[str, ...]  # copy destinations, sorted; the source region excluded
    sources: tuple[SourceImage, ...]
    targets: tuple[Target, ...]
    share: ShareAudience
    encrypt: bool
    deprecate_at: datetime | None
    unblock_regions: tuple[str, ...]  # BPA will be disabled there (only when allowed)
    ssm_templates_given: bool
    ssm_preview: tuple[SsmParameter, ...]  # names with stand-in values, for the printout

    def in_region(self, region: str) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.region == region)

    @property
    def all_regions(self) -> tuple[str, ...]:
        return (self.source_region, *self.regions)

    def count(self, action: Action) -> int:
        return sum(1 for t in self.targets if t.action is action)


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
) -> Plan:
    """Pure: the preflight's findings → targets. ``discovered[region]`` is a str on failure."""
    targets: list[Target] = []
    for source in sources:
        targets.append(
            Target(
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
            base = Target(
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
        targets=tuple(targets),
        share=inputs.share,
        encrypt=inputs.encrypt,
        deprecate_at=inputs.deprecate_at,
        unblock_regions=unblock,
        ssm_templates_given=bool(inputs.ssm_templates),
        ssm_preview=preview,
    )


def blocked_public_access_error(regions: Sequence[str]) -> InputError:
    return InputError(
        "allow-unblock-public-access",
        f"image block public access is on in {', '.join(regions)}, so make-public would fail there",
        "turn it off in those regions yourself,"
        " or set allow-unblock-public-access: true to let imgpub do it",
    )
