"""Applying a marketplace-changeset plan: one change set at a time per product, in parallel.

A product's entity is locked while a change set on it is open (a second StartChangeSet is
``ResourceInUseException``), so each product's AMIs go one after the other, while products
run side by side (:func:`imgpub.fanout.fan_out`). For one AMI:

1. wait while a change set is open on the product — adopting it if it adds this AMI (a
   run killed after StartChangeSet left it), otherwise waiting for it to end;
2. read the product again: a version with the title may have appeared meanwhile;
3. StartChangeSet with the item's ``ClientRequestToken`` (a retry returns the same change
   set); ``ResourceInUseException`` sends it back to 1;
4. with ``wait``, poll DescribeChangeSet until SUCCEEDED, FAILED or CANCELLED, the deadline
   (``pending``: recorded with its ID, exit 3, adopted by the re-run) or a cancel.

Then, with keep-versions and every new version in place, the product's older versions
are restricted the same way. A signal never cancels a change set: it keeps running at AWS
and the re-run adopts it. Progress is recorded as it happens, so a worker still busy when
the cancel grace ends is reported with the change set it started.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from imgpub.aws.marketplace_catalog import (
    OPEN_STATUSES,
    ChangeSetRef,
    ChangeSetState,
    catalog_error,
)
from imgpub.cancel import Cancellation
from imgpub.fanout import Failed, NotDone, fan_out
from imgpub.marketplace.discovery import ENDED_BADLY, CatalogApi, CatalogFor, ours
from imgpub.marketplace.entity import option_ids, parse_entity, versions_to_restrict
from imgpub.marketplace.items import Action, ProductPlan, VersionItem
from imgpub.marketplace.plan import MarketplacePlan
from imgpub.marketplace.remedies import RERUN, remedy_for_api_error, remedy_for_failure
from imgpub.marketplace.render import change_set_name, client_token
from imgpub.marketplace.report import RESTRICT
from imgpub.marketplace.result import (
    MarketplaceResult,
    Outcome,
    RestrictOutcome,
    Verdict,
    VersionOutcome,
)
from imgpub.marketplace.waiting import PollSchedule, WaitEnd, poll
from imgpub.text import first_line

Log = Callable[[str], None]
HEARTBEAT_SECONDS = 60.0


@dataclass
class ApplyContext:
    """What every product's worker shares: the deadline, the cancel flag, the clock, the log."""

    deadline: float
    wait: bool
    cancel: Cancellation
    log: Log
    schedule: PollSchedule = field(default_factory=PollSchedule)
    monotonic: Callable[[], float] = time.monotonic


def apply_plan(
    plan: MarketplacePlan, catalog_for: CatalogFor, ctx: ApplyContext
) -> MarketplaceResult:
    runs = {p.product_id: ProductRun(p, ctx) for p in plan.products}

    def work(product_id: str) -> None:
        runs[product_id].run(catalog_for())

    fan = fan_out(
        list(runs), work, max_workers=max(1, len(runs)), cancel=ctx.cancel, deadline=plan.deadline
    )
    versions: list[VersionOutcome] = []
    restrictions: list[RestrictOutcome] = []
    for product_id, outcome in fan.outcomes.items():
        run = runs[product_id]
        if isinstance(outcome, Failed):
            run.crashed(f"{type(outcome.error).__name__}: {outcome.message}")
        elif isinstance(outcome, NotDone):
            run.crashed(outcome.reason)
        v, r = run.snapshot()
        versions.extend(v)
        restrictions.extend(r)
    return MarketplaceResult(tuple(versions), tuple(restrictions))


class ProductRun:
    """One product's items, in order; what happened so far is readable from any thread."""

    def __init__(self, plan: ProductPlan, ctx: ApplyContext) -> None:
        self.plan = plan
        self.ctx = ctx
        self._lock = threading.Lock()
        self._done: dict[str, Outcome] = {}
        self._started: dict[str, ChangeSetRef] = {}
        self._restriction: RestrictOutcome | None = None
        self._stop_reason = ""

    # -- what the stage reads ------------------------------------------------------------------

    def snapshot(self) -> tuple[list[VersionOutcome], list[RestrictOutcome]]:
        with self._lock:
            versions = [VersionOutcome(i, self._outcome_of(i)) for i in self.plan.items]
            restrictions = [self._restriction] if self._restriction else []
            if not restrictions and self.plan.keep_versions is not None:
                reason = self._stop_reason or "the run ended before it"
                skipped = Outcome(Verdict.NOT_STARTED, message=reason, remedy=RERUN)
                restrictions = [RestrictOutcome(self.plan, self.plan.restrict, skipped)]
        return versions, restrictions

    def _outcome_of(self, item: VersionItem) -> Outcome:
        key = item.version_key
        if key in self._done:
            return self._done[key]
        started = self._started.get(key)
        reason = self._stop_reason or "the run ended before it"
        if started is not None:
            return Outcome(Verdict.INTERRUPTED, started, message=reason, remedy=RERUN)
        return Outcome(Verdict.NOT_STARTED, message=reason, remedy=RERUN)

    def crashed(self, reason: str) -> None:
        with self._lock:
            self._stop_reason = self._stop_reason or reason

    def _finish(self, item: VersionItem, outcome: Outcome) -> Outcome:
        with self._lock:
            self._done[item.version_key] = outcome
        return outcome

    # -- the work ------------------------------------------------------------------------------

    def run(self, catalog: CatalogApi) -> None:
        product = self.plan.product_id
        for item in self.plan.items:
            if self._stop_reason:
                break
            outcome = self._one(catalog, item)
            if outcome.verdict in (Verdict.PENDING, Verdict.INTERRUPTED, Verdict.NOT_STARTED):
                with self._lock:
                    self._stop_reason = self._stop_reason or (
                        f"{product} is still busy with change set "
                        f"{outcome.change_set.change_set_id}"
                        if outcome.change_set
                        else outcome.message
                    )
        if self.plan.keep_versions is not None:
            self._restrict(catalog)

    def _one(self, catalog: CatalogApi, item: VersionItem) -> Outcome:
        if item.action is Action.EXISTS:
            made_by = item.adopt
            found = Outcome(Verdict.EXISTED, made_by, adopted=made_by is not None,
                            status=made_by.status if made_by else "")  # fmt: skip
            return self._finish(item, found)
        try:
            if item.action is Action.ADOPT and item.adopt is not None:
                self._mark_started(item, item.adopt)
                return self._finish(item, self._await(catalog, item.adopt, adopted=True))
            return self._finish(item, self._add(catalog, item))
        except (ClientError, BotoCoreError) as exc:
            code, message = catalog_error(exc)
            started = self._started.get(item.version_key)
            verdict = Verdict.INTERRUPTED if started else Verdict.REFUSED
            outcome = Outcome(
                verdict, started, message=f"{code}: {message}", remedy=remedy_for_api_error(code)
            )
            self.ctx.log(f"{item.product_id}: {item.ami.image_id}: {code}: {first_line(message)}")
            return self._finish(item, outcome)

    def _add(self, catalog: CatalogApi, item: VersionItem) -> Outcome:
        while True:
            free = self._wait_until_free(
                catalog, item.product_id, lambda s: ours(s, item.product_id, item.ami.image_id)
            )
            if isinstance(free, Outcome):
                return free
            if free is not None:  # this AMI's change set is open already: adopt it
                self._mark_started(item, free)
                return self._await(catalog, free, adopted=True)
            state = parse_entity(item.product_id, catalog.describe_entity(item.product_id).document)
            existing = state.version_titled(item.title)
            if existing is not None:
                return Outcome(Verdict.EXISTED, message=f"version {existing.version_id} exists")
            try:
                ref = catalog.start_change_set(
                    item.changes, name=item.change_set_name, token=item.token
                )
            except ClientError as exc:
                if catalog_error(exc)[0] != "ResourceInUseException":
                    raise
                self.ctx.log(f"{item.product_id}: locked by another request; waiting")
                left = self.ctx.deadline - self.ctx.monotonic()
                if left <= 0 or self.ctx.cancel.sleep(min(self.ctx.schedule.first, left)):
                    why = "cancelled" if self.ctx.cancel.is_set else "the deadline passed"
                    return Outcome(
                        Verdict.NOT_STARTED,
                        message=f"{why} while {item.product_id} was locked by another request",
                        remedy=remedy_for_api_error("ResourceInUseException"),
                    )
                continue
            self.ctx.log(
                f"{item.product_id}: started change set {ref.change_set_id} for "
                f"{item.ami.image_id} ('{item.title}'): {ref.url}"
            )
            self._mark_started(item, ref)
            return self._await(catalog, ref, adopted=False)

    def _mark_started(self, item: VersionItem, ref: ChangeSetRef) -> None:
        with self._lock:
            self._started[item.version_key] = ref

    def _wait_until_free(
        self, catalog: CatalogApi, product_id: str, is_ours: Callable[[ChangeSetState], bool]
    ) -> ChangeSetRef | Outcome | None:
        """None when nothing is open; our open change set; or an Outcome when waiting ended."""
        seen: dict[str, ChangeSetState] = {}
        reported: set[str] = set()

        def probe() -> tuple[str, ChangeSetRef | None] | None:
            refs = catalog.list_change_sets(product_id, statuses=OPEN_STATUSES)
            for ref in refs:
                state = seen.get(ref.change_set_id) or catalog.describe_change_set(
                    ref.change_set_id
                )
                seen[ref.change_set_id] = state
                if is_ours(state):
                    return ("ours", state.ref)
            if not refs:
                return ("free", None)
            for ref in refs:
                if ref.change_set_id not in reported:
                    reported.add(ref.change_set_id)
                    self.ctx.log(
                        f"{product_id}: waiting for change set {ref.change_set_id} "
                        f"({ref.status}) of another request to end"
                    )
            return None

        found, end = self._poll(probe)
        if found is not None:
            ref: ChangeSetRef | None = found[1]
            return ref
        busy = ", ".join(sorted(seen)) or "another request"
        reason = "the deadline passed" if end is WaitEnd.DEADLINE else "the run was cancelled"
        return Outcome(
            Verdict.NOT_STARTED,
            message=f"{reason} while {product_id} was locked by change set {busy}",
            remedy="re-run once that change set has ended (or raise timeout)",
        )

    def _await(self, catalog: CatalogApi, ref: ChangeSetRef, *, adopted: bool) -> Outcome:
        if not self.ctx.wait:
            return Outcome(Verdict.STARTED, ref, adopted, ref.status, message="not waited for")
        last: list[str] = [""]
        beat: list[float] = [self.ctx.monotonic()]

        def probe() -> ChangeSetState | None:
            state = catalog.describe_change_set(ref.change_set_id)
            now = self.ctx.monotonic()
            if state.status != last[0] or now - beat[0] >= HEARTBEAT_SECONDS:
                self.ctx.log(f"change set {ref.change_set_id}: {state.status}")
                last[0], beat[0] = state.status, now
            return state if state.finished else None

        state, end = self._poll(probe)
        if state is None:
            verdict = Verdict.PENDING if end is WaitEnd.DEADLINE else Verdict.INTERRUPTED
            why = "still running at the deadline" if end is WaitEnd.DEADLINE else "run cancelled"
            return Outcome(
                verdict, ref, adopted, last[0], message=f"{why} ({last[0] or 'unknown'})",
                remedy=RERUN + " (the change set goes on at AWS; raise timeout to wait longer)",
            )  # fmt: skip
        ref = ChangeSetRef(ref.change_set_id, state.ref.arn or ref.arn, ref.name, state.status)
        if state.status == "SUCCEEDED":
            return Outcome(Verdict.SUCCEEDED, ref, adopted, state.status)
        codes = [e.code for e in state.errors]
        message = state.failure_description or f"the change set ended {state.status}"
        verdict = Verdict.FAILED if state.status == "FAILED" else Verdict.CANCELLED
        return Outcome(
            verdict,
            ref,
            adopted,
            state.status,
            errors=state.errors,
            message=f"{state.failure_code or state.status}: {message}",
            remedy=remedy_for_failure(state.failure_code, codes),
        )

    def _poll(self, probe: Callable[[], Any]) -> tuple[Any, WaitEnd]:
        return poll(
            probe,
            deadline=self.ctx.deadline,
            cancel=self.ctx.cancel,
            schedule=self.ctx.schedule,
            monotonic=self.ctx.monotonic,
        )

    # -- keep-versions -------------------------------------------------------------------------

    def _restrict(self, catalog: CatalogApi) -> None:
        keep = self.plan.keep_versions
        assert keep is not None
        verdicts = {self._outcome_of(i).verdict for i in self.plan.items}
        failed = {Verdict.FAILED, Verdict.REFUSED, Verdict.CANCELLED}
        if verdicts - {Verdict.SUCCEEDED, Verdict.EXISTED, *failed}:
            why = "the new versions are not confirmed yet, so nothing was restricted"
            self._set_restriction((), Outcome(Verdict.NOT_STARTED, message=why, remedy=RERUN))
            return
        if verdicts - {Verdict.SUCCEEDED, Verdict.EXISTED}:
            why = "a new version failed, so no older one was restricted"
            fix = "fix the failed versions and re-run"
            self._set_restriction((), Outcome(Verdict.SKIPPED, message=why, remedy=fix))
            return
        try:
            outcome, versions = self._restrict_now(catalog, keep)
        except (ClientError, BotoCoreError) as exc:
            code, message = catalog_error(exc)
            fix = remedy_for_api_error(code)
            outcome = Outcome(Verdict.REFUSED, message=f"{code}: {message}", remedy=fix)
            versions = ()
        self._set_restriction(versions, outcome)

    def _restrict_now(self, catalog: CatalogApi, keep: int) -> tuple[Outcome, tuple[Any, ...]]:
        product = self.plan.product_id
        name = change_set_name("Restrict", f"{product} beyond the newest {keep}")
        free = self._wait_until_free(catalog, product, lambda s: _restricts(s, product, name))
        if isinstance(free, Outcome):
            return free, ()
        if free is not None:
            return self._await(catalog, free, adopted=True), ()
        state = parse_entity(product, catalog.describe_entity(product).document)
        versions = tuple(versions_to_restrict(state, keep))
        if not versions:
            return Outcome(
                Verdict.EXISTED, message=f"no offered version beyond the newest {keep}"
            ), ()
        ids = option_ids(versions)
        failed = sum(
            1 for r in catalog.list_change_sets(product, name=name) if r.status in ENDED_BADLY
        )
        change = {
            "ChangeType": RESTRICT,
            "Entity": {"Type": "AmiProduct@1.0", "Identifier": product},
            "DetailsDocument": {"DeliveryOptionIds": ids},
        }
        token = client_token(product, "restrict", *sorted(ids), str(failed))
        ref = catalog.start_change_set([change], name=name, token=token)
        self.ctx.log(
            f"{product}: restricting {', '.join(v.title for v in versions)} "
            f"(change set {ref.change_set_id})"
        )
        return self._await(catalog, ref, adopted=False), versions

    def _set_restriction(self, versions: Sequence[Any], outcome: Outcome) -> None:
        with self._lock:
            self._restriction = RestrictOutcome(self.plan, tuple(versions), outcome)


def _restricts(state: ChangeSetState, product_id: str, name: str) -> bool:
    return state.ref.name == name and any(
        c.get("ChangeType") == RESTRICT
        and str(c.get("Entity", {}).get("Identifier", "")).split("@", 1)[0] == product_id
        for c in state.changes
    )


__all__ = ["ApplyContext", "Mapping", "ProductRun", "apply_plan"]
