"""marketplace-changeset's inputs, validated once: every problem is an InputError (exit 2).

Everything that can be checked without AWS is checked here — AMI IDs, the product ID, the
products file, the role ARN, every template (compiled, so a syntax error never waits for
the first AMI), ports, security groups, the deadline — and what needs AWS (the AMIs in
us-east-1, the products in the catalog) is checked read-only by the engine's discovery,
so that exit 2 still means nothing changed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import timedelta

from imgpub.errors import InputError
from imgpub.inputs import InputReader
from imgpub.marketplace.amis import amis_from_results, parse_ami_ids
from imgpub.marketplace.entity import INSTANCE_TYPE
from imgpub.marketplace.products import PRODUCT_ID, ProductTable, load_products
from imgpub.marketplace.render import (
    DEFAULT_USAGE,
    check_template,
    load_change_set_template,
    security_group_rules,
)
from imgpub.mirror.durations import parse_timeout
from imgpub.results import ResultsDocument

ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
USER_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,31}$")
ROLE_FIX = "give the ARN of the ingestion role, e.g. arn:aws:iam::123456789012:role/mp-ingest"


@dataclass(frozen=True)
class Templates:
    """The text templates (Jinja2 sources) and the change-set template."""

    version_title: str
    release_notes: str
    usage_instructions: str
    os_version: str
    change_set: str
    change_set_origin: str


@dataclass(frozen=True)
class MarketplaceInputs:
    ami_ids: tuple[str, ...]
    ami_origin: str  # "ami-id" or the stages whose results named them
    product_id: str
    products: ProductTable | None  # None when product-id names the product
    public_product: bool
    access_role_arn: str
    templates: Templates
    version_title_given: bool
    os_name: str
    user_name: str
    scanning_port: int
    instance_type: str
    security_groups: tuple[dict[str, object], ...]
    keep_versions: int | None
    wait: bool
    timeout: timedelta
    started: float  # time.monotonic() when the inputs were read: the deadline counts from it

    @property
    def deadline(self) -> float:
        return self.started + self.timeout.total_seconds()


def parse_marketplace_inputs(
    reader: InputReader, previous: ResultsDocument, *, monotonic: float | None = None
) -> MarketplaceInputs:
    raw_amis = reader.text("ami-id")
    if raw_amis:
        ami_ids, origin = parse_ami_ids(raw_amis), "ami-id"
    else:
        ami_ids, origin = amis_from_results(previous)
    product_id = reader.text("product-id")
    if product_id and not PRODUCT_ID.match(product_id):
        raise InputError(
            "product-id",
            f"{product_id!r} is not a product ID",
            "copy the product ID from the seller portal, e.g. prod-abcdefghijklm",
        )
    products = (
        load_products(reader.text("products"))
        if not product_id or reader.text("products")
        else None
    )
    role = reader.text("access-role-arn") or (products.access_role_arn if products else "")
    if not role:
        raise InputError("access-role-arn", "is required with product-id", ROLE_FIX)
    if not ROLE_ARN.match(role):
        where = "access-role-arn" if reader.text("access-role-arn") else "products"
        raise InputError(where, f"{role!r} is not an IAM role ARN", ROLE_FIX)
    templates = _templates(reader)
    user = reader.text("user-name")
    if not USER_NAME.match(user):
        raise InputError(
            "user-name", f"{user!r} is not a login name", "use letters, digits, _ and -"
        )
    os_name = reader.text("os-name")
    if not 1 <= len(os_name) <= 100:
        raise InputError("os-name", "must be 1 to 100 characters", "e.g. OTHERLINUX")
    instance_type = reader.text("instance-type")
    if instance_type and not INSTANCE_TYPE.match(instance_type):
        raise InputError(
            "instance-type", f"{instance_type!r} is not an instance type", "e.g. t3.small"
        )
    keep: int | None = None
    if reader.text("keep-versions"):
        keep = reader.integer("keep-versions", minimum=1, maximum=1000)
    wait = reader.boolean("wait")
    if keep is not None and not wait:
        raise InputError(
            "keep-versions",
            "restricts old versions only once the new one has succeeded, which needs wait",
            "set wait: true, or leave keep-versions empty",
        )
    return MarketplaceInputs(
        ami_ids=ami_ids,
        ami_origin=origin,
        product_id=product_id,
        products=products,
        public_product=reader.boolean("public-product"),
        access_role_arn=role,
        templates=templates,
        version_title_given=bool(reader.text("version-title")),
        os_name=os_name,
        user_name=user,
        scanning_port=reader.integer("scanning-port", minimum=1, maximum=65535),
        instance_type=instance_type,
        security_groups=tuple(security_group_rules(reader.lines("security-groups"))),
        keep_versions=keep,
        wait=wait,
        timeout=parse_timeout(reader.text("timeout")),
        started=time.monotonic() if monotonic is None else monotonic,
    )


def _templates(reader: InputReader) -> Templates:
    sources = {
        "version-title": reader.text("version-title") or "{{ version }}",
        "release-notes": reader.text("release-notes"),
        "usage-instructions": reader.text("usage-instructions") or DEFAULT_USAGE,
        "os-version": reader.text("os-version") or "{{ os_version }}",
    }
    for name, source in sources.items():
        check_template(name, source)
    origin, change_set = load_change_set_template(reader.text("template"))
    return Templates(
        version_title=sources["version-title"],
        release_notes=sources["release-notes"] or "{{ name }} release.",
        usage_instructions=sources["usage-instructions"],
        os_version=sources["os-version"],
        change_set=change_set,
        change_set_origin=origin,
    )
