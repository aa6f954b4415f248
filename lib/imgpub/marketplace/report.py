"""How plans and results of marketplace-changeset become targets, outputs and summary rows.

Each AMI is two results-document targets: the ``marketplace-change-set`` (created by this
run, adopted from an earlier one, or failed with its verdict) and the
``marketplace-version`` it should produce (created when the change set SUCCEEDED, existed
when the title was already there, failed, or cancelled while still pending). So a change
set still running at the deadline reads as "the request exists, the version is not
confirmed" — a partial result (exit 3) that a re-run completes by adopting it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imgpub.aws.marketplace_catalog import REGION, ChangeError, ChangeSetRef
from imgpub.marketplace.entity import ProductVersion
from imgpub.marketplace.items import ProductPlan, VersionItem
from imgpub.results import Target, TargetState

ADD = "AddDeliveryOptions"
RESTRICT = "RestrictDeliveryOptions"


def entry(
    item: VersionItem, state: str, change_set: ChangeSetRef | None, status: str = ""
) -> dict[str, Any]:
    """One element of the ``change-sets`` output for an AMI."""
    return {
        "ami": item.ami.image_id,
        "product_id": item.product_id,
        "change": ADD,
        "version_title": item.title,
        "change_set_id": change_set.change_set_id if change_set else None,
        "change_set_arn": change_set.arn if change_set else None,
        "status": status or (change_set.status if change_set else None) or None,
        "state": state,
    }


def restrict_entry(
    product: ProductPlan, state: str, change_set: ChangeSetRef | None, status: str = ""
) -> dict[str, Any]:
    return {
        "ami": None,
        "product_id": product.product_id,
        "change": RESTRICT,
        "version_title": None,
        "change_set_id": change_set.change_set_id if change_set else None,
        "change_set_arn": change_set.arn if change_set else None,
        "status": status or None,
        "state": state,
    }


def version_target(
    item: VersionItem,
    state: TargetState,
    *,
    resource_id: str | None = None,
    error: str | None = None,
    remedy: str | None = None,
    **details: Any,
) -> Target:
    return Target(
        "marketplace-version",
        item.version_key,
        state,
        region=REGION,
        resource_id=resource_id,
        source=item.ami.image_id,
        error=error,
        remedy=remedy,
        details={
            "product_id": item.product_id,
            "product_title": item.product_title,
            "version_title": item.title,
            "ami_name": item.ami.name,
            "architecture": item.ami.architecture,
            **details,
        },
    )


def change_set_target(
    item: VersionItem,
    state: TargetState,
    ref: ChangeSetRef | None,
    *,
    status: str = "",
    error: str | None = None,
    remedy: str | None = None,
) -> Target:
    details: dict[str, Any] = {
        "product_id": item.product_id,
        "change_set_name": item.change_set_name,
        "client_request_token": item.token,
    }
    where = ("marketplace-change-set", item.change_set_key, item.ami.image_id)
    return _request_target(where, state, ref, status, error, remedy, details)


def restrict_target(
    product: ProductPlan,
    state: TargetState,
    versions: Sequence[ProductVersion],
    ref: ChangeSetRef | None = None,
    *,
    status: str = "",
    error: str | None = None,
    remedy: str | None = None,
) -> Target:
    details: dict[str, Any] = {
        "product_id": product.product_id,
        "keep_versions": product.keep_versions,
        "versions": [v.to_json() for v in versions],
    }
    where = ("marketplace-restriction", product.restrict_key, None)
    return _request_target(where, state, ref, status, error, remedy, details)


def _request_target(
    where: tuple[str, str, str | None],
    state: TargetState,
    ref: ChangeSetRef | None,
    status: str,
    error: str | None,
    remedy: str | None,
    details: dict[str, Any],
) -> Target:
    """A target that is one change set (its ID, ARN, status and request page)."""
    kind, key, source = where
    if ref is not None:
        details.update({"arn": ref.arn, "status": status or ref.status, "url": ref.url})
    return Target(
        kind,
        key,
        state,
        region=REGION,
        resource_id=ref.change_set_id if ref else None,
        source=source,
        error=error,
        remedy=remedy,
        details=details,
    )


def error_lines(errors: Sequence[ChangeError]) -> str:
    return "; ".join(f"{e.code}: {e.message}" for e in errors)


def product_label(item: VersionItem) -> str:
    return f"{item.product_title} ({item.product_id})" if item.product_title else item.product_id
