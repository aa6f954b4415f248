"""Run a composite ``action.yml`` the way the GitHub runner does, without GitHub.

What is faithful (because our actions depend on it):

* inputs: defaults applied (they may be expressions), ``required`` *not* enforced (the
  runner doesn't, so the entrypoint's own validation is what a test exercises), unknown
  inputs refused (as a workflow linter would at the call site); composite steps see inputs
  only through ``env:`` — no ``INPUT_*`` is set for them;
* a ``run:`` body containing ``${{`` is refused before anything runs: it would be template
  injection on the real runner;
* each ``run:`` step is written to a file and started with the runner's command line for
  its shell; a composite ``run:`` step without ``shell`` is refused, as the runner does;
* fresh ``GITHUB_OUTPUT``/``GITHUB_ENV``/``GITHUB_PATH``/``GITHUB_STEP_SUMMARY`` files per
  step, parsed after the step with the runner's rules (see ``filecommands``); a parse error
  fails the step; env and PATH changes apply to later steps only;
* the runner's variables are set and inherited ``GITHUB_*``/``INPUT_*``/``RUNNER_*``/
  ``ACTIONS_*`` are cleared, so a test on a developer laptop or inside CI behaves the same;
* outputs are resolved through the composite ``value:`` mappings after the last step;
  ``job_outputs()`` then drops those containing a masked value, as the runner does
  ("Skip output 'x' since it may contain secret").

What is not: ``uses:`` steps run registered Python stubs instead of real actions
(``actions/setup-python`` → the current interpreter), and only a small expression subset
is understood (see ``expressions``).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .commands import Annotation, CommandLog, Mask
from .expressions import Contexts, evaluate_condition, interpolate, to_string
from .filecommands import FileCommandError, parse_key_values, parse_path_file, prepend_path
from .stubs import DEFAULT_STUBS, Stub, StubCall


class HarnessError(Exception):
    """The action cannot run at all (the runner would refuse it, or the harness cannot)."""


# The runner's command lines for the shells a composite step may name.
SHELLS: dict[str, tuple[list[str], str]] = {
    "bash": (["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"], ".sh"),
    "sh": (["sh", "-e", "{0}"], ".sh"),
    "python": (["python", "{0}"], ".py"),
}

SUMMARY_LIMIT = 1024 * 1024
_CLEARED_PREFIXES = ("GITHUB_", "INPUT_", "RUNNER_", "ACTIONS_")


@dataclass
class StepResult:
    """One step as the runner would report it."""

    index: int
    id: str | None
    name: str
    outcome: Literal["success", "failure", "skipped"]
    conclusion: Literal["success", "failure", "skipped"]
    exit_code: int | None
    outputs: dict[str, str]
    summary: str
    log: str
    error: str | None = None


@dataclass
class ActionResult:
    """Everything a test may assert on after :func:`run_action`.

    ``exit_code`` is that of the step that failed the action (0 on success); ``outputs`` are
    resolved through the composite ``value:`` mappings; ``env``/``path`` are what the action
    exported to the caller's later steps; ``stdout`` is every step's stdout and stderr, in
    order, as one log (the runner interleaves them the same way).
    """

    exit_code: int
    outputs: dict[str, str]
    env: dict[str, str]
    path: list[str]
    summaries: list[str]
    annotations: list[Annotation]
    debug: list[str]
    masks: list[Mask]
    stdout: str
    steps: list[StepResult]
    log: CommandLog
    runner_warnings: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0

    @property
    def summary(self) -> str:
        """The job summary as GitHub would show it: the step summaries in order."""
        return "".join(self.summaries)

    @property
    def mask_values(self) -> list[str]:
        return [m.value for m in self.masks]

    def annotations_of(self, kind: str) -> list[Annotation]:
        return [a for a in self.annotations if a.kind == kind]

    def step(self, step_id: str) -> StepResult:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def job_outputs(self) -> dict[str, str]:
        """The outputs a job exposing all of this action's outputs would pass on.

        The runner skips (with a warning) any job output containing a registered secret or
        mask; a downstream job then sees an empty ``needs.<job>.outputs.<name>``.
        """
        kept: dict[str, str] = {}
        warnings: list[str] = []
        for name, value in self.outputs.items():
            if any(m.value in value for m in self.masks):
                warnings.append(f"Skip output '{name}' since it may contain secret.")
                continue
            kept[name] = value
        self.runner_warnings = warnings
        return kept


def load_action(action_dir: Path) -> dict[str, Any]:
    """Read action.yml (or action.yaml) and refuse what the runner would refuse."""
    for name in ("action.yml", "action.yaml"):
        if (action_dir / name).is_file():
            data = yaml.safe_load((action_dir / name).read_text(encoding="utf-8"))
            break
    else:
        raise HarnessError(f"no action.yml in {action_dir}")
    runs = data.get("runs") or {}
    if runs.get("using") != "composite":
        raise HarnessError(f"{action_dir}: only composite actions are supported")
    for i, step in enumerate(runs.get("steps") or []):
        if "run" in step:
            if "${{" in str(step["run"]):
                raise HarnessError(
                    f"{action_dir}: step {i} has '${{{{' in its run: body (template injection);"
                    ' pass the value through env: and use "$VAR"'
                )
            if "shell" not in step:
                raise HarnessError(
                    f"{action_dir}: run step {i} has no shell (required in composite)"
                )
        elif "uses" not in step:
            raise HarnessError(f"{action_dir}: step {i} has neither run nor uses")
    return dict(data)


def _clean_base_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED_PREFIXES)}
    env.pop("CI", None)
    env.update(extra)
    return env


def run_action(
    action_dir: str | Path,
    inputs: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    stubs: Mapping[str, Stub] | None = None,
    *,
    root: str | Path | None = None,
    tool_cache: str | Path | None = None,
    event_name: str = "workflow_dispatch",
    event: Mapping[str, Any] | None = None,
    reuse_venv: str | None = sys.prefix,
    step_timeout: float = 900,
    contexts: Mapping[str, Any] | None = None,
) -> ActionResult:
    """Run the composite action in ``action_dir`` and return what the runner would record.

    ``inputs`` are the caller's ``with:``; ``env`` is the job's environment (what a workflow
    would put under ``env:``); ``stubs`` add to or replace :data:`DEFAULT_STUBS`, keyed by
    the action name without ``@ref``. ``root`` holds the fake runner's directories (a temp
    dir by default); ``tool_cache`` defaults to ``<root>/toolcache``.

    ``reuse_venv`` is exported as ``IMGPUB_PREINSTALLED_VENV`` so the shared install script
    reuses the dev venv instead of pip-installing imgpub for every test; pass ``None`` to
    run the real install.

    ``contexts`` adds expression contexts (``matrix``, ``needs``, ``secrets``, a workflow's
    ``inputs``): the workflow runner runs a job's steps as an action this way.
    """
    action_path = Path(action_dir).resolve()
    action = load_action(action_path)
    declared: dict[str, Any] = {
        str(k).lower(): v or {} for k, v in (action.get("inputs") or {}).items()
    }
    given = {str(k).lower(): v for k, v in (inputs or {}).items()}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise HarnessError(
            f"unknown inputs {unknown}; {action_path.name} accepts {sorted(declared)}"
        )
    all_stubs = {**DEFAULT_STUBS, **(stubs or {})}

    owned_tmp = None
    if root is None:
        owned_tmp = tempfile.TemporaryDirectory(prefix="imgpub-harness-")
        root = owned_tmp.name
    root = Path(root)
    workspace, temp = root / "workspace", root / "temp"
    files_dir = temp / "_runner_file_commands"
    cache = Path(tool_cache) if tool_cache is not None else root / "toolcache"
    for d in (workspace, temp, files_dir, cache):
        d.mkdir(parents=True, exist_ok=True)
    event_path = temp / "event.json"
    event_path.write_text(json.dumps(dict(event or {})), encoding="utf-8")

    github: dict[str, Any] = {
        "action_path": str(action_path),
        "workspace": str(workspace),
        "repository": "imgpub-org/imgpub-caller",
        "repository_owner": "imgpub-org",
        "sha": "0" * 40,
        "ref": "refs/heads/main",
        "ref_name": "main",
        "event_name": event_name,
        "event": dict(event or {}),
        "server_url": "https://github.com",
        "api_url": "https://api.github.com",
        "run_id": "1",
        "run_attempt": "1",
        "actor": "octocat",
        "job": "harness",
        "token": "ghs_harnesstoken",
    }
    runner: dict[str, str] = {
        "os": "Linux",
        "arch": "X64",
        "name": "harness",
        "temp": str(temp),
        "tool_cache": str(cache),
        "debug": "",
    }
    runner_env: dict[str, str] = {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_ACTION_PATH": str(action_path),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": github["repository"],
        "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
        "GITHUB_SHA": github["sha"],
        "GITHUB_REF": github["ref"],
        "GITHUB_REF_NAME": github["ref_name"],
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_SERVER_URL": github["server_url"],
        "GITHUB_API_URL": github["api_url"],
        "GITHUB_RUN_ID": github["run_id"],
        "GITHUB_RUN_ATTEMPT": github["run_attempt"],
        "GITHUB_ACTOR": github["actor"],
        "GITHUB_JOB": github["job"],
        "RUNNER_OS": runner["os"],
        "RUNNER_ARCH": runner["arch"],
        "RUNNER_NAME": runner["name"],
        "RUNNER_TEMP": str(temp),
        "RUNNER_TOOL_CACHE": str(cache),
    }
    job_env: dict[str, str] = dict(env or {})
    if reuse_venv is not None:
        job_env.setdefault("IMGPUB_PREINSTALLED_VENV", reuse_venv)

    exported: dict[str, str] = {}
    path_additions: list[str] = []
    steps_ctx: dict[str, dict[str, Any]] = {}
    log = CommandLog()
    results: list[StepResult] = []
    job_failed = False
    exit_code = 0

    base_values: dict[str, Any] = {"github": github, "runner": runner}
    input_values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            input_values[name] = to_string(given[name])
        else:
            default = spec.get("default")
            input_values[name] = (
                interpolate(to_string(default), Contexts({**base_values, "env": job_env}))
                if default is not None
                else ""
            )
    base_values["inputs"] = input_values
    base_values.update(contexts or {})

    try:
        for index, step in enumerate(action["runs"]["steps"]):
            step_id = step.get("id")
            name = str(step.get("name") or step.get("run") or step.get("uses"))
            env_ctx = {**job_env, **exported}
            ctx = Contexts({**base_values, "steps": steps_ctx, "env": env_ctx}, job_failed)
            if not evaluate_condition(step.get("if"), ctx):
                results.append(
                    StepResult(index, step_id, name, "skipped", "skipped", None, {}, "", "")
                )
                if step_id:
                    steps_ctx[step_id] = {
                        "outputs": {},
                        "outcome": "skipped",
                        "conclusion": "skipped",
                    }
                continue
            step_env = {
                str(k): interpolate(to_string(v), ctx) for k, v in (step.get("env") or {}).items()
            }
            proc_env = _clean_base_env(runner_env)
            proc_env.update(job_env)
            proc_env.update(exported)
            proc_env.update(step_env)
            proc_env["PATH"] = prepend_path(path_additions, proc_env.get("PATH", ""))
            proc_env["GITHUB_ACTION"] = step_id or f"__step{index}"

            outputs: dict[str, str] = {}
            summary = ""
            error: str | None = None
            if "uses" in step:
                uses = str(step["uses"])
                key = uses.split("@", 1)[0]
                if key not in all_stubs:
                    raise HarnessError(f"no stub registered for uses: {uses} (step {index})")
                with_ = {
                    str(k): interpolate(to_string(v), ctx)
                    for k, v in (step.get("with") or {}).items()
                }
                call = StubCall(uses, with_, proc_env)
                all_stubs[key](call)
                code, text = call.exit_code, call.stdout
                outputs = dict(call.outputs)
                exported.update(call.exported_env)
                path_additions.extend(call.path)
            else:
                files = {
                    kind: files_dir / f"{kind}_{uuid.uuid4()}"
                    for kind in ("set_output", "set_env", "add_path", "step_summary")
                }
                for f in files.values():
                    f.write_bytes(b"")
                proc_env["GITHUB_OUTPUT"] = str(files["set_output"])
                proc_env["GITHUB_ENV"] = str(files["set_env"])
                proc_env["GITHUB_PATH"] = str(files["add_path"])
                proc_env["GITHUB_STEP_SUMMARY"] = str(files["step_summary"])
                code, text = _run_script(step, index, ctx, proc_env, temp, workspace, step_timeout)
                try:
                    # read_bytes: read_text would translate CRLF, which the runner does not.
                    outputs = parse_key_values(_read(files["set_output"]), "output")
                    exported.update(parse_key_values(_read(files["set_env"]), "env"))
                    path_additions.extend(parse_path_file(_read(files["add_path"])))
                except FileCommandError as exc:
                    error = str(exc)
                    code = code or 1
                summary_bytes = files["step_summary"].read_bytes()
                if len(summary_bytes) > SUMMARY_LIMIT:
                    text += (
                        "\n::error::$GITHUB_STEP_SUMMARY upload aborted, supports content up to a"
                        f" size of 1024k, got {len(summary_bytes) // 1024}k.\n"
                    )
                else:
                    summary = summary_bytes.decode("utf-8")
            if error:
                text += f"\n::error::{error}\n"
            log.feed(text, index)

            continue_on_error = step.get("continue-on-error", False)
            if isinstance(continue_on_error, str):
                continue_on_error = interpolate(continue_on_error, ctx).strip().lower() == "true"
            outcome: Literal["success", "failure"] = "success" if code == 0 else "failure"
            conclusion: Literal["success", "failure"] = (
                "success" if code == 0 or continue_on_error else "failure"
            )
            if conclusion == "failure":
                job_failed = True
                exit_code = code or 1
            results.append(
                StepResult(
                    index, step_id, name, outcome, conclusion, code, outputs, summary, text, error
                )
            )
            if step_id:
                steps_ctx[step_id] = {
                    "outputs": outputs,
                    "outcome": outcome,
                    "conclusion": conclusion,
                }

        final_ctx = Contexts(
            {**base_values, "steps": steps_ctx, "env": {**job_env, **exported}}, job_failed
        )
        action_outputs = {
            str(name): interpolate(to_string((spec or {}).get("value", "")), final_ctx)
            for name, spec in (action.get("outputs") or {}).items()
        }
    finally:
        if owned_tmp is not None:
            owned_tmp.cleanup()

    return ActionResult(
        exit_code=exit_code,
        outputs=action_outputs,
        env=exported,
        path=path_additions,
        summaries=[s.summary for s in results if s.summary],
        annotations=log.annotations,
        debug=log.debug,
        masks=log.masks,
        stdout="\n".join(log.lines),
        steps=results,
        log=log,
    )


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _run_script(
    step: Mapping[str, Any],
    index: int,
    ctx: Contexts,
    env: dict[str, str],
    temp: Path,
    workspace: Path,
    timeout: float,
) -> tuple[int, str]:
    """Write the run: body to a file and start it with the shell's runner command line."""
    shell = str(step["shell"])
    if shell in SHELLS:
        template, suffix = SHELLS[shell]
    elif "{0}" in shell:
        template, suffix = shlex.split(shell), ""
    else:
        raise HarnessError(f"step {index}: shell {shell!r} is not supported by the harness")
    script = temp / f"step-{index}-{uuid.uuid4().hex}{suffix}"
    script.write_text(str(step["run"]), encoding="utf-8")
    argv = [part.replace("{0}", str(script)) for part in template]
    cwd = workspace
    if step.get("working-directory"):
        cwd = workspace / interpolate(str(step["working-directory"]), ctx)
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else ""
        return 124, out + f"\n::error::step {index} timed out after {timeout}s\n"
    return proc.returncode, proc.stdout.decode("utf-8", "replace")
