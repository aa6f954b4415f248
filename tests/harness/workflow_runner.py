"""Run a reusable workflow's job graph the way GitHub does, without GitHub.

``run_workflow(path, inputs=…, secrets=…, env=…)`` reads a ``workflow_call`` workflow and:

* checks the call as GitHub does before anything runs: unknown inputs or secrets and
  missing required ones are refused; inputs get their declared type (a ``boolean`` input
  is a boolean in expressions) and default;
* orders the jobs by ``needs`` (a cycle or an unknown job is refused), evaluates each job's
  ``if:`` with the ``needs`` context (no ``if:`` means every needed job succeeded; a job
  whose need failed or was skipped is skipped unless its condition uses a status function);
* expands ``strategy.matrix`` (lists, ``include``, ``exclude``) and runs the legs in turn,
  with ``fail-fast`` (the default) leaving the legs after a failed one unrun;
* runs each leg's steps through :func:`runner.run_action` (so ``if:``, ``env:``, outputs,
  file commands and masks behave as in the action harness), with ``inputs``, ``matrix``,
  ``needs`` and ``secrets`` in the expression contexts, the job's ``env:`` plus ``env``
  (the runner machine's environment), and ``ACTIONS_ID_TOKEN_REQUEST_*`` only where the job
  has ``id-token: write``;
* resolves job outputs after the last step (an output holding a masked value or a secret is
  dropped, as the runner does), and the workflow's outputs from ``jobs.<id>.outputs``.

Each ``uses:`` is one of :mod:`workflow_stubs`: imgpub's own actions run from this checkout,
the third-party actions the workflows use are stubbed, and anything else is refused. Jobs
of one run share one :class:`ArtifactStore`; a second run with a new store is a re-run.
"""

from __future__ import annotations

import itertools
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .expressions import Contexts, evaluate_condition, interpolate, to_string
from .runner import ActionResult, HarnessError, run_action
from .stubs import Stub
from .workflow_stubs import (
    ArtifactStore,
    OurActions,
    azure_login,
    checkout,
    configure_aws_credentials,
)

REPO = Path(__file__).resolve().parents[2]
_OUR_ACTION = re.compile(r"^[^/]+/imgpub/actions/([a-z0-9-]+)@[0-9a-f]{40}$")


@dataclass
class JobRun:
    """One job as the run's graph shows it: its result, outputs and each leg's action run."""

    id: str
    result: str  # success, failure or skipped
    outputs: dict[str, str] = field(default_factory=dict)
    legs: list[ActionResult] = field(default_factory=list)
    matrix: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class WorkflowRun:
    """A whole run: jobs in the order they ran, the workflow's outputs, what each action did."""

    jobs: dict[str, JobRun]
    outputs: dict[str, str]
    actions: list[tuple[str, ActionResult]]
    artifacts: ArtifactStore

    @property
    def order(self) -> list[str]:
        return list(self.jobs)

    def log(self) -> str:
        return "\n".join(leg.stdout for job in self.jobs.values() for leg in job.legs)


def load_workflow(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: not a workflow")
    if True in data and "on" not in data:
        data["on"] = data.pop(True)
    call = (data.get("on") or {}).get("workflow_call") if isinstance(data.get("on"), dict) else None
    if call is None:
        raise HarnessError(f"{path}: not a reusable workflow (no on.workflow_call)")
    return data


def _refuse_unknown(kind: str, declared: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise HarnessError(
            f"Invalid {kind}, {', '.join(unknown)} is not defined in the referenced workflow."
        )


def _typed_inputs(declared: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    _refuse_unknown("input", declared, given)
    out: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        kind = spec.get("type", "string")
        if name in given:
            value = given[name]
        elif spec.get("required"):
            raise HarnessError(f"Input {name} is required, but not provided while calling.")
        else:
            value = spec.get("default", False if kind == "boolean" else "")
        if kind == "boolean":
            if isinstance(value, str):
                if value not in ("true", "false"):
                    raise HarnessError(f"input {name}: {value!r} is not a boolean")
                value = value == "true"
        elif kind == "number":
            value = float(value)
        else:
            value = to_string(value)
        out[name] = value
    return out


def _checked_secrets(declared: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    _refuse_unknown("secret", declared, given)
    for name, spec in declared.items():
        if (spec or {}).get("required") and not given.get(name):
            raise HarnessError(f"Secret {name} is required, but not provided while calling.")
    return dict(given)


def _needs(job: Mapping[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else [str(n) for n in needs]


def job_order(jobs: Mapping[str, Any]) -> list[str]:
    """Jobs in an order that respects ``needs`` (file order among the ready ones)."""
    done: list[str] = []
    pending = list(jobs)
    while pending:
        ready = [j for j in pending if all(n in done for n in _needs(jobs[j]))]
        if not ready:
            missing = {n for j in pending for n in _needs(jobs[j]) if n not in jobs}
            what = f"unknown jobs {sorted(missing)}" if missing else f"a cycle among {pending}"
            raise HarnessError(f"the job graph cannot run: needs names {what}")
        done.append(ready[0])
        pending.remove(ready[0])
    return done


def expand_matrix(strategy: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The legs of ``strategy.matrix``: the product of its lists, minus exclude, plus include."""
    matrix = dict((strategy or {}).get("matrix") or {})
    if isinstance(matrix, str):
        raise HarnessError("a matrix from an expression is not supported by the harness")
    include = list(matrix.pop("include", []) or [])
    exclude = list(matrix.pop("exclude", []) or [])
    keys = list(matrix)
    legs = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*matrix.values())]
    legs = [
        leg
        for leg in legs
        if not any(all(leg.get(k) == v for k, v in ex.items()) for ex in exclude)
    ]
    for extra in include:
        matching = [
            leg for leg in legs if all(leg.get(k) == v for k, v in extra.items() if k in keys)
        ]
        if matching and keys:
            for leg in matching:
                leg.update(extra)
        else:
            legs.append(dict(extra))
    return legs or [{}]


def run_workflow(
    path: str | Path,
    inputs: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    aws_credentials: Mapping[str, str] | None = None,
    root: str | Path | None = None,
) -> WorkflowRun:
    """Run every job of the reusable workflow at ``path`` against what ``env`` points at."""
    doc = load_workflow(Path(path))
    call = doc["on"]["workflow_call"] or {}
    inputs_ctx = _typed_inputs(call.get("inputs") or {}, dict(inputs or {}))
    secrets_ctx = _checked_secrets(call.get("secrets") or {}, dict(secrets or {}))
    root = Path(root or tempfile.mkdtemp(prefix="imgpub-workflow-"))
    store = ArtifactStore(root / "artifacts")
    ours = OurActions(REPO / "actions")
    stubs: dict[str, Stub] = {
        "actions/upload-artifact": store.upload,
        "actions/download-artifact": store.download,
        "actions/checkout": checkout,
        "aws-actions/configure-aws-credentials": configure_aws_credentials(aws_credentials or {}),
        "azure/login": azure_login,
    }
    jobs: dict[str, Any] = doc.get("jobs") or {}
    for job in jobs.values():
        for step in job.get("steps") or []:
            match = _OUR_ACTION.match(str(step.get("uses", "")))
            if match:
                stubs[str(step["uses"]).split("@", 1)[0]] = ours.stub(match.group(1))
    runs: dict[str, JobRun] = {}
    for job_id in job_order(jobs):
        runs[job_id] = _run_job(
            job_id, jobs[job_id], doc, runs, inputs_ctx, secrets_ctx, env or {}, stubs, root
        )
    jobs_ctx = {j: {"result": r.result, "outputs": r.outputs} for j, r in runs.items()}
    final = Contexts({"jobs": jobs_ctx, "inputs": inputs_ctx})
    outputs = {
        str(name): interpolate(to_string((spec or {}).get("value", "")), final)
        for name, spec in (call.get("outputs") or {}).items()
    }
    return WorkflowRun(runs, outputs, ours.runs, store)


def _run_job(
    job_id: str,
    job: Mapping[str, Any],
    doc: Mapping[str, Any],
    runs: Mapping[str, JobRun],
    inputs_ctx: Mapping[str, Any],
    secrets_ctx: Mapping[str, str],
    machine_env: Mapping[str, str],
    stubs: Mapping[str, Stub],
    root: Path,
) -> JobRun:
    if "uses" in job:
        raise HarnessError(f"job {job_id}: calling a reusable workflow from a job is not supported")
    needs_ctx = {n: {"result": runs[n].result, "outputs": runs[n].outputs} for n in _needs(job)}
    a_need_failed = any(runs[n].result != "success" for n in _needs(job))
    values: dict[str, Any] = {"inputs": inputs_ctx, "needs": needs_ctx, "secrets": secrets_ctx}
    if not evaluate_condition(job.get("if"), Contexts({**values, "github": {}}, a_need_failed)):
        return JobRun(job_id, "skipped")
    permissions = job.get("permissions", doc.get("permissions")) or {}
    run = JobRun(job_id, "success", matrix=expand_matrix(job.get("strategy")))
    fail_fast = ((job.get("strategy") or {}).get("fail-fast", True)) is not False
    for index, leg in enumerate(run.matrix):
        if run.result == "failure" and fail_fast:
            break
        contexts = {**values, "matrix": leg, "strategy": {"job-index": index}}
        ctx = Contexts(contexts)
        job_env = dict(machine_env)
        for scope in (doc.get("env") or {}, job.get("env") or {}):
            job_env.update({str(k): interpolate(to_string(v), ctx) for k, v in scope.items()})
        if isinstance(permissions, dict) and permissions.get("id-token") == "write":
            job_env["ACTIONS_ID_TOKEN_REQUEST_URL"] = "https://harness.invalid/oidc"
            job_env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "harness-oidc-request-token"
        leg_dir = root / "jobs" / f"{job_id}-{index}"
        leg_dir.mkdir(parents=True, exist_ok=True)
        _write_job_action(leg_dir / "action", job_id, job)
        result = run_action(
            leg_dir / "action", env=job_env, stubs=stubs, root=leg_dir / "runner", contexts=contexts
        )
        run.legs.append(result)
        if result.exit_code != 0:
            run.result = "failure"
        secrets = [s for s in secrets_ctx.values() if s]
        for name, value in result.job_outputs().items():
            if value and not any(s in value for s in secrets):
                run.outputs[name] = value  # matrix legs: the last to set an output wins
            run.outputs.setdefault(name, "")
    return run


def _write_job_action(action_dir: Path, job_id: str, job: Mapping[str, Any]) -> None:
    """The job's steps as a composite action, its outputs as the action's."""
    action_dir.mkdir(parents=True, exist_ok=True)
    outputs = {
        str(k): {"description": str(k), "value": to_string(v)}
        for k, v in (job.get("outputs") or {}).items()
    }
    action = {
        "name": f"job {job_id}",
        "description": f"the steps of job {job_id}",
        "outputs": outputs,
        "runs": {"using": "composite", "steps": list(job.get("steps") or [])},
    }
    (action_dir / "action.yml").write_text(
        yaml.safe_dump(action, sort_keys=False), encoding="utf-8"
    )
