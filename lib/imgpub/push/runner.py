"""Running the plan: each chain's stages through run_stage, with its account's credentials.

Each stage run happens with its account's environment in place of the process's
(:func:`process_environment`). Each chain has its own results document
(``<results>.push/<chain>.json``), so build-ami's AMI is what the next stage of the chain
reads, as in a workflow; the push's own section records what every chain did. A run that
does not succeed stops its chain (the rest is ``not-started``), never the other chains.
Stage runs share the push's log, summary and masks (``Gha.nested``) but set no step
outputs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from imgpub.errors import EXIT_BAD_INPUT
from imgpub.flow import StageContext, StageModule
from imgpub.process_env import process_environment
from imgpub.push.model import Credentials
from imgpub.push.oidc import token_file
from imgpub.push.plan import Chain, PushPlan, StageRun
from imgpub.results import ResultsDocument
from imgpub.stage import run_stage
from imgpub.stages import STAGES, load_stage

#: What the push's own environment must not pass on: its own inputs (a stage would read
#: them as its own) and ambient credentials (each run gets its account's).
_DROPPED_PREFIXES = ("INPUT_",)
_DROPPED = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_TENANT_ID",
        "AZURE_STORAGE_CONNECTION_STRING",
        "IMGPUB_CONFIG",
    }
)
AWS_STAGES = frozenset({"build-ami", "mirror-ami", "marketplace-changeset"})


def chain_folder(results: Path) -> Path:
    return results.with_name(results.stem + ".push")


def base_env(env: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in env.items() if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)
    }


def run_env(
    run: StageRun, creds: Credentials, env: Mapping[str, str], skip: frozenset[str], token: str
) -> dict[str, str]:
    """The environment one stage run gets: its account's credentials and secret inputs."""
    out = base_env(env)
    if run.stage in AWS_STAGES:
        key, secret = creds.text("AWS_IMAGE_ACCESS_ID"), creds.text("AWS_IMAGE_SECRET_ACCESS")
        if run.stage == "marketplace-changeset" and creds.text("AWS_MARKETPLACE_ACCESS_ID"):
            key = creds.text("AWS_MARKETPLACE_ACCESS_ID")
            secret = creds.text("AWS_MARKETPLACE_SECRET_ACCESS")
        if creds.text("AWS_ROLE_ARN"):
            out["AWS_ROLE_ARN"] = creds.text("AWS_ROLE_ARN")
            out["AWS_WEB_IDENTITY_TOKEN_FILE"] = token
            out["AWS_ROLE_SESSION_NAME"] = f"imgpub-push-{creds.alias}"
        else:
            out["AWS_ACCESS_KEY_ID"], out["AWS_SECRET_ACCESS_KEY"] = key, secret
        if creds.text("AWS_REGION"):
            out["AWS_DEFAULT_REGION"] = out["AWS_REGION"] = creds.text("AWS_REGION")
        accounts = creds.items("AWS_SNAPSHOT_ACCOUNTS")
        if accounts and "share" not in skip and run.stage != "marketplace-changeset":
            out["INPUT_SHARE_ACCOUNTS"] = ",".join(accounts)  # only if the mapping gives none
        if run.stage == "marketplace-changeset" and creds.text("AWS_ACCESS_ROLE_ARN"):
            out["INPUT_ACCESS_ROLE_ARN"] = creds.text("AWS_ACCESS_ROLE_ARN")
    else:
        for ours, theirs in (
            ("AZURE_TENANT_ID", "AZURE_TENANT_ID"),
            ("AZURE_CLIENT_ID", "AZURE_CLIENT_ID"),
            ("AZURE_API_SECRET", "AZURE_CLIENT_SECRET"),
            ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_CONNECTION_STRING"),
            ("AZURE_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID"),
        ):
            if creds.text(ours):
                out[theirs] = creds.text(ours)
    return out


def run_plan(
    plan: PushPlan, ctx: StageContext, creds: Mapping[str, Credentials], results: Path
) -> list[dict[str, Any]]:
    """Every chain, in plan order; returns what each run did (for the push's report)."""
    folder = chain_folder(results)
    folder.mkdir(parents=True, exist_ok=True)
    tokens: dict[str, str] = {}
    done: list[dict[str, Any]] = []
    for chain in plan.chains:
        if ctx.cancel.is_set:
            done.append({"chain": chain, "runs": [], "stopped": ctx.cancel.reason})
            continue
        account = creds[chain.account]
        if account.text("AWS_ROLE_ARN") and chain.account not in tokens:
            tokens[chain.account] = token_file(ctx.env, ctx.gha.mask, folder / ".oidc")
        done.append(
            _run_chain(chain, ctx, account, plan.skip, folder, tokens.get(chain.account, ""))
        )
    return done


def _run_chain(
    chain: Chain,
    ctx: StageContext,
    creds: Credentials,
    skip: frozenset[str],
    folder: Path,
    token: str,
) -> dict[str, Any]:
    doc_path = folder / f"{chain.key}.json"
    runs: list[dict[str, Any]] = []
    stopped = ""
    for run in chain.runs:
        if run.skipped:
            runs.append({"stage": run.stage, "state": "skipped", "why": run.skipped})
            continue
        if stopped:
            runs.append({"stage": run.stage, "state": "not-started", "why": stopped})
            continue
        module = cast(StageModule, load_stage(STAGES[run.stage]))
        flags: dict[str, str | None] = dict(run.flags)
        flags["results"] = str(doc_path)
        env = run_env(run, creds, ctx.env, skip, token)
        ctx.gha.info(f"-- {chain.item.key} → {chain.account}: imgpub {run.stage}")
        with process_environment(env):
            code = run_stage(
                module, flags=flags, env=os.environ, gha=ctx.gha.nested(), cancel=ctx.cancel
            )
        runs.append(_outcome(run.stage, code, doc_path))
        if code != 0:
            stopped = f"imgpub {run.stage} exited {code}"
    return {"chain": chain, "runs": runs, "stopped": stopped, "document": str(doc_path)}


def _outcome(stage: str, code: int, doc_path: Path) -> dict[str, Any]:
    """The run's section, which run_stage saves for every exit code but 2 (bad input)."""
    section = ResultsDocument.load(doc_path).section(stage) if doc_path.exists() else None
    if section is None or code == EXIT_BAD_INPUT:
        why = f"imgpub {stage} refused its inputs (exit {code}); its error is in the log above"
        return {"stage": stage, "state": "failed", "exit_code": code, "error": why}
    return {
        "stage": stage,
        "state": "failed" if code != 0 else section.status,
        "exit_code": code,
        "counts": section.counts(),
        "outputs": dict(section.outputs),
        "error": (section.error or {}).get("message", ""),
    }
