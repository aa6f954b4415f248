"""Each (cloud, workflow) as runs of the existing stages, with their inputs (pure).

* aws/community → build-ami once per billing group in the storage account's region
  (BillingProducts and the name suffix from billing-code-config), then mirror-ami to the
  destination regions; public only when the destination's meta says ``public: true``
  and never under pre-push or ``skip: publish``.
* aws/stratosphere → build-ami in us-east-1 (AWS Marketplace ingests from there), then
  marketplace-changeset per product; pre-push asks for Intent VALIDATE (its dry run).
* azure/stratosphere → azure-gallery; Partner Center publishing is out of scope.

Secrets are not inputs here: the runner gives each run its account's credentials (and
inputs taken from them, such as the access role) through the environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imgpub.push.billing import Billing, billing_for, community_target
from imgpub.push.meta import render_text
from imgpub.push.model import ARCH_ALIASES, AccountMapping, Destination, Entity, PushItem
from imgpub.push.plan import Chain, StageRun

MARKETPLACE_REGION = "us-east-1"
DEFAULT_REGION = "us-east-1"
DEFAULT_AMI_NAME = "{name} {version} {arch}"
EC2_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}


@dataclass(frozen=True)
class PushOptions:
    pre_push: bool = False
    skip: frozenset[str] = frozenset()
    container_prefix: str = ""
    workflow: str = "all"


def wanted(dest: Destination, item: PushItem) -> bool:
    """Architecture (null = any) and release type (meta ``release_type``, unset = any)."""
    if dest.architecture is not None and ARCH_ALIASES[dest.architecture] != item.architecture:
        return False
    release = dest.meta.get("release_type")
    return release is None or release == item.release_type


def plan_entity(
    item: PushItem, entity: Entity, opts: PushOptions, regions: Mapping[str, str]
) -> list[Chain]:
    """``regions``: account alias → its default region (from its credentials)."""
    if opts.workflow not in ("all", entity.workflow):
        return []
    chains: list[Chain] = []
    for mapping in entity.mappings:
        dests = [d for d in mapping.destinations if wanted(d, item)]
        if not dests:
            continue
        region = regions.get(mapping.account) or DEFAULT_REGION
        if entity.cloud == "azure":
            chains += [_azure(item, entity, mapping, d, opts) for d in dests]
        elif entity.workflow == "community":
            chains += _community(item, entity, mapping, dests, opts, region)
        else:
            chains.append(_stratosphere(item, entity, mapping, dests, opts))
    return chains


def _list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):  # the region-keyed form: every region's accounts
        return sorted({str(v) for vs in value.values() for v in (vs or [])})
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def _tags(*sources: Mapping[str, str]) -> str:
    merged: dict[str, str] = {}
    for source in sources:
        merged.update(source)
    return "\n".join(f"{k}={v}" for k, v in merged.items())


def _build(
    item: PushItem, meta: Mapping[str, Any], region: str, opts: PushOptions, **extra: str
) -> StageRun:
    name = render_text(str(meta.get("ami_name") or DEFAULT_AMI_NAME), item)
    suffix = extra.pop("suffix", "")
    flags = {
        "image": item.image,
        "region": region,
        "ami-name": f"{name}-{suffix}" if suffix else name,
        "version": item.version,
        "architecture": EC2_ARCH[item.architecture],
        "boot-mode": item.boot_mode or str(meta.get("boot_mode") or ""),
        "share-accounts": ""
        if "share" in opts.skip
        else ",".join(_list(meta.get("sharing_accounts"))),
        **extra,
    }
    if "upload" in opts.skip or "import" in opts.skip:
        why = "skip: upload" if "upload" in opts.skip else "skip: import"
        return StageRun("build-ami", flags, skipped=why)
    if not item.image:
        return StageRun("build-ami", flags, skipped=f"the AMI {item.ami_id} is already built")
    return StageRun("build-ami", flags)


def _source_ami(item: PushItem, build: StageRun) -> str:
    """Empty: the AMI build-ami records in the chain's results document."""
    return "" if not build.skipped or not item.ami_id else item.ami_id


def _community(
    item: PushItem,
    entity: Entity,
    mapping: AccountMapping,
    dests: Sequence[Destination],
    opts: PushOptions,
    region: str,
) -> list[Chain]:
    groups: dict[tuple[Billing, bool], list[tuple[Destination, str]]] = {}
    for d in dests:
        target = community_target(d.destination, f"{entity.name} {mapping.account}")
        billing = billing_for(entity.billing, item, target.billing_type)
        public = bool(d.meta.get("public", False))
        groups.setdefault((billing, public), []).append((d, target.region))
    chains = []
    for (billing, public), members in groups.items():
        first = members[0][0]
        meta = first.meta
        tags = _tags(*(d.tags for d, _ in members), {"billing_type": billing.suffix})
        build = _build(
            item,
            meta,
            region,
            opts,
            suffix=billing.suffix,
            **{"billing-products": ",".join(billing.codes), "tags": tags},
        )
        if "upload" in opts.skip and not item.ami_id:
            build = StageRun("build-ami", build.flags, "skip: upload; no AMI of this item is known")
        make_public = public and not opts.pre_push and "publish" not in opts.skip
        why_private = ""
        if public and not make_public:
            why_private = "pre-push" if opts.pre_push else "skip: publish"
        regions = sorted({r for _, r in members} - {region}) or [region]
        mirror_flags = {
            "source-ami": _source_ami(item, build),
            "source-region": item.ami_region if item.ami_id and build.skipped else region,
            "regions": ",".join(regions),
            "make-public": "true" if make_public else "false",
            "share-accounts": build.flags["share-accounts"],
            "tags": tags,
        }
        mirror = StageRun("mirror-ami", mirror_flags, "skip: copy" if "copy" in opts.skip else "")
        if build.skipped and not item.ami_id and not mirror.skipped:
            mirror = StageRun("mirror-ami", mirror_flags, "no AMI to copy (build-ami skipped)")
        notes = [f"public share left out ({why_private})"] if why_private else []
        if build.skipped and item.ami_id:
            notes.append(
                f"{item.ami_id} is pushed as built: its billing products stay what it was "
                f"registered with ({billing.suffix} wants {', '.join(billing.codes) or 'none'})"
            )
        billed = {
            "billing": {
                "rule": billing.rule,
                "codes": list(billing.codes),
                "suffix": billing.suffix,
            },
            **dict(meta),
        }
        suffix = billing.suffix.lower() + ("-public" if public else "")
        names = [d.destination for d, _ in members]
        chains.append(_chain(item, entity, mapping, suffix, names, [build, mirror], notes, billed))
    return chains


def _chain(
    item: PushItem,
    entity: Entity,
    mapping: AccountMapping,
    suffix: str,
    destinations: Sequence[str],
    runs: Sequence[StageRun],
    notes: Sequence[str],
    meta: Mapping[str, Any],
) -> Chain:
    return Chain(
        key=f"{item.key}-{mapping.account}-{suffix}",
        item=item,
        entity=entity.name,
        cloud=entity.cloud,
        workflow=entity.workflow,
        account=mapping.account,
        destinations=tuple(destinations),
        runs=tuple(runs),
        notes=tuple(notes),
        meta=dict(meta),
    )


def _security_groups(value: Any) -> str:
    """StArMap's [{ip_protocol, from_port, to_port, ip_ranges}] → marketplace's lines."""
    lines = []
    for group in value if isinstance(value, list) else []:
        if isinstance(group, str):
            lines.append(group)
            continue
        ports = f"{group.get('from_port')}"
        if group.get("to_port") not in (None, group.get("from_port")):
            ports += f"-{group.get('to_port')}"
        ranges = ",".join(str(r) for r in group.get("ip_ranges") or ["0.0.0.0/0"])
        lines.append(f"{group.get('ip_protocol', 'tcp')} {ports} {ranges}")
    return "\n".join(lines)


def _stratosphere(
    item: PushItem,
    entity: Entity,
    mapping: AccountMapping,
    dests: Sequence[Destination],
    opts: PushOptions,
) -> Chain:
    build = _build(item, dests[0].meta, MARKETPLACE_REGION, opts)
    runs = [build]
    notes = []
    for d in dests:
        meta = d.meta
        flags = {
            "ami-id": _source_ami(item, build),
            "product-id": d.destination,
            "public-product": "true",
            "version-title": render_text(str(meta.get("version_title") or ""), item),
            "release-notes": render_text(str(meta.get("release_notes") or ""), item),
            "usage-instructions": render_text(str(meta.get("usage_instructions") or ""), item),
            "user-name": str(meta.get("user_name") or ""),
            "instance-type": str(meta.get("recommended_instance_type") or ""),
            "security-groups": _security_groups(meta.get("security_groups")),
            "os-name": str(meta.get("os_name") or ""),
            "scanning-port": str(meta.get("scanning_port") or ""),
            "keep-versions": str(d.restrict_version or ""),
            "dry-run": "true" if opts.pre_push else "false",
        }
        skipped = "skip: marketplace" if "marketplace" in opts.skip else ""
        if build.skipped and not item.ami_id and not skipped:
            skipped = "no AMI to add (build-ami skipped)"
        runs.append(StageRun("marketplace-changeset", flags, skipped))
        if d.overwrite:
            notes.append(
                f"{d.destination}: overwrite — a version with this title is found and kept "
                "(marketplace-changeset adds, it does not replace delivery options)"
            )
        if d.restrict_major or d.restrict_minor:
            notes.append(
                f"{d.destination}: restrict_major/restrict_minor are not applied; "
                "restrict_version is (keep-versions)"
            )
    if opts.pre_push:
        notes.append("pre-push: change sets are validated (Intent VALIDATE), not applied")
    names = [d.destination for d in dests]
    return _chain(item, entity, mapping, "marketplace", names, runs, notes, dests[0].meta)


def _azure(
    item: PushItem, entity: Entity, mapping: AccountMapping, dest: Destination, opts: PushOptions
) -> Chain:
    meta = dest.meta
    steps = ["upload", "publish"]
    if "upload" in opts.skip:
        steps.remove("upload")
    if opts.pre_push or "publish" in opts.skip:
        steps.remove("publish")
    offer = dest.destination.split("/", 1)[0]
    flags = {
        "image": item.image,
        "steps": ",".join(steps),
        "offer": offer,
        "container": f"{opts.container_prefix}-{item.major}" if opts.container_prefix else "",
        "gallery": str(meta.get("gallery") or ""),
        "resource-group": str(meta.get("resource_group") or ""),
        "target-regions": ",".join(_list(meta.get("target_regions"))),
        "create-definitions": "true" if meta.get("create_definitions") else "false",
        "generations": str(meta.get("generation") or ""),
        "dry-run": "false",
    }
    run = StageRun("azure-gallery", flags, "" if steps else "nothing left to do (skip/pre-push)")
    notes = ["Partner Center publishing is out of scope: the image goes to the Compute Gallery"]
    return _chain(item, entity, mapping, offer, [dest.destination], [run], notes, meta)
