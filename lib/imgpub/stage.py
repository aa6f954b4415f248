"""The flow every stage shares: inputs → run → results document, outputs, summary, exit code.

A stage module only turns validated inputs into targets and outputs; :func:`run_stage` does
everything around it the same way for every stage, so that exit codes, the results
document, the summary on failure and the output rules cannot drift between actions.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from imgpub.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_PARTIAL,
    ConfigError,
    ImgpubError,
    InputError,
)
from imgpub.gha import Gha, Summary
from imgpub.inputs import COMMON_OUTPUTS, InputReader, InputSpec, OutputSpec
from imgpub.results import ResultsDocument, Section, Target, default_results_path, utc_now


class StageModule(Protocol):
    """What a module under ``imgpub.stages`` provides."""

    NAME: str
    HELP: str
    INPUTS: tuple[InputSpec, ...]
    OUTPUTS: tuple[OutputSpec, ...]

    def run(self, ctx: StageContext) -> StageResult: ...


@dataclass
class StageContext:
    """Everything a stage may use; nothing else reaches it (clients are built from env)."""

    stage: str
    inputs: InputReader
    gha: Gha
    summary: Summary
    previous: ResultsDocument
    section: Section
    env: Mapping[str, str]

    @property
    def dry_run(self) -> bool:
        return self.section.dry_run

    def record(self, target: Target) -> Target:
        return self.section.add(target)


@dataclass
class StageResult:
    """Outputs for the next job and stage-specific data for the results document."""

    outputs: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def load_config(path_text: str | None, stage: str) -> dict[str, object]:
    """The stage's section of an imgpub config file (``{<stage>: {<input>: value}}``)."""
    if not path_text:
        return {}
    path = Path(path_text)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror}", remedy="check --config-file"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}",
            remedy="fix the YAML syntax",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must be a mapping of stage names to inputs",
            remedy=f"write e.g. '{stage}: {{dry-run: true}}'",
        )
    section = data.get(stage, {})
    if not isinstance(section, dict):
        raise ConfigError(
            f"config file {path}: '{stage}' must map input names to values",
            remedy="indent the inputs under the stage name",
        )
    return {str(k): v for k, v in section.items()}


def run_stage(
    module: StageModule,
    *,
    flags: Mapping[str, str | None],
    env: Mapping[str, str] | None = None,
    gha: Gha | None = None,
    debug: bool = False,
    config_file: str | None = None,
) -> int:
    """Run one stage end to end and return its exit code (0, 1, 2 or 3)."""
    env = os.environ if env is None else env
    gha = gha or Gha(env)
    summary = Summary()
    started = time.monotonic()
    results_path: Path | None = None
    section = Section(stage=module.NAME)
    previous = ResultsDocument()
    try:
        config = load_config(config_file or env.get("IMGPUB_CONFIG"), module.NAME)
        reader = InputReader(module.INPUTS, flags=flags, env=env, config=config, mask=gha.mask)
        given = reader.text("results")
        results_path = Path(given) if given else default_results_path(env)
        previous = ResultsDocument.load(results_path)
        section.dry_run = reader.boolean("dry-run")
        section.inputs = reader.given_values()
        ctx = StageContext(
            stage=module.NAME,
            inputs=reader,
            gha=gha,
            summary=summary,
            previous=previous,
            section=section,
            env=env,
        )
        result = module.run(ctx)
        section.data.update(result.data)
        section.status = section.decide_status()
        outputs = _complete_outputs(module, result.outputs, section, results_path)
        section.outputs = outputs
        code = _exit_code(section)
    except ImgpubError as exc:
        code = exc.exit_code
        section.error = {"message": exc.message, "remedy": exc.remedy, "exit_code": code}
        section.status = "failed"
        _report_failure(gha, summary, module.NAME, exc.one_line(), exc, debug)
        outputs = {"status": "failed"}
        if results_path is not None:
            outputs["results-path"] = str(results_path)
    except Exception as exc:  # anything unexpected is a bug: say so, keep the results
        code = EXIT_FAILURE
        message = f"unexpected error: {type(exc).__name__}: {exc}"
        section.error = {
            "message": message,
            "remedy": "re-run with --debug for a traceback and report it",
            "exit_code": code,
        }
        section.status = "failed"
        _report_failure(gha, summary, module.NAME, message, exc, debug)
        outputs = {"status": "failed"}
        if results_path is not None:
            outputs["results-path"] = str(results_path)

    section.finished_at = utc_now()
    section.duration_seconds = time.monotonic() - started
    bad_input = section.error is not None and section.error.get("exit_code") == EXIT_BAD_INPUT
    if results_path is not None and not bad_input:
        # A bad-input failure changed nothing; it must not replace a good earlier section.
        previous.run = _run_info(env) or previous.run
        previous.put(section)
        try:
            previous.save(results_path)
        except OSError as exc:
            gha.error(f"could not write the results document {results_path}: {exc}")
            code = code or EXIT_FAILURE
    try:
        gha.set_outputs(outputs)
    except ImgpubError as exc:
        gha.error(exc.one_line())
        code = code or EXIT_FAILURE
    if not summary.empty:
        gha.write_summary(summary)
    return code


def _complete_outputs(
    module: StageModule, outputs: Mapping[str, str], section: Section, results_path: Path
) -> dict[str, str]:
    declared = {o.name for o in (*module.OUTPUTS, *COMMON_OUTPUTS)}
    unknown = set(outputs) - declared
    if unknown:
        raise RuntimeError(f"stage {module.NAME} set undeclared outputs: {sorted(unknown)}")
    full = dict(outputs)
    full["status"] = section.status if section.status != "planned" else "success"
    full["results-path"] = str(results_path)
    return full


def _exit_code(section: Section) -> int:
    status = section.status
    if status == "partial":
        return EXIT_PARTIAL
    if status == "failed":
        return EXIT_FAILURE
    return EXIT_OK


def _report_failure(
    gha: Gha,
    summary: Summary,
    stage: str,
    line: str,
    exc: BaseException,
    debug: bool,
) -> None:
    """One line on the log (an error annotation in Actions) and the remedy in the summary."""
    gha.error(line, title=f"imgpub {stage}")
    if debug:
        gha.info("".join(traceback.format_exception(exc)))
    summary.heading(f"imgpub {stage} failed", 2)
    if isinstance(exc, ImgpubError):
        summary.text(exc.message)
        if exc.remedy:
            summary.text(f"What to do: {exc.remedy}")
        if isinstance(exc, InputError | ConfigError):
            summary.text("Nothing was changed: the problem was found before any change.")
    else:
        summary.text(line)
        summary.text("This is a bug in imgpub. Re-run with --debug and report the traceback.")


def _run_info(env: Mapping[str, str]) -> dict[str, str]:
    keys = {
        "repository": "GITHUB_REPOSITORY",
        "run_id": "GITHUB_RUN_ID",
        "run_attempt": "GITHUB_RUN_ATTEMPT",
        "workflow": "GITHUB_WORKFLOW",
        "sha": "GITHUB_SHA",
    }
    return {k: env[v] for k, v in keys.items() if env.get(v)}


def json_output(value: object) -> str:
    """Compact JSON for outputs: consumers read them with fromJSON()."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
