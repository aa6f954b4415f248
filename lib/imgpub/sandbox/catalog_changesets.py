"""Change sets of the fake Marketplace Catalog: their record, listing filters and pages.

A change set's summary and description are what ``ListChangeSets`` and
``DescribeChangeSet`` answer (cloud-apis.md §4.6): timestamps as ``YYYY-MM-DDTHH:MM:SSZ``
strings, each change with its ``ErrorDetailList``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from imgpub.sandbox.aws_json import AwsError

CATALOG = "AWSMarketplace"
ACCOUNT = "123456789012"


def iso(t: float) -> str:
    """The Catalog API's timestamps: ``YYYY-MM-DDTHH:MM:SSZ`` strings."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ChangeSet:
    """One change set and when it moves on (fake clock seconds)."""

    id: str
    name: str
    intent: str
    token: str
    changes: list[dict[str, Any]]
    started: float
    prepared_at: float
    applied_at: float
    status: str = "PREPARING"
    ended: float | None = None
    failure_code: str = ""
    failure_description: str = ""
    errors: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    #: Finish at this many more DescribeChangeSet calls of it (None: by the clock alone).
    describes_left: int | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:aws-marketplace:us-east-1:{ACCOUNT}:{CATALOG}/ChangeSet/{self.id}"

    @property
    def entity_ids(self) -> list[str]:
        return sorted({entity_id(c) for c in self.changes})

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ChangeSetId": self.id,
            "ChangeSetArn": self.arn,
            "StartTime": iso(self.started),
            "Status": self.status,
            "EntityIdList": self.entity_ids,
        }
        if self.name:
            out["ChangeSetName"] = self.name
        if self.ended is not None:
            out["EndTime"] = iso(self.ended)
        if self.failure_code:
            out["FailureCode"] = self.failure_code
        return out

    def describe(self) -> dict[str, Any]:
        out = self.summary()
        del out["EntityIdList"]
        out["Intent"] = self.intent
        if self.failure_description:
            out["FailureDescription"] = self.failure_description
        out["ChangeSet"] = [
            {**change, "ErrorDetailList": self.errors.get(i, [])}
            for i, change in enumerate(self.changes)
        ]
        return out


def entity_id(change: Mapping[str, Any]) -> str:
    """The entity a change targets, without its ``@revision``."""
    return str(change["Entity"].get("Identifier", "")).split("@", 1)[0]


def change_details(change: Mapping[str, Any]) -> dict[str, Any]:
    if "DetailsDocument" in change:
        return dict(change["DetailsDocument"])
    loaded = json.loads(change["Details"])
    return dict(loaded)


def matches(change_set: ChangeSet, filters: Sequence[Mapping[str, Any]]) -> bool:
    for f in filters:
        values = list(f.get("ValueList", []))
        name = f.get("Name")
        if name == "EntityId":
            ok = any(v.split("@", 1)[0] in change_set.entity_ids for v in values)
        elif name == "Status":
            ok = change_set.status in values
        elif name == "ChangeSetName":
            ok = change_set.name in values
        elif name in ("AfterStartTime", "BeforeStartTime"):
            bound = datetime.strptime(values[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            start = datetime.fromtimestamp(change_set.started, UTC)
            ok = start >= bound if name == "AfterStartTime" else start <= bound
        else:
            raise AwsError("ValidationException", f"Unknown filter {name}.", 422)
        if not ok:
            return False
    return True


def page(items: list[Any], params: Mapping[str, Any], *, limit: int) -> tuple[list[Any], str]:
    size = int(params.get("MaxResults") or limit)
    start = 0
    if params.get("NextToken"):
        try:
            start = int(base64.b64decode(params["NextToken"]).decode())
        except ValueError:
            raise AwsError("ValidationException", "NextToken is not valid.", 422) from None
    chunk = items[start : start + size]
    more = start + size < len(items)
    return chunk, base64.b64encode(str(start + size).encode()).decode() if more else ""
