"""The inputs of mirror-ami as one validated, frozen value.

Everything a user can get wrong is checked here, before any cloud call, and reported as an
:class:`~imgpub.errors.InputError` naming the input and the fix. What needs the cloud to
check (does the AMI exist, is the region enabled, does an SSM name fit once rendered) is
checked in the read-only preflight, still before any change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import yaml

from imgpub.aws.image_sharing import ShareAudience
from imgpub.errors import InputError
from imgpub.mirror.durations import parse_deprecate_after, parse_timeout
from imgpub.mirror.ssm_names import SsmTemplate, parse_template

AMI_ID = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
ORG_ARN = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:organizations::\d{12}:organization/o-[a-z0-9]{10,32}$"
)
OU_ARN = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:organizations::\d{12}:ou/o-[a-z0-9]{10,32}/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$"
)
# AWS tag rules: letters (any script), digits, spaces and _ . : / = + - @
TAG_TEXT = re.compile(r"^[\w .:/=+\-@]*$")
MAX_TAGS_PER_RESOURCE = 50

#: Tags imgpub sets on every copy; the ``tags`` input may not set them.
TAG_SOURCE_AMI = "SourceAMI"
TAG_SOURCE_REGION = "SourceRegion"
TAG_MANAGED_BY = "ManagedBy"
TAG_COPIED_AT = "CopiedAt"
MANAGED_BY_VALUE = "imgpub"
RESERVED_TAGS = frozenset({TAG_SOURCE_AMI, TAG_SOURCE_REGION, TAG_MANAGED_BY, TAG_COPIED_AT})

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 64


class InputSource(Protocol):
    """The part of ``imgpub.inputs.InputReader`` this module reads (defaults applied)."""

    def text(self, name: str) -> str: ...
    def boolean(self, name: str) -> bool: ...
    def items(self, name: str) -> list[str]: ...
    def integer(self, name: str) -> int: ...


@dataclass(frozen=True)
class RegionSelection:
    """What the user asked for; resolved against DescribeRegions in :mod:`regions`."""

    everything: bool
    explicit: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    origin: str = "regions"  # the input to name in errors: "regions" or "config"


@dataclass(frozen=True)
class MirrorInputs:
    """The validated inputs of one mirror-ami run."""

    source_amis: tuple[str, ...]
    source_region: str
    regions: RegionSelection
    share: ShareAudience = field(default_factory=ShareAudience)
    tags: tuple[tuple[str, str], ...] = ()
    encrypt: bool = False
    kms_keys: Mapping[str, str] = field(default_factory=dict)
    deprecate_at: datetime | None = None
    ssm_templates: tuple[SsmTemplate, ...] = ()
    allow_unblock_public_access: bool = False
    csv_output: str = ""
    md_output: str = ""
    max_concurrency: int = DEFAULT_CONCURRENCY
    timeout: timedelta = timedelta(minutes=60)


def parse_source_amis(values: Sequence[str]) -> tuple[str, ...]:
    """Unique AMI IDs in the order given (a duplicate would only double the work)."""
    out: list[str] = []
    for value in values:
        ami = value.strip()
        if not AMI_ID.match(ami):
            raise InputError(
                "source-ami",
                f"{ami!r} is not an AMI ID",
                "write ami- followed by 8 or 17 lowercase hex digits, e.g. ami-0123456789abcdef0",
            )
        if ami not in out:
            out.append(ami)
    if not out:
        raise InputError("source-ami", "no AMI ID given", "give at least one AMI ID")
    return tuple(out)


def check_region_name(name: str, value: str) -> str:
    region = value.strip()
    if not REGION.match(region):
        raise InputError(name, f"{region!r} is not a region name", "write e.g. eu-west-1")
    return region


def parse_regions(
    regions: Sequence[str], exclude: Sequence[str], config_regions: Sequence[str] | None
) -> RegionSelection:
    """``regions`` wins over the config file; neither means every enabled region."""
    excluded = tuple(dict.fromkeys(check_region_name("exclude-regions", r) for r in exclude))
    chosen = [r.strip() for r in regions if r.strip()]
    origin = "regions"
    if not chosen and config_regions is not None:
        chosen, origin = list(config_regions), "config"
    if not chosen or [r.lower() for r in chosen] == ["all"]:
        return RegionSelection(everything=True, exclude=excluded, origin=origin)
    if any(r.lower() == "all" for r in chosen):
        raise InputError(origin, "'all' mixed with region names", "write either all or a list")
    explicit = tuple(dict.fromkeys(check_region_name(origin, r) for r in chosen))
    return RegionSelection(everything=False, explicit=explicit, exclude=excluded, origin=origin)


def read_config_regions(path: str) -> list[str] | None:
    """``distribution.target_regions`` from the YAML config, or None when not set."""
    if not path.strip():
        return None
    fix = "give a readable YAML file with distribution.target_regions: [region, ...]"
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("config", f"cannot read {path}: {exc}", fix) from None
    except yaml.YAMLError as exc:
        problem = f"{path} is not valid YAML ({str(exc).splitlines()[0]})"
        raise InputError("config", problem, fix) from None
    dist = data.get("distribution") if isinstance(data, dict) else None
    if dist is None:
        return None
    regions = dist.get("target_regions") if isinstance(dist, dict) else None
    if regions is None:
        return None
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
        raise InputError("config", f"{path}: distribution.target_regions is not a list", fix)
    return [str(r) for r in regions]


def parse_tags(raw: str) -> tuple[tuple[str, str], ...]:
    """``KEY=VALUE`` lines (blank lines and ``#`` comments skipped) checked against AWS rules."""
    fix = (
        "write one KEY=VALUE per line; keys 1-128, values 0-256 characters"
        " of letters, digits, spaces and _.:/=+-@"
    )
    tags: dict[str, str] = {}
    for line in raw.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise InputError("tags", f"{text!r} is not KEY=VALUE", fix)
        if (
            len(key) > 128
            or len(value) > 256
            or not TAG_TEXT.match(key)
            or not TAG_TEXT.match(value)
        ):
            raise InputError("tags", f"{text!r} breaks the AWS tag rules", fix)
        if key.lower().startswith("aws:"):
            raise InputError(
                "tags", f"key {key!r} uses the reserved aws: prefix", "choose another key"
            )
        if key in RESERVED_TAGS:
            raise InputError(
                "tags",
                f"key {key!r} is set by imgpub",
                f"remove it; imgpub sets {', '.join(sorted(RESERVED_TAGS))}",
            )
        if key in tags:
            raise InputError("tags", f"key {key!r} is given twice", "keep one")
        tags[key] = value
    if len(tags) > MAX_TAGS_PER_RESOURCE - len(RESERVED_TAGS):
        raise InputError(
            "tags",
            f"{len(tags)} tags is too many",
            f"give at most {MAX_TAGS_PER_RESOURCE - len(RESERVED_TAGS)}",
        )
    return tuple(tags.items())


def parse_share(
    *,
    public: bool,
    accounts: Sequence[str],
    organizations: Sequence[str],
    ous: Sequence[str],
    snapshots: bool,
) -> ShareAudience:
    def check(
        name: str, values: Sequence[str], pattern: re.Pattern[str], fix: str
    ) -> tuple[str, ...]:
        out = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
        for value in out:
            if not pattern.match(value):
                raise InputError(name, f"{value!r} is malformed", fix)
        return out

    return ShareAudience(
        public=public,
        accounts=check("share-accounts", accounts, ACCOUNT_ID, "write 12-digit AWS account IDs"),
        organizations=check(
            "share-organizations",
            organizations,
            ORG_ARN,
            "write arn:aws:organizations::<account>:organization/o-<id>",
        ),
        ous=check(
            "share-ous", ous, OU_ARN, "write arn:aws:organizations::<account>:ou/o-<id>/ou-<id>"
        ),
        snapshots=snapshots,
    )


def parse_kms_keys(values: Sequence[str]) -> dict[str, str]:
    """``region=key`` entries (key ID, alias or ARN)."""
    keys: dict[str, str] = {}
    for value in values:
        text = value.strip()
        if not text:
            continue
        region, sep, key = (part.strip() for part in text.partition("="))
        if not sep or not key:
            raise InputError(
                "kms-keys", f"{text!r} is not region=key", "write e.g. eu-west-1=alias/images"
            )
        region = check_region_name("kms-keys", region)
        if region in keys:
            raise InputError(
                "kms-keys", f"region {region} is given twice", "keep one key per region"
            )
        keys[region] = key
    return keys


def default_source_region(environ: Mapping[str, str]) -> str:
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or ""


def parse_mirror_inputs(
    reader: InputSource,
    *,
    now: datetime,
    environ: Mapping[str, str] | None = None,
    built: Sequence[tuple[str, str]] = (),
) -> MirrorInputs:
    """Read and validate every mirror-ami input; the first bad one raises InputError.

    ``built`` are the (AMI, region) pairs an earlier build-ami recorded: the sources
    when ``source-ami`` is empty.
    """
    env = os.environ if environ is None else environ
    given = reader.items("source-ami")
    if not given and not built:
        raise InputError(
            "source-ami",
            "is required",
            "set source-ami, or run build-ami first with the same results document",
        )
    sources = parse_source_amis(given or [ami for ami, _ in built])
    built_region = next((region for _, region in built if region), "") if not given else ""
    source_region = (
        reader.text("source-region").strip() or built_region or default_source_region(env)
    )
    if not source_region:
        raise InputError(
            "source-region", "not given and AWS_REGION is not set", "set source-region"
        )
    source_region = check_region_name("source-region", source_region)
    regions = parse_regions(
        reader.items("regions"),
        reader.items("exclude-regions"),
        read_config_regions(reader.text("config")),
    )
    public = reader.boolean("make-public")
    share = parse_share(
        public=public,
        accounts=reader.items("share-accounts"),
        organizations=reader.items("share-organizations"),
        ous=reader.items("share-ous"),
        snapshots=reader.boolean("share-snapshots"),
    )
    encrypt = reader.boolean("encrypt")
    kms_keys = parse_kms_keys(reader.items("kms-keys"))
    if kms_keys and not encrypt:
        raise InputError(
            "kms-keys", "KMS keys given without encryption", "set encrypt: true or drop kms-keys"
        )
    if encrypt and public:
        raise InputError(
            "encrypt", "encrypted AMIs cannot be public", "set make-public: false or encrypt: false"
        )
    concurrency = reader.integer("max-concurrency")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(
            "max-concurrency", f"{concurrency} is out of range", f"give 1 to {MAX_CONCURRENCY}"
        )
    templates = tuple(parse_template(t) for t in reader.items("ssm-parameters") if t.strip())
    return MirrorInputs(
        source_amis=sources,
        source_region=source_region,
        regions=regions,
        share=share,
        tags=parse_tags(reader.text("tags")),
        encrypt=encrypt,
        kms_keys=kms_keys,
        deprecate_at=parse_deprecate_after(reader.text("deprecate-after"), now=now, public=public),
        ssm_templates=templates,
        allow_unblock_public_access=reader.boolean("allow-unblock-public-access"),
        csv_output=reader.text("csv-output").strip(),
        md_output=reader.text("md-output").strip(),
        max_concurrency=concurrency,
        timeout=parse_timeout(reader.text("timeout")),
    )
