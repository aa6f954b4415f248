"""push: staged images to every destination a StArMap-style mapping names, via the stages.

Glue in the flow shape (:mod:`imgpub.flow`): ``read`` parses sources, the mapping, the
credentials (masked first) and ``skip``; ``prepare`` resolves each item through the
mapping (a StArMap query is read-only), plans the stage runs and checks that every
account the plan uses has credentials — all exit 2 before any change; ``apply`` runs the
plan's stages through run_stage (:mod:`imgpub.push.runner`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from imgpub.errors import InputError
from imgpub.flow import StageContext
from imgpub.push.credentials import check_usable
from imgpub.push.inputs import PushInputs, parse_push_inputs
from imgpub.push.oidc import check_oidc_available
from imgpub.push.plan import Chain, ItemFailure, PushPlan
from imgpub.push.report import PushResult
from imgpub.push.runner import run_plan
from imgpub.push.spec import PUSH_INPUTS, PUSH_OUTPUTS
from imgpub.push.starmap import MappingResolver, NoMapping
from imgpub.push.workflows import plan_entity
from imgpub.results import default_results_path
from imgpub.stages import STAGES


def _require_sdks() -> None:
    """Fail at start (exit 2 naming the extra) when an SDK of the stages push runs is missing.

    ``find_spec`` finds the SDKs without importing them, so ``imgpub push --help`` stays as
    fast as any stage's; the stages themselves are imported when the plan runs them.
    """
    for module in ("boto3", "azure.identity", "azure.mgmt.compute", "azure.storage.blob"):
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)


_require_sdks()

NAME = "push"
HELP = STAGES[NAME].help
INPUTS = PUSH_INPUTS
OUTPUTS = PUSH_OUTPUTS
#: The CLI takes these positionally too: ``imgpub push SOURCE... --mapping FILE``.
POSITIONAL = "sources"


def read(ctx: StageContext) -> PushInputs:
    return parse_push_inputs(ctx.inputs, ctx.gha.mask)


def prepare(inputs: PushInputs, ctx: StageContext) -> PushPlan:
    resolver = MappingResolver(inputs.local, inputs.starmap_url, inputs.offline)
    regions = {a: c.text("AWS_REGION") for a, c in inputs.credentials.items()}
    chains: list[Chain] = []
    failures: list[ItemFailure] = []
    for item in inputs.items:
        try:
            entities = resolver.resolve(item)
        except NoMapping as exc:
            fix = "add a mapping for it, or drop offline to ask StArMap"
            failures.append(ItemFailure(item, str(exc), fix))
            continue
        planned = [c for e in entities for c in plan_entity(item, e, inputs.options, regions)]
        if not planned:
            why = f"its mappings have no destination for {item.architecture} ({item.release_type})"
            failures.append(ItemFailure(item, why, "check architecture and release_type"))
        chains += planned
    for chain in chains:
        _check_account(chain, inputs, ctx)
    return PushPlan(
        resolver.mode,
        inputs.items,
        tuple(chains),
        tuple(failures),
        inputs.options.pre_push,
        inputs.options.skip,
        inputs.credentials,
    )


def _check_account(chain: Chain, inputs: PushInputs, ctx: StageContext) -> None:
    creds = inputs.credentials.get(chain.account)
    if creds is None:
        raise InputError(
            "credentials",
            f"no credentials for account {chain.account!r} (needed by {chain.item.key} → "
            f"{', '.join(chain.destinations)})",
            f'add a document {{"marketplace_account": "{chain.account}", "auth": {{...}}}}',
        )
    check_usable(creds, chain.cloud)
    if creds.text("AWS_ROLE_ARN"):
        check_oidc_available(ctx.env, chain.account)


def apply(plan: PushPlan, ctx: StageContext) -> PushResult:
    given = ctx.inputs.text("results")
    results = Path(given) if given else default_results_path(ctx.env)
    return PushResult(plan, tuple(run_plan(plan, ctx, plan.credentials, results)))
