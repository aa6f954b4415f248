"""A stateful fake of the AWS Marketplace Catalog API for AMI products.

moto has no Marketplace Catalog, so the sandbox owns this fake; the real boto3
``marketplace-catalog`` client reaches it through ``AWS_ENDPOINT_URL_MARKETPLACE_CATALOG``
like any endpoint, and requests are read back and validated with botocore's own model
(:class:`~imgpub.sandbox.aws_json.AwsJsonFake`). It keeps what a release depends on:

* entities ``AmiProduct@1.0`` with versions and delivery options (``DescribeEntity``,
  ``ListEntities``), seeded with :meth:`FakeCatalog.add_product`;
* change sets that move ``PREPARING → APPLYING → SUCCEEDED`` over a configurable time
  (``preparing_seconds``, ``applying_seconds``; :meth:`FakeCatalog.advance` moves the
  fake's clock so a test needs not wait), or end ``FAILED`` with an ``ErrorDetailList``
  found while preparing (:mod:`imgpub.sandbox.catalog_checks`: AMI unknown or not in
  us-east-1, duplicate version title, missing or untrusting access role, ...);
  ``Intent: VALIDATE`` checks and changes nothing;
* ``ResourceInUseException`` (423) while a change set is open on an entity, a
  ``ClientRequestToken`` that returns the first change set again, ``ListChangeSets``
  filters and pages, ``CancelChangeSet`` before ``APPLYING``.

The AMI and role checks ask the local AWS (moto) when ``aws_endpoint`` is given, as the
real ingestion looks into the seller's account; without it every AMI and role is taken
as found. Time moves only when a request or verb looks at it, so no thread is needed.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from botocore.model import OperationModel

from imgpub.sandbox.aws_json import AwsError, AwsJsonFake, action
from imgpub.sandbox.catalog_assets import AwsAssets, OpenAssets
from imgpub.sandbox.catalog_changesets import (
    ACCOUNT,
    CATALOG,
    ChangeSet,
    change_details,
    entity_id,
    iso,
    matches,
    page,
)
from imgpub.sandbox.catalog_checks import (
    ROLE_ARN,
    Assets,
    check_add_delivery_options,
    check_restrict_delivery_options,
)
from imgpub.sandbox.catalog_entities import AMI_PRODUCT, AmiProduct, version_document
from imgpub.sandbox.fake_server import verb

OPEN = ("PREPARING", "APPLYING")
_NAME_CHARS = r"^[\w\s+=.:@-]+$"


class FakeCatalog(AwsJsonFake):
    """AWS Marketplace Catalog (REST-JSON) for ``AmiProduct@1.0`` entities."""

    SERVICE = "marketplace-catalog"
    VALIDATION_ERROR = "ValidationException"
    ERROR_CODES: ClassVar[Mapping[int, str]] = {
        **AwsJsonFake.ERROR_CODES,
        402: "ServiceQuotaExceededException",
        403: "AccessDeniedException",
        422: "ValidationException",
        423: "ResourceInUseException",
        500: "InternalServiceException",
    }

    def __init__(
        self,
        *,
        preparing_seconds: float = 2.0,
        applying_seconds: float = 2.0,
        aws_endpoint: str | None = None,
        **server: Any,
    ) -> None:
        self.preparing_seconds = preparing_seconds
        self.applying_seconds = applying_seconds
        self.assets: Assets = AwsAssets(aws_endpoint) if aws_endpoint else OpenAssets()
        super().__init__(**server)

    def reset_state(self) -> None:
        self.products: dict[str, AmiProduct] = {}
        self.change_sets: dict[str, ChangeSet] = {}
        self.tokens: dict[str, tuple[str, str]] = {}
        self.scan_findings: dict[str, list[dict[str, str]]] = {}
        self.skew = 0.0

    def now(self) -> float:
        return time.time() + self.skew

    def validate(self, operation: OperationModel, params: Mapping[str, Any]) -> None:
        """The model's check; the Catalog answers ``ValidationException`` with HTTP 422."""
        try:
            super().validate(operation, params)
        except AwsError as exc:
            raise AwsError(exc.code, exc.message, 422) from None

    # -- seeding and inspecting (verbs) -----------------------------------------------------

    @verb
    def add_product(
        self,
        product_id: str,
        title: str,
        visibility: str = "Public",
        instance_types: Sequence[str] = (),
        versions: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """An AMI product; each version: {title, ami_id, architecture, instance_type,
        visibility, created (ISO time)}."""
        product = AmiProduct(product_id, title, visibility, list(instance_types))
        for v in versions:
            product.versions.append(version_document(**v))
        self.products[product_id] = product
        return {"EntityId": product_id}

    @verb
    def set_timing(self, preparing_seconds: float, applying_seconds: float) -> None:
        """How long change sets started from now on stay PREPARING, then APPLYING."""
        self.preparing_seconds = preparing_seconds
        self.applying_seconds = applying_seconds

    @verb
    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward: open change sets progress as if time had passed."""
        self.skew += seconds
        self._tick()

    @verb
    def finish_on_describe(self, describes: int) -> None:
        """Open change sets finish at their ``describes``-th DescribeChangeSet from now.

        Tests that must catch a change set in flight on a re-run use this instead of moving
        the clock to just before its end, which raced the re-run's start-up on a busy machine.
        """
        for change_set in self.change_sets.values():
            if change_set.ended is None:
                change_set.describes_left = describes

    @verb
    def add_scan_findings(self, ami_id: str, findings: Sequence[Mapping[str, str]]) -> None:
        """The AMI's security scan reports these ``{ErrorCode, ErrorMessage}`` entries."""
        self.scan_findings[ami_id] = [dict(f) for f in findings]

    @verb
    def entity(self, product_id: str) -> dict[str, Any]:
        self._tick()
        return self._product(product_id).details()

    @verb
    def change_set(self, change_set_id: str) -> dict[str, Any]:
        self._tick()
        return self._change_set(change_set_id).describe()

    # -- the API ------------------------------------------------------------------------------

    @action("StartChangeSet")
    def start_change_set(self, params: dict[str, Any]) -> dict[str, Any]:
        self._tick()
        self._check_catalog(params)
        name = params.get("ChangeSetName", "")
        _check_text("ChangeSetName", name, _NAME_CHARS, 100, optional=True)
        token = params.get("ClientRequestToken") or str(uuid.uuid4())
        _check_text("ClientRequestToken", token, r"^[!-~]+$", 64)
        intent = params.get("Intent", "APPLY")
        if intent not in ("APPLY", "VALIDATE"):
            raise AwsError("ValidationException", f"Intent {intent!r} is not valid.", 422)
        changes = [self._checked_change(c) for c in params["ChangeSet"]]
        kinds = [(c["ChangeType"], entity_id(c)) for c in changes]
        if len(set(kinds)) != len(kinds):
            raise AwsError(
                "ValidationException", "A change type can target an entity once per set.", 422
            )
        fingerprint = json.dumps([intent, name, changes], sort_keys=True, default=str)
        if token in self.tokens:
            known, earlier = self.tokens[token]
            if earlier != fingerprint:
                raise AwsError(
                    "ValidationException",
                    "ClientRequestToken was already used for a different request.",
                    422,
                )
            return _ids(self.change_sets[known])
        if intent == "APPLY":
            for _, product in kinds:
                busy = self._open_on(product)
                if busy:
                    raise AwsError(
                        "ResourceInUseException",
                        f"Entity {product} is locked by change set {busy[0].id}.",
                        423,
                    )
        now = self.now()
        change_set = ChangeSet(
            id=_new_id(),
            name=name,
            intent=intent,
            token=token,
            changes=changes,
            started=now,
            prepared_at=now + self.preparing_seconds,
            applied_at=now + self.preparing_seconds + self.applying_seconds,
        )
        self.change_sets[change_set.id] = change_set
        self.tokens[token] = (change_set.id, fingerprint)
        return _ids(change_set)

    @action("DescribeChangeSet")
    def describe_change_set(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(params)
        change_set = self._change_set(params["ChangeSetId"])
        if change_set.describes_left is not None:
            change_set.describes_left -= 1
            if change_set.describes_left <= 0:
                change_set.describes_left = None
                change_set.prepared_at = change_set.applied_at = self.now()
        self._tick()
        return change_set.describe()

    @action("ListChangeSets")
    def list_change_sets(self, params: dict[str, Any]) -> dict[str, Any]:
        self._tick()
        self._check_catalog(params)
        found = [c for c in self.change_sets.values() if matches(c, params.get("FilterList", []))]
        sort = params.get("Sort", {})
        key = {"ChangeSetName": "name", "Status": "status", "EndTime": "ended"}.get(
            sort.get("SortBy", "StartTime"), "started"
        )
        found.sort(key=lambda c: (getattr(c, key) or 0, c.id))
        if sort.get("SortOrder") == "DESCENDING":
            found.reverse()
        items, token = page(found, params, limit=20)
        out: dict[str, Any] = {"ChangeSetSummaryList": [c.summary() for c in items]}
        if token:
            out["NextToken"] = token
        return out

    @action("CancelChangeSet")
    def cancel_change_set(self, params: dict[str, Any]) -> dict[str, Any]:
        self._tick()
        self._check_catalog(params)
        change_set = self._change_set(params["ChangeSetId"])
        if change_set.status == "APPLYING":
            raise AwsError("ResourceInUseException", "The change set is already applying.", 423)
        if change_set.status != "PREPARING":
            raise AwsError("ValidationException", f"The change set is {change_set.status}.", 422)
        change_set.status, change_set.ended = "CANCELLED", self.now()
        return _ids(change_set)

    @action("DescribeEntity")
    def describe_entity(self, params: dict[str, Any]) -> dict[str, Any]:
        self._tick()
        self._check_catalog(params)
        product = self._product(params["EntityId"])
        document = product.details()
        return {
            "EntityType": AMI_PRODUCT,
            "EntityIdentifier": f"{product.product_id}@{product.revision}",
            "EntityArn": product.arn(ACCOUNT),
            "LastModifiedDate": iso(product.modified),
            "Details": json.dumps(document),
            "DetailsDocument": document,
        }

    @action("ListEntities")
    def list_entities(self, params: dict[str, Any]) -> dict[str, Any]:
        self._tick()
        self._check_catalog(params)
        wanted = params["EntityType"]
        found = [p for p in self.products.values() if wanted in (AMI_PRODUCT, "AmiProduct")]
        items, token = page(sorted(found, key=lambda p: p.product_id), params, limit=50)
        out: dict[str, Any] = {"EntitySummaryList": [p.summary(ACCOUNT) for p in items]}
        if token:
            out["NextToken"] = token
        return out

    # -- the change-set life cycle ------------------------------------------------------------

    def _tick(self) -> None:
        """Move every open change set along to where the clock says it is, oldest first."""
        now = self.now()
        for change_set in sorted(self.change_sets.values(), key=lambda c: c.started):
            if change_set.status == "PREPARING" and now >= change_set.prepared_at:
                self._prepare(change_set)
            if change_set.status == "APPLYING" and now >= change_set.applied_at:
                for change in change_set.changes:
                    self._apply(change, change_set.applied_at)
                change_set.status, change_set.ended = "SUCCEEDED", change_set.applied_at

    def _prepare(self, change_set: ChangeSet) -> None:
        """Validate each change against the entity as it is now (the set holds its lock)."""
        for i, change in enumerate(change_set.changes):
            product = self.products.get(entity_id(change))
            if product is None:
                problems = [{"ErrorCode": "ENTITY_NOT_FOUND", "ErrorMessage": "No such entity."}]
            elif change["ChangeType"] == "AddDeliveryOptions":
                problems = check_add_delivery_options(
                    change_details(change), product.details(), self.assets, self.scan_findings
                )
            elif change["ChangeType"] == "RestrictDeliveryOptions":
                problems = check_restrict_delivery_options(
                    change_details(change), product.details()
                )
            else:
                problems = [
                    {
                        "ErrorCode": "UNSUPPORTED_CHANGE_TYPE",
                        "ErrorMessage": f"The fake does not apply {change['ChangeType']}.",
                    }
                ]
            if problems:
                change_set.errors[i] = problems
        if change_set.errors:
            change_set.status, change_set.ended = "FAILED", change_set.prepared_at
            change_set.failure_code = "CLIENT_ERROR"
            change_set.failure_description = "One or more changes failed validation."
        elif change_set.intent == "VALIDATE":
            change_set.status, change_set.ended = "SUCCEEDED", change_set.prepared_at
        else:
            change_set.status = "APPLYING"

    def _apply(self, change: Mapping[str, Any], when: float) -> None:
        product = self.products[entity_id(change)]
        details = change_details(change)
        if change["ChangeType"] == "AddDeliveryOptions":
            option = details["DeliveryOptions"][0]["Details"]["AmiDeliveryOptionDetails"]
            image = self.assets.image(option["AmiSource"]["AmiId"])
            product.add_version(details, architecture=image.architecture if image else "", at=when)
        else:
            product.restrict(details["DeliveryOptionIds"], at=when)

    # -- helpers ------------------------------------------------------------------------------

    def _open_on(self, product_id: str) -> list[ChangeSet]:
        return [
            c
            for c in self.change_sets.values()
            if c.status in OPEN and c.intent == "APPLY" and product_id in c.entity_ids
        ]

    def _checked_change(self, change: Mapping[str, Any]) -> dict[str, Any]:
        has_string, has_document = "Details" in change, "DetailsDocument" in change
        if has_string == has_document:
            raise AwsError(
                "ValidationException", "Give either Details or DetailsDocument, not both.", 422
            )
        _check_text("ChangeType", change["ChangeType"], r"^[A-Z][\w]*$", 255)
        if change["Entity"]["Type"] != AMI_PRODUCT:
            raise AwsError(
                "ValidationException", f"Entity type {change['Entity']['Type']} is not known.", 422
            )
        if has_string:
            try:
                loaded = json.loads(change["Details"])
            except ValueError:
                raise AwsError("ValidationException", "Details is not valid JSON.", 422) from None
            if not isinstance(loaded, dict):
                raise AwsError("ValidationException", "Details must be a JSON object.", 422)
        product = entity_id(change)
        if product not in self.products:
            raise AwsError("ResourceNotFoundException", f"Entity {product} not found.", 404)
        return dict(change)

    def _check_catalog(self, params: Mapping[str, Any]) -> None:
        if params.get("Catalog") != CATALOG:
            raise AwsError(
                "ResourceNotFoundException", f"Catalog {params.get('Catalog')} not found.", 404
            )

    def _product(self, product_id: str) -> AmiProduct:
        product = self.products.get(product_id)
        if product is None:
            raise AwsError("ResourceNotFoundException", f"Entity {product_id} not found.", 404)
        return product

    def _change_set(self, change_set_id: str) -> ChangeSet:
        found = self.change_sets.get(change_set_id)
        if found is None:
            raise AwsError(
                "ResourceNotFoundException", f"Change set {change_set_id} not found.", 404
            )
        return found


def _ids(change_set: ChangeSet) -> dict[str, str]:
    return {"ChangeSetId": change_set.id, "ChangeSetArn": change_set.arn}


def _new_id() -> str:
    return uuid.uuid4().hex[:25]


def _check_text(name: str, value: Any, pattern: str, limit: int, optional: bool = False) -> None:
    """What the model documents but botocore's validator leaves to the service."""
    if optional and value == "":
        return
    if not isinstance(value, str) or not 1 <= len(value) <= limit or not re.match(pattern, value):
        raise AwsError(
            "ValidationException",
            f"{name} must be 1 to {limit} characters matching {pattern}.",
            422,
        )


__all__ = ["CATALOG", "ROLE_ARN", "ChangeSet", "FakeCatalog"]
