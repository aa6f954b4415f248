"""The plan of a marketplace-changeset run and its report: the whole answer of a dry run.

For every AMI it says which product it goes to, the change set it would start (rendered,
as JSON), or why none is needed (the version exists, or its change set is already running
and is adopted); per product the change sets of other requests it will wait for and the
versions keep-versions would restrict; in a dry run with credentials, what the Catalog
API's own validation said.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imgpub.gha import Summary
from imgpub.marketplace.items import Action, ProductPlan, VersionItem
from imgpub.marketplace.remedies import remedy_for_failure
from imgpub.marketplace.report import (
    change_set_target,
    entry,
    error_lines,
    product_label,
    restrict_entry,
    restrict_target,
    version_target,
)
from imgpub.results import Target
from imgpub.stage import json_output


@dataclass(frozen=True)
class MarketplacePlan:
    products: tuple[ProductPlan, ...]
    wait: bool
    deadline: float  # time.monotonic() of the run's deadline
    dry_run: bool = False
    validated: bool = False  # a dry run asked the API to validate (Intent VALIDATE)

    @property
    def items(self) -> tuple[VersionItem, ...]:
        return tuple(i for p in self.products for i in p.items)

    # -- Report ------------------------------------------------------------------------------

    def lines(self) -> list[str]:
        out: list[str] = []
        for product in self.products:
            count = len(product.items)
            out.append(
                f"product {product.product_id} '{product.title}': {count} AMI"
                + ("s" if count != 1 else "")
            )
            out.extend(
                f"wait   {c.change_set_id} ({c.status}), a request already open on it"
                for c in product.busy
            )
            for item in product.items:
                out.extend(_item_lines(item))
            if product.restrict:
                out.append(
                    f"restrict {len(product.restrict)} versions beyond the newest "
                    f"{product.keep_versions}, once the new ones succeed: "
                    + ", ".join(f"'{v.title}' ({v.created})" for v in product.restrict)
                )
        if self.dry_run and not self.validated:
            out.append("not validated by the Catalog API (nothing to add)")
        return out

    def targets(self) -> list[Target]:
        out: list[Target] = []
        for product in self.products:
            for item in product.items:
                out.extend(_item_targets(item))
            if product.restrict:
                out.append(restrict_target(product, "planned", product.restrict))
        return out

    def outputs(self) -> Mapping[str, str]:
        return {"change-sets": json_output(self.change_sets())}

    def change_sets(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for product in self.products:
            for item in product.items:
                if item.action is Action.EXISTS:
                    rows.append(entry(item, "existed", item.adopt))
                elif item.action is Action.ADOPT:
                    rows.append(entry(item, "pending", item.adopt))
                else:
                    rows.append(entry(item, "planned", None))
            if product.restrict:
                rows.append(restrict_entry(product, "planned", None))
        return rows

    def data(self) -> Mapping[str, Any]:
        return {
            "change_sets": self.change_sets(),
            "plan": [
                {
                    "ami": i.ami.image_id,
                    "product_id": i.product_id,
                    "action": str(i.action),
                    "version_title": i.title,
                    "change_set_name": i.change_set_name,
                    "change_set": list(i.changes),
                }
                for i in self.items
            ],
            "validated": self.validated,
        }

    def summarize(self, summary: Summary) -> None:
        title = "marketplace-changeset plan"
        summary.heading(title + (" (dry run: nothing was changed)" if self.dry_run else ""))
        summary.table(
            ["AMI", "AMI ID", "architecture", "product", "version title", "action", "instance"],
            [
                (
                    i.ami.name,
                    i.ami.image_id,
                    i.ami.architecture,
                    product_label(i),
                    i.title,
                    str(i.action),
                    i.instance_type,
                )
                for i in self.items
            ],
        )
        if self.validated:
            summary.heading("Validation by the Catalog API (Intent VALIDATE)", 3)
            summary.table(
                ["AMI ID", "product", "validation", "errors", "what to do"],
                [_validation_row(i) for i in self.items if i.validation is not None],
            )
        restricts = [(p, v) for p in self.products for v in p.restrict]
        if restricts:
            summary.heading("Versions to restrict once the new ones succeed", 3)
            summary.table(
                ["product", "version", "created", "delivery options"],
                [(p.product_id, v.title, v.created, len(v.options)) for p, v in restricts],
            )
        for item in self.items:
            if item.action is Action.ADD:
                summary.details(
                    f"Change set for {item.ami.image_id} → {item.product_id}",
                    json.dumps(list(item.changes), indent=2),
                    "json",
                )


def _item_lines(item: VersionItem) -> list[str]:
    if item.action is Action.EXISTS:
        return [
            f"exists {item.ami.image_id} → {item.product_id}: version '{item.title}' "
            f"({item.existing_version_id}) is already there"
        ]
    if item.action is Action.ADOPT:
        assert item.adopt is not None
        return [
            f"adopt  {item.ami.image_id} → {item.product_id}: change set "
            f"{item.adopt.change_set_id} ({item.adopt.status}) started earlier for it"
        ]
    lines = [
        f"add    {item.describe()} → {item.product_id} as '{item.title}', change set "
        f"'{item.change_set_name}', instance type {item.instance_type}"
    ]
    lines.extend("         " + ln for ln in json.dumps(list(item.changes), indent=2).splitlines())
    if item.validation is not None:
        v = item.validation
        where = f" (change set {v.change_set.change_set_id})" if v.change_set else ""
        verdict = v.status or "not asked"
        lines.append(f"validated by the Catalog API{where}: {verdict} {v.note}".rstrip())
        lines.extend(f"         {e.code}: {e.message}" for e in v.errors)
    return lines


def _item_targets(item: VersionItem) -> Sequence[Target]:
    if item.action is Action.EXISTS:
        made_by = [change_set_target(item, "existed", item.adopt)] if item.adopt else []
        return [*made_by, version_target(item, "existed", resource_id=item.existing_version_id)]
    if item.action is Action.ADOPT:
        return [
            change_set_target(item, "existed", item.adopt),
            version_target(item, "planned", change_set_id=item.adopt and item.adopt.change_set_id),
        ]
    validation = item.validation
    if validation is not None and validation.errors:
        codes = [e.code for e in validation.errors]
        error = error_lines(validation.errors)
        remedy = remedy_for_failure("", codes)
        return [
            change_set_target(item, "planned", None),
            version_target(item, "failed", error=f"validation: {error}", remedy=remedy),
        ]
    return [change_set_target(item, "planned", None), version_target(item, "planned")]


def _validation_row(item: VersionItem) -> tuple[str, str, str, str, str]:
    v = item.validation
    assert v is not None
    codes = [e.code for e in v.errors]
    return (
        item.ami.image_id,
        item.product_id,
        v.status or f"not asked: {v.note}",
        error_lines(v.errors),
        remedy_for_failure("", codes) if codes else "",
    )
