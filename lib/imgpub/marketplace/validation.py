"""A dry run asks the Catalog API to validate each change set (``Intent: VALIDATE``).

A validating change set is checked like a real one — the AMI, the access role, the title,
the instance type, the security groups — and then ends without touching the product, so a
dry run can say "AWS would accept this" instead of only "this is what would be sent". It
carries no ``ClientRequestToken`` of the real run (it must never be mistaken for it) and
does not lock the product. If the API cannot be asked (no permission, throttled), the plan
says so and the dry run still succeeds: the plan itself was built.
"""

from __future__ import annotations

from dataclasses import replace

from botocore.exceptions import BotoCoreError, ClientError

from imgpub.aws.marketplace_catalog import ChangeSetState, catalog_error
from imgpub.cancel import Cancellation
from imgpub.fanout import Failed, NotDone, fan_out
from imgpub.marketplace.discovery import CatalogFor
from imgpub.marketplace.items import Action, Validation, VersionItem
from imgpub.marketplace.plan import MarketplacePlan
from imgpub.marketplace.render import change_set_name
from imgpub.marketplace.waiting import PollSchedule, WaitEnd, poll


def validate_plan(
    plan: MarketplacePlan,
    catalog_for: CatalogFor,
    cancel: Cancellation,
    schedule: PollSchedule | None = None,
) -> MarketplacePlan:
    """The plan with every ``add`` item's validation verdict (or why there is none)."""
    wanted = [i for i in plan.items if i.action is Action.ADD]
    if not wanted:
        return plan
    every = schedule or PollSchedule()

    def work(item: VersionItem) -> Validation:
        catalog = catalog_for()
        ref = catalog.start_change_set(
            item.changes,
            name=change_set_name("Validate", item.ami.name or item.ami.image_id),
            token=None,
            intent="VALIDATE",
        )
        if not plan.wait:
            return Validation("", ref, note="started; wait is false, so not awaited")

        def probe() -> ChangeSetState | None:
            state = catalog.describe_change_set(ref.change_set_id)
            return state if state.finished else None

        state, end = poll(probe, deadline=plan.deadline, cancel=cancel, schedule=every)
        if state is None:
            why = "still running at the deadline" if end is WaitEnd.DEADLINE else "cancelled"
            return Validation("", ref, note=why)
        return Validation(state.status, ref, state.errors)

    by_key = {i.version_key: i for i in wanted}
    fan = fan_out(
        list(by_key), lambda k: work(by_key[k]), max_workers=min(8, len(by_key)), cancel=cancel
    )
    checked: dict[str, Validation] = {}
    for key, outcome in fan.outcomes.items():
        if isinstance(outcome, Failed):
            checked[key] = Validation("", note=_why_not(outcome.error))
        elif isinstance(outcome, NotDone):
            checked[key] = Validation("", note=outcome.reason)
        else:
            checked[key] = outcome
    products = tuple(
        replace(
            p,
            items=tuple(
                replace(i, validation=checked[i.version_key]) if i.version_key in checked else i
                for i in p.items
            ),
        )
        for p in plan.products
    )
    return replace(plan, products=products, validated=True)


def _why_not(exc: BaseException) -> str:
    if isinstance(exc, ClientError | BotoCoreError):
        code, message = catalog_error(exc)
        return f"could not be asked: {code}: {message}"
    return f"could not be asked: {type(exc).__name__}: {exc}"
