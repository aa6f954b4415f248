"""Read-only discovery for marketplace-changeset: the AMIs in EC2, the products in the catalog.

Preflight reads each AMI in us-east-1 (exists in this account, available, its name,
architecture and ``Version`` tag) and each product (DescribeEntity: an AMI product, its
versions; ListChangeSets: what is open on it, and this AMI's earlier attempts). Anything
wrong is an input error — exit 2, before any change. Then every AMI gets its
:class:`~imgpub.marketplace.items.VersionItem`: add, exists or adopt.

The ``ClientRequestToken`` is derived from (product, AMI, title, attempt), where attempt
counts this AMI's earlier change sets that ended FAILED or CANCELLED: a retried or re-run
request returns the change set already started, while a re-run after a failure (the
cause fixed) starts a fresh one instead of being handed the old verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from imgpub.aws.ec2_images import images_by_id
from imgpub.aws.marketplace_catalog import (
    AMI_PRODUCT,
    OPEN_STATUSES,
    ChangeSetRef,
    ChangeSetState,
    Entity,
    catalog_error,
)
from imgpub.cancel import Cancellation
from imgpub.errors import CloudError, ConfigError, ImgpubError, InputError
from imgpub.fanout import Failed, NotDone, fan_out
from imgpub.marketplace.amis import MARKETPLACE_REGION, AmiFacts
from imgpub.marketplace.entity import (
    ProductState,
    ProductVersion,
    instance_architecture,
    parse_entity,
    versions_to_restrict,
)
from imgpub.marketplace.items import Action, ProductPlan, VersionItem
from imgpub.marketplace.model import MarketplaceInputs
from imgpub.marketplace.products import ProductRule
from imgpub.marketplace.remedies import remedy_for_api_error
from imgpub.marketplace.render import (
    MAX_TITLE,
    ami_ids_of,
    change_set_name,
    client_token,
    render_change_set,
    render_text,
)

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

ENDED_BADLY = ("FAILED", "CANCELLED")
#: Earlier SUCCEEDED change sets of one name read back, to name the one behind a version.
MAX_SUCCEEDED_READ = 3
RERUN = "re-run the same command"


class CatalogApi(Protocol):
    """What marketplace-changeset needs of the Catalog API (``aws.marketplace_catalog``)."""

    def describe_entity(self, entity_id: str) -> Entity: ...
    def list_change_sets(
        self, entity_id: str, *, statuses: Sequence[str] = (), name: str = ""
    ) -> list[ChangeSetRef]: ...
    def describe_change_set(self, change_set_id: str) -> ChangeSetState: ...
    def start_change_set(
        self,
        changes: Sequence[Mapping[str, Any]],
        *,
        name: str,
        token: str | None,
        intent: str = "APPLY",
    ) -> ChangeSetRef: ...


#: A Catalog API for the calling thread (clients are per thread).
CatalogFor = Callable[[], CatalogApi]


def read_amis(ec2: EC2Client, ami_ids: Sequence[str], origin: str) -> list[AmiFacts]:
    """Each AMI in us-east-1 of this account, available and tagged with a Version."""
    found = {r.image_id: r for r in images_by_id(ec2, MARKETPLACE_REGION, ami_ids)}
    amis = []
    for ami_id in ami_ids:
        record = found.get(ami_id)
        if record is None:
            raise InputError(
                "ami-id",
                f"{ami_id} (from {origin}) is not an AMI of this account in {MARKETPLACE_REGION}",
                f"Marketplace takes AMIs from {MARKETPLACE_REGION}: give the {MARKETPLACE_REGION} "
                "copy (mirror-ami's amis output has it)",
            )
        if record.state != "available":
            raise InputError(
                "ami-id",
                f"{ami_id} is {record.state}, not available"
                + (f" ({record.state_reason})" if record.state_reason else ""),
                "wait until it is available, or give another AMI",
            )
        version = record.tags.get("Version", "").strip()
        if not version or not version[0].isdigit():
            raise InputError(
                "ami-id",
                f"{ami_id} ('{record.name}') has no Version tag that starts with a number",
                "tag it Version=<X.Y.YYYYMMDD> as the build does (ec2 create-tags)",
            )
        architecture = ec2_architecture(record.architecture or record.tags.get("Architecture", ""))
        if not architecture:
            raise InputError(
                "ami-id",
                f"{ami_id} ('{record.name}') has no architecture EC2 reports",
                "give an AMI built as x86_64 or arm64",
            )
        amis.append(AmiFacts(ami_id, record.name, architecture, version, record.state))
    return amis


def ec2_architecture(text: str) -> str:
    """EC2's name for an architecture (the Architecture tag says aarch64 for arm64)."""
    return {"x86_64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}.get(text, "")


@dataclass(frozen=True)
class ProductFindings:
    """What the catalog said about one product: its state and the change sets on it."""

    state: ProductState
    open_sets: tuple[ChangeSetState, ...]
    failed_attempts: Mapping[str, int]  # change set name -> earlier FAILED/CANCELLED ones
    succeeded: Mapping[str, tuple[ChangeSetState, ...]]  # name -> the newest that SUCCEEDED


def read_products(
    wanted: Mapping[str, Sequence[str]], catalog_for: CatalogFor, cancel: Cancellation
) -> dict[str, ProductFindings]:
    """DescribeEntity and ListChangeSets of every product, in parallel (read-only)."""

    def work(product_id: str) -> ProductFindings:
        return _read_product(catalog_for(), product_id, wanted[product_id])

    fan = fan_out(list(wanted), work, max_workers=min(8, len(wanted)), cancel=cancel)
    out: dict[str, ProductFindings] = {}
    for product_id, outcome in fan.outcomes.items():
        if isinstance(outcome, NotDone):
            raise CloudError(f"discovery of {product_id} stopped: {outcome.reason}", remedy=RERUN)
        if isinstance(outcome, Failed):
            raise _discovery_error(product_id, outcome.error)
        out[product_id] = outcome
    return out


def _read_product(catalog: CatalogApi, product_id: str, names: Sequence[str]) -> ProductFindings:
    entity = catalog.describe_entity(product_id)
    if entity.entity_type and entity.entity_type != AMI_PRODUCT:
        raise InputError(
            "product-id",
            f"{product_id} is a {entity.entity_type}, not an AMI product ({AMI_PRODUCT})",
            "name an AMI product (ContainerProduct images go to ecr-mirror)",
        )
    open_refs = catalog.list_change_sets(product_id, statuses=OPEN_STATUSES)
    open_sets = tuple(catalog.describe_change_set(r.change_set_id) for r in open_refs)
    attempts = {}
    succeeded = {}
    for name in dict.fromkeys(names):
        earlier = catalog.list_change_sets(product_id, name=name)
        attempts[name] = sum(1 for r in earlier if r.status in ENDED_BADLY)
        done = [r for r in earlier if r.status == "SUCCEEDED"][-MAX_SUCCEEDED_READ:]
        succeeded[name] = tuple(catalog.describe_change_set(r.change_set_id) for r in done)
    state = parse_entity(product_id, entity.document)
    return ProductFindings(state, open_sets, attempts, succeeded)


def _discovery_error(product_id: str, exc: BaseException) -> ImgpubError:
    if isinstance(exc, ImgpubError):
        return exc
    code, message = catalog_error(exc)
    if code == "ResourceNotFoundException":
        return InputError(
            "product-id",
            f"product {product_id} was not found in the AWS Marketplace catalog: {message}",
            "check the product ID in the seller portal (product-id or the products file)",
        )
    if code in ("AccessDeniedException", "UnrecognizedClientException"):
        return ConfigError(
            f"not allowed to read product {product_id}: {code}: {message}",
            remedy=remedy_for_api_error("AccessDeniedException"),
        )
    return CloudError(f"reading product {product_id}: {code}: {message}", remedy=RERUN)


def ours(change_set: ChangeSetState, product_id: str, ami_id: str) -> bool:
    """True when an open change set adds ``ami_id`` to ``product_id`` (whoever started it)."""
    return any(
        c.get("ChangeType") == "AddDeliveryOptions"
        and str(c.get("Entity", {}).get("Identifier", "")).split("@", 1)[0] == product_id
        and ami_id in ami_ids_of(c)
        for c in change_set.changes
    )


@dataclass(frozen=True)
class Assignment:
    """An AMI and the product rule that takes it."""

    ami: AmiFacts
    rule: ProductRule


def plan_products(
    inputs: MarketplaceInputs,
    assignments: Sequence[Assignment],
    findings: Mapping[str, ProductFindings],
) -> tuple[ProductPlan, ...]:
    """Every AMI's item and every product's plan, from what discovery found (pure)."""
    plans = []
    for product_id in dict.fromkeys(a.rule.product_id for a in assignments):
        found = findings[product_id]
        mine = [a for a in assignments if a.rule.product_id == product_id]
        items = tuple(_item(inputs, a, found) for a in mine)
        _check_unique_titles(product_id, items)
        adopted = {i.adopt.change_set_id for i in items if i.adopt}
        busy = tuple(s.ref for s in found.open_sets if s.ref.change_set_id not in adopted)
        restrict: tuple[ProductVersion, ...] = ()
        if inputs.keep_versions is not None:
            new = [(i.title, i.ami.architecture) for i in items]
            restrict = tuple(versions_to_restrict(found.state, inputs.keep_versions, new))
        plans.append(
            ProductPlan(
                product_id=product_id,
                title=found.state.title or mine[0].rule.title,
                items=items,
                busy=busy,
                keep_versions=inputs.keep_versions,
                restrict=restrict,
            )
        )
    return tuple(plans)


def _item(inputs: MarketplaceInputs, assignment: Assignment, found: ProductFindings) -> VersionItem:
    ami, rule, state = assignment.ami, assignment.rule, found.state
    variables: dict[str, Any] = {
        **ami.variables(),
        "product_id": rule.product_id,
        "product_title": state.title or rule.title,
        "user_name": inputs.user_name,
        "scanning_port": inputs.scanning_port,
        "os_name": inputs.os_name,
    }
    t = inputs.templates
    title_source = (
        t.version_title if inputs.version_title_given else (rule.version_title or t.version_title)
    )
    title = render_text("version-title", title_source, variables)
    if not 1 <= len(title) <= MAX_TITLE:
        raise InputError(
            "version-title",
            f"'{title}' for {ami.image_id} must be 1 to {MAX_TITLE} characters",
            "shorten the version-title template",
        )
    variables["version_title"] = title
    instance_type = inputs.instance_type or state.recommended_instance_type(ami.architecture)
    _check_instance_type(instance_type, ami, state)
    variables.update(
        release_notes=render_text("release-notes", t.release_notes, variables),
        usage_instructions=render_text("usage-instructions", t.usage_instructions, variables),
        os_version=render_text("os-version", t.os_version, variables),
        access_role_arn=inputs.access_role_arn,
        instance_type=instance_type,
        security_groups=[dict(g) for g in inputs.security_groups],
    )
    changes = render_change_set(
        t.change_set,
        t.change_set_origin,
        variables,
        product_id=rule.product_id,
        ami_id=ami.image_id,
    )
    name = change_set_name("Release", ami.name or ami.image_id)
    attempt = found.failed_attempts.get(name, 0)
    token = client_token(rule.product_id, ami.image_id, title, str(attempt))
    existing = state.version_titled(title)
    adopt = next((s.ref for s in found.open_sets if ours(s, rule.product_id, ami.image_id)), None)
    action = Action.EXISTS if existing else Action.ADOPT if adopt else Action.ADD
    if action is Action.EXISTS:
        done = found.succeeded.get(name, ())
        adopt = next((s.ref for s in done if ours(s, rule.product_id, ami.image_id)), None)
    return VersionItem(
        ami=ami,
        product_id=rule.product_id,
        product_title=str(variables["product_title"]),
        title=title,
        instance_type=instance_type,
        change_set_name=name,
        token=token,
        changes=tuple(changes),
        action=action,
        existing_version_id=existing.version_id if existing else "",
        adopt=adopt,
    )


def _check_instance_type(instance_type: str, ami: AmiFacts, state: ProductState) -> None:
    where = "instance-type"
    if instance_architecture(instance_type) != ami.architecture:
        raise InputError(
            where,
            f"{instance_type} is {instance_architecture(instance_type)} but {ami.image_id} is "
            f"{ami.architecture}",
            "choose an instance type of the AMI's architecture, e.g. t3.small or t4g.small",
        )
    if state.instance_types and instance_type not in state.instance_types:
        raise InputError(
            where,
            f"{instance_type} is not an instance type of product {state.product_id}",
            "choose one of: " + ", ".join(sorted(state.instance_types)[:12]),
        )


def _check_unique_titles(product_id: str, items: Sequence[VersionItem]) -> None:
    seen: dict[str, str] = {}
    for item in items:
        other = seen.setdefault(item.title, item.ami.image_id)
        if other != item.ami.image_id:
            raise InputError(
                "version-title",
                f"{other} and {item.ami.image_id} would both be version '{item.title}' of "
                f"{product_id}",
                "put the architecture in the title, e.g. '{{ version }} {{ architecture }}'",
            )
