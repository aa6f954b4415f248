"""What a marketplace-changeset run did, per AMI and per product, and its report.

Outcomes carry the verdict and every ``ErrorDetailList`` entry; the report turns them into
the two targets per AMI (see :mod:`imgpub.marketplace.report`), the ``change-sets``
output, the job summary (per AMI: name, ID, architecture, product, version title, the
change set linked to the seller portal's request page, verdict and errors, each with what
to do) and one ``::error`` annotation per error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from imgpub.aws.marketplace_catalog import ChangeError, ChangeSetRef
from imgpub.gha import Summary
from imgpub.marketplace.entity import ProductVersion
from imgpub.marketplace.items import ProductPlan, VersionItem
from imgpub.marketplace.remedies import RERUN, remedy_for_change_error
from imgpub.marketplace.report import (
    change_set_target,
    entry,
    error_lines,
    product_label,
    restrict_entry,
    restrict_target,
    version_target,
)
from imgpub.results import Target, TargetState
from imgpub.stage import json_output


class Verdict(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the change set was cancelled (in the seller portal)
    PENDING = "pending"  # still running at the deadline
    INTERRUPTED = "interrupted"  # this run was cancelled while it waited
    STARTED = "started"  # wait: false
    EXISTED = "existed"  # nothing to do
    NOT_STARTED = "not-started"  # the deadline, a cancel or a busy product came first
    REFUSED = "refused"  # StartChangeSet itself failed
    SKIPPED = "skipped"  # (restriction) the new versions did not all succeed


#: Verdict → (state of the version, state of its change set).
_STATES: dict[Verdict, tuple[TargetState, TargetState]] = {
    Verdict.SUCCEEDED: ("created", "created"),
    Verdict.FAILED: ("failed", "failed"),
    Verdict.CANCELLED: ("failed", "failed"),
    Verdict.PENDING: ("cancelled", "created"),
    Verdict.INTERRUPTED: ("cancelled", "created"),
    Verdict.STARTED: ("skipped", "created"),
    Verdict.EXISTED: ("existed", "existed"),
    Verdict.NOT_STARTED: ("cancelled", "cancelled"),
    Verdict.REFUSED: ("failed", "failed"),
    Verdict.SKIPPED: ("skipped", "skipped"),
}


@dataclass(frozen=True)
class Outcome:
    """How one change set (or the lack of one) ended."""

    verdict: Verdict
    change_set: ChangeSetRef | None = None
    adopted: bool = False
    status: str = ""
    errors: tuple[ChangeError, ...] = ()
    message: str = ""
    remedy: str = ""

    @property
    def error(self) -> str | None:
        text = "; ".join(p for p in (self.message, error_lines(self.errors)) if p)
        return text or None


@dataclass(frozen=True)
class VersionOutcome:
    item: VersionItem
    outcome: Outcome


@dataclass(frozen=True)
class RestrictOutcome:
    product: ProductPlan
    versions: tuple[ProductVersion, ...]
    outcome: Outcome


@dataclass(frozen=True)
class MarketplaceResult:
    versions: tuple[VersionOutcome, ...]
    restrictions: tuple[RestrictOutcome, ...] = ()

    # -- Report ------------------------------------------------------------------------------

    def targets(self) -> list[Target]:
        out: list[Target] = []
        for v in self.versions:
            o = v.outcome
            version_state, cs_state = _STATES[o.verdict]
            if o.change_set is not None:
                adopted: TargetState = "existed" if cs_state == "created" else cs_state
                out.append(
                    change_set_target(
                        v.item,
                        adopted if o.adopted else cs_state,
                        o.change_set,
                        status=o.status,
                        error=o.error if cs_state == "failed" else None,
                        remedy=o.remedy if cs_state == "failed" else None,
                    )
                )
            resource = v.item.existing_version_id or None
            out.append(
                version_target(
                    v.item,
                    version_state,
                    resource_id=resource,
                    error=o.error if version_state in ("failed", "cancelled") else None,
                    remedy=o.remedy or None,
                    verdict=str(o.verdict),
                    change_set_id=o.change_set.change_set_id if o.change_set else None,
                    errors=[{"code": e.code, "message": e.message} for e in o.errors],
                )
            )
        for r in self.restrictions:
            o = r.outcome
            state = "existed" if o.verdict is Verdict.EXISTED else _STATES[o.verdict][0]
            out.append(
                restrict_target(
                    r.product,
                    state,
                    r.versions,
                    o.change_set,
                    status=o.status,
                    error=o.error,
                    remedy=o.remedy or None,
                )
            )
        return out

    def change_sets(self) -> list[dict[str, Any]]:
        rows = [
            entry(v.item, str(v.outcome.verdict), v.outcome.change_set, v.outcome.status)
            for v in self.versions
        ]
        rows += [
            restrict_entry(
                r.product, str(r.outcome.verdict), r.outcome.change_set, r.outcome.status
            )
            for r in self.restrictions
            if r.outcome.change_set is not None
        ]
        return rows

    def outputs(self) -> Mapping[str, str]:
        return {"change-sets": json_output(self.change_sets())}

    def data(self) -> Mapping[str, Any]:
        pending = [
            v.outcome.change_set.change_set_id
            for v in self.versions
            if v.outcome.verdict in (Verdict.PENDING, Verdict.INTERRUPTED) and v.outcome.change_set
        ]
        return {"change_sets": self.change_sets(), "pending": pending}

    def problems(self) -> list[tuple[str, str]]:
        """(``error`` or ``warning``, line) for outcomes without an ErrorDetailList entry:
        a refused request, a failure AWS gave no detail for, a change set still running."""
        out: list[tuple[str, str]] = []
        for v in self.versions:
            o = v.outcome
            where = f"{v.item.ami.image_id} → {v.item.product_id}"
            if o.errors or not o.message:
                continue
            if o.verdict in (Verdict.REFUSED, Verdict.FAILED, Verdict.CANCELLED):
                out.append(("error", f"{where}: {o.message} — {o.remedy}"))
            elif o.verdict in (Verdict.PENDING, Verdict.INTERRUPTED, Verdict.NOT_STARTED):
                out.append(("warning", f"{where}: {o.message} — {o.remedy}"))
        for r in self.restrictions:
            o = r.outcome
            if not o.errors and o.verdict in (Verdict.REFUSED, Verdict.FAILED):
                out.append(("error", f"restrict {r.product.product_id}: {o.message} — {o.remedy}"))
        return out

    def errors(self) -> list[tuple[VersionItem | None, str, ChangeError]]:
        """(item, product, error) for every ErrorDetailList entry: one annotation each."""
        out: list[tuple[VersionItem | None, str, ChangeError]] = []
        for v in self.versions:
            out.extend((v.item, v.item.product_id, e) for e in v.outcome.errors)
        for r in self.restrictions:
            out.extend((None, r.product.product_id, e) for e in r.outcome.errors)
        return out

    def summarize(self, summary: Summary) -> None:
        verdicts = [v.outcome.verdict for v in self.versions]
        bad = {Verdict.FAILED, Verdict.CANCELLED, Verdict.REFUSED}
        waiting = {Verdict.PENDING, Verdict.INTERRUPTED, Verdict.NOT_STARTED}
        if any(v in bad for v in verdicts):
            title = "marketplace-changeset: some change sets failed"
        elif any(v in waiting for v in verdicts):
            title = "marketplace-changeset: change sets still running"
        else:
            title = "marketplace-changeset: done"
        summary.heading(title)
        counts = ", ".join(f"{verdicts.count(v)} {v}" for v in Verdict if v in verdicts)
        summary.text(f"{len(verdicts)} AMIs: {counts}.")
        summary.table(
            ["AMI", "AMI ID", "architecture", "product", "version title", "change set", "verdict"],
            [_row(v) for v in self.versions],
        )
        links = [(v.item.ami.image_id, v.outcome.change_set) for v in self.versions]
        links += [
            (f"restrict {r.product.product_id}", r.outcome.change_set) for r in self.restrictions
        ]
        shown = [(what, cs.change_set_id, cs.url) for what, cs in links if cs is not None]
        if shown:
            summary.heading("Requests in the seller portal", 3)
            summary.table(["for", "change set", "request page"], shown)
        failures = [v for v in self.versions if v.outcome.error and v.outcome.verdict in bad]
        if failures or self.errors():
            summary.heading("Errors and what to do", 3)
            summary.table(["AMI ID", "product", "error", "what to do"], _error_rows(self))
        elif any(v in waiting for v in verdicts):
            summary.heading("Not finished, and what to do", 3)
            summary.table(["AMI ID", "product", "error", "what to do"], _error_rows(self))
        if any(v in waiting for v in verdicts):
            summary.text(
                "Change sets still running are recorded with their IDs and go on at AWS: "
                + RERUN
                + " (it waits for them instead of starting new ones)."
            )
        if self.restrictions:
            summary.heading("Older versions restricted (keep-versions)", 3)
            summary.table(
                ["product", "versions", "change set", "verdict", "note"],
                [
                    (
                        r.product.product_id,
                        ", ".join(v.title for v in r.versions) or "none",
                        r.outcome.change_set.change_set_id if r.outcome.change_set else "",
                        str(r.outcome.verdict),
                        r.outcome.message,
                    )
                    for r in self.restrictions
                ],
            )


def _row(v: VersionOutcome) -> Sequence[str]:
    cs = v.outcome.change_set
    verdict = str(v.outcome.verdict) + (" (adopted)" if v.outcome.adopted else "")
    return (
        v.item.ami.name,
        v.item.ami.image_id,
        v.item.ami.architecture,
        product_label(v.item),
        v.item.title,
        cs.change_set_id if cs else "",
        verdict,
    )


def _error_rows(result: MarketplaceResult) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    for v in result.versions:
        o = v.outcome
        if o.errors:
            rows.extend(
                (v.item.ami.image_id, v.item.product_id, f"{e.code}: {e.message}",
                 remedy_for_change_error(e.code))
                for e in o.errors
            )  # fmt: skip
        elif o.message and o.verdict not in (Verdict.SUCCEEDED, Verdict.EXISTED):
            rows.append((v.item.ami.image_id, v.item.product_id, o.message, o.remedy))
    for r in result.restrictions:
        rows.extend(
            ("", r.product.product_id, f"{e.code}: {e.message}", remedy_for_change_error(e.code))
            for e in r.outcome.errors
        )
    return rows
