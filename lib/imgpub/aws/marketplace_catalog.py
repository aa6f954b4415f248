"""The AWS Marketplace Catalog API as marketplace-changeset uses it: one request per method.

A narrow adapter over boto3's ``marketplace-catalog`` client (built by
:class:`imgpub.aws.session.ClientFactory`, in us-east-1, where the API lives): it pages
``ListChangeSets``, reads ``DescribeEntity``'s document whether it comes as
``DetailsDocument`` or as the older JSON string, and turns ``DescribeChangeSet`` into a
:class:`ChangeSetState` that keeps every ``ErrorDetailList`` entry. AWS errors stay
``ClientError``; :func:`catalog_error` names their code for the caller's remedies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_marketplace_catalog import MarketplaceCatalogClient

CATALOG = "AWSMarketplace"
REGION = "us-east-1"
AMI_PRODUCT = "AmiProduct@1.0"
OPEN_STATUSES = ("PREPARING", "APPLYING")
TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "CANCELLED")
#: The seller portal's page of one request (change set).
REQUEST_PAGE = "https://aws.amazon.com/marketplace/management/requests/{}"


@dataclass(frozen=True)
class ChangeError:
    """One ``ErrorDetailList`` entry of a failed change."""

    code: str
    message: str
    change_type: str = ""


@dataclass(frozen=True)
class ChangeSetRef:
    """A change set as ``StartChangeSet``/``ListChangeSets`` name it."""

    change_set_id: str
    arn: str
    name: str = ""
    status: str = ""

    @property
    def url(self) -> str:
        return REQUEST_PAGE.format(self.change_set_id)


@dataclass(frozen=True)
class ChangeSetState:
    """What ``DescribeChangeSet`` says: status, failure and each change's errors."""

    ref: ChangeSetRef
    status: str
    intent: str
    failure_code: str
    failure_description: str
    errors: tuple[ChangeError, ...]
    changes: tuple[Mapping[str, Any], ...]

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class Entity:
    """``DescribeEntity``: the entity's type, revisioned identifier and details document."""

    entity_id: str
    entity_type: str
    identifier: str
    document: Mapping[str, Any]


def catalog_error(exc: BaseException) -> tuple[str, str]:
    """(code, message) of an AWS error, for results and remedies."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return str(err.get("Code", "Error")), str(err.get("Message", ""))
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__, str(exc)
    return type(exc).__name__, str(exc)


def details_of(change: Mapping[str, Any]) -> Mapping[str, Any]:
    """A change's details, from ``DetailsDocument`` or the JSON string ``Details``."""
    document = change.get("DetailsDocument")
    if isinstance(document, Mapping):
        return document
    text = change.get("Details")
    if isinstance(text, str) and text:
        try:
            loaded = json.loads(text)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return {}


class MarketplaceCatalog:
    """Catalog calls on one client (one thread's; see ClientFactory)."""

    def __init__(self, client: MarketplaceCatalogClient) -> None:
        self.client = client

    def describe_entity(self, entity_id: str) -> Entity:
        answer = self.client.describe_entity(Catalog=CATALOG, EntityId=entity_id)
        document: Mapping[str, Any] = answer.get("DetailsDocument") or {}
        if not document and answer.get("Details"):
            document = details_of({"Details": answer["Details"]})
        return Entity(
            entity_id=entity_id,
            entity_type=str(answer.get("EntityType", "")),
            identifier=str(answer.get("EntityIdentifier", entity_id)),
            document=document,
        )

    def list_change_sets(
        self, entity_id: str, *, statuses: Sequence[str] = (), name: str = ""
    ) -> list[ChangeSetRef]:
        """Change sets on one entity, optionally of these statuses or with this name."""
        filters: list[dict[str, Any]] = [{"Name": "EntityId", "ValueList": [entity_id]}]
        if statuses:
            filters.append({"Name": "Status", "ValueList": list(statuses)})
        if name:
            filters.append({"Name": "ChangeSetName", "ValueList": [name]})
        kwargs: dict[str, Any] = {"Catalog": CATALOG, "FilterList": filters, "MaxResults": 20}
        found: list[ChangeSetRef] = []
        while True:
            page = self.client.list_change_sets(**kwargs)
            found.extend(
                ChangeSetRef(
                    change_set_id=s["ChangeSetId"],
                    arn=s.get("ChangeSetArn", ""),
                    name=s.get("ChangeSetName", ""),
                    status=s.get("Status", ""),
                )
                for s in page.get("ChangeSetSummaryList", [])
            )
            token = page.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    def describe_change_set(self, change_set_id: str) -> ChangeSetState:
        answer = self.client.describe_change_set(Catalog=CATALOG, ChangeSetId=change_set_id)
        changes: tuple[Mapping[str, Any], ...] = tuple(answer.get("ChangeSet", []))
        errors = tuple(
            ChangeError(
                code=str(e.get("ErrorCode", "")),
                message=str(e.get("ErrorMessage", "")),
                change_type=str(change.get("ChangeType", "")),
            )
            for change in changes
            for e in change.get("ErrorDetailList", [])
        )
        return ChangeSetState(
            ref=ChangeSetRef(
                change_set_id=change_set_id,
                arn=str(answer.get("ChangeSetArn", "")),
                name=str(answer.get("ChangeSetName", "")),
                status=str(answer.get("Status", "")),
            ),
            status=str(answer.get("Status", "")),
            intent=str(answer.get("Intent", "APPLY")),
            failure_code=str(answer.get("FailureCode", "")),
            failure_description=str(answer.get("FailureDescription", "")),
            errors=errors,
            changes=changes,
        )

    def start_change_set(
        self,
        changes: Sequence[Mapping[str, Any]],
        *,
        name: str,
        token: str | None,
        intent: str = "APPLY",
    ) -> ChangeSetRef:
        """Start a change set; with the same ``token`` AWS answers the first one again."""
        kwargs: dict[str, Any] = {
            "Catalog": CATALOG,
            "ChangeSet": [dict(c) for c in changes],
            "ChangeSetName": name,
            "Intent": intent,
        }
        if token:
            kwargs["ClientRequestToken"] = token
        answer = self.client.start_change_set(**kwargs)
        return ChangeSetRef(
            change_set_id=answer["ChangeSetId"],
            arn=answer.get("ChangeSetArn", ""),
            name=name,
            status="PREPARING",
        )
