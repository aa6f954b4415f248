"""marketplace-changeset: each released AMI becomes a new version of its AWS Marketplace product.

Glue over :mod:`imgpub.marketplace`: ``read`` validates the inputs (the AMIs come from
``ami-id`` or from mirror-ami's / build-ami's results), ``prepare`` reads the AMIs in
us-east-1 and the products in the catalog and plans one change set per AMI (in a dry run
the Catalog API validates them), ``apply`` submits them — products in parallel, one at a
time per product — and waits for the verdicts; every ``ErrorDetailList`` entry becomes an
error annotation, a summary row with what to do, and part of the results document.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError

from imgpub.aws.errors import sdk_setup_errors
from imgpub.aws.marketplace_catalog import REGION, MarketplaceCatalog, catalog_error
from imgpub.aws.session import ClientFactory
from imgpub.errors import CloudError, ConfigError
from imgpub.flow import StageContext
from imgpub.gha import Gha
from imgpub.marketplace.amis import AmiFacts
from imgpub.marketplace.apply import ApplyContext, apply_plan
from imgpub.marketplace.discovery import (
    Assignment,
    CatalogFor,
    plan_products,
    read_amis,
    read_products,
)
from imgpub.marketplace.model import MarketplaceInputs, parse_marketplace_inputs
from imgpub.marketplace.plan import MarketplacePlan
from imgpub.marketplace.products import ProductRule
from imgpub.marketplace.remedies import remedy_for_change_error
from imgpub.marketplace.render import change_set_name
from imgpub.marketplace.result import MarketplaceResult
from imgpub.marketplace.spec import MARKETPLACE_INPUTS, MARKETPLACE_OUTPUTS
from imgpub.marketplace.validation import validate_plan
from imgpub.stages import STAGES

NAME = "marketplace-changeset"
HELP = STAGES[NAME].help
INPUTS = MARKETPLACE_INPUTS
OUTPUTS = MARKETPLACE_OUTPUTS
TITLE = f"imgpub {NAME}"


def read(ctx: StageContext) -> MarketplaceInputs:
    return parse_marketplace_inputs(ctx.inputs, ctx.previous)


def prepare(inputs: MarketplaceInputs, ctx: StageContext) -> MarketplacePlan:
    factory = ClientFactory(environ=ctx.env)
    catalog_for = _catalog_for(factory)
    with _aws_errors():
        ctx.gha.info(f"reading {len(inputs.ami_ids)} AMIs in {REGION} ({inputs.ami_origin})")
        amis = read_amis(factory.ec2(REGION), inputs.ami_ids, inputs.ami_origin)
        assignments = [Assignment(a, _rule_for(inputs, a)) for a in amis]
        names: dict[str, list[str]] = {}
        for a in assignments:
            names.setdefault(a.rule.product_id, []).append(
                change_set_name("Release", a.ami.name or a.ami.image_id)
            )
        ctx.gha.info(f"reading {len(names)} products: {', '.join(names)}")
        findings = read_products(names, catalog_for, ctx.cancel)
        plan = MarketplacePlan(
            products=plan_products(inputs, assignments, findings),
            wait=inputs.wait,
            deadline=inputs.deadline,
            dry_run=ctx.dry_run,
        )
        if ctx.dry_run:
            ctx.gha.info("asking the Catalog API to validate the change sets (Intent VALIDATE)")
            plan = validate_plan(plan, catalog_for, ctx.cancel)
    return plan


def apply(plan: MarketplacePlan, ctx: StageContext) -> MarketplaceResult:
    factory = ClientFactory(environ=ctx.env)
    log = _locked_log(ctx.gha)
    with _aws_errors():
        result = apply_plan(
            plan,
            _catalog_for(factory),
            ApplyContext(deadline=plan.deadline, wait=plan.wait, cancel=ctx.cancel, log=log),
        )
    for item, product, error in result.errors():
        where = f"{item.ami.image_id} → {product}" if item else f"restrict {product}"
        ctx.gha.error(
            f"{where}: {error.code}: {error.message} — {remedy_for_change_error(error.code)}",
            title=TITLE,
        )
    for level, line in result.problems():
        (ctx.gha.error if level == "error" else ctx.gha.warning)(line, title=TITLE)
    return result


def _rule_for(inputs: MarketplaceInputs, ami: AmiFacts) -> ProductRule:
    if inputs.product_id:
        return ProductRule(inputs.product_id, "", {})
    assert inputs.products is not None
    return inputs.products.product_for(ami, public=inputs.public_product)


def _catalog_for(factory: ClientFactory) -> CatalogFor:
    return lambda: MarketplaceCatalog(factory.marketplace_catalog(REGION))


def _locked_log(gha: Gha) -> Callable[[str], None]:
    """Workers log from their threads; one line at a time."""
    lock = threading.Lock()

    def log(message: str) -> None:
        with lock:
            gha.info(message)

    return log


@contextmanager
def _aws_errors() -> Iterator[None]:
    """Credentials, endpoint and permission problems as one line each (before apply: exit 2).

    Every client is built for us-east-1, so botocore's missing-region error cannot occur.
    """
    with sdk_setup_errors("ami-id"):
        try:
            yield
        except ClientError as exc:
            code, message = catalog_error(exc)
            if code in ("UnauthorizedOperation", "AuthFailure", "AccessDeniedException"):
                raise ConfigError(
                    f"not allowed: {code}: {message}",
                    remedy="grant the role ec2:DescribeImages and the aws-marketplace "
                    "permissions in the README's Security section",
                ) from None
            raise CloudError(f"{code}: {message}", remedy="re-run the same command") from None
