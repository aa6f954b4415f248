"""run_stage: the flow every stage shares, from inputs to the exit code.

A stage module only reads its inputs, plans and applies (see :mod:`imgpub.flow`);
:func:`run_stage` does everything around that the same way for every stage — phases and
log groups, the dry-run branch, cancellation by signal, the results document (with every
masked value scrubbed), outputs and the summary on failure — so exit codes and output rules
cannot drift between actions.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TypeGuard, cast

import yaml

from imgpub.cancel import GRACE_SECONDS, Cancellation, cancel_on_signals
from imgpub.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_PARTIAL,
    CloudError,
    ConfigError,
    ImgpubError,
    InputError,
)
from imgpub.flow import FlowStage, PlanReport, Report, RunStage, StageContext, StageModule
from imgpub.gha import Gha, Summary
from imgpub.inputs import COMMON_OUTPUTS, InputReader, check_output_path
from imgpub.notify.settings import NotifySettings, read_notify_settings
from imgpub.redact import redact_urls
from imgpub.results import ResultsDocument, Section, default_results_path, utc_now
from imgpub.text import first_line


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
    cancel: Cancellation | None = None,
) -> int:
    """Run one stage end to end and return its exit code (0, 1, 2 or 3)."""
    env = os.environ if env is None else env
    gha = gha or Gha(env)
    cancel = cancel or Cancellation()
    run = _StageRun(module, gha, env, cancel)
    with cancel_on_signals(cancel, run.on_signal):
        try:
            run.execute(flags, config_file)
        except KeyboardInterrupt as exc:  # a second signal: stop now, keep what is known
            run.interrupted(str(exc) or "SIGINT")
    return run.finish(debug)


class _StageRun:
    """One run of one stage: phases, recording and the exit code (see imgpub.flow)."""

    def __init__(
        self, module: StageModule, gha: Gha, env: Mapping[str, str], cancel: Cancellation
    ) -> None:
        self.module = module
        self.gha = gha
        self.env = env
        self.cancel = cancel
        self.summary = Summary()
        self.started = time.monotonic()
        self.section = Section(stage=module.NAME)
        self.previous = ResultsDocument()
        self.results_path: Path | None = None
        self.ctx: StageContext | None = None
        self.plan: PlanReport | None = None
        self.outputs: dict[str, str] = {"status": "failed"}
        self.failure: BaseException | None = None
        self.code = EXIT_OK
        self.notify: NotifySettings | None = None

    @property
    def changes_begun(self) -> bool:
        return self.ctx is not None and self.ctx.changes_begun

    def on_signal(self, name: str) -> None:
        self.gha.warning(
            f"{name} received: stopping new work; in-flight calls get {GRACE_SECONDS:.0f} s, "
            "then the results document is written (send it again to stop at once)",
            title=f"imgpub {self.module.NAME}",
        )

    def execute(self, flags: Mapping[str, str | None], config_file: str | None) -> None:
        try:
            ctx = self._context(flags, config_file)
            self.ctx = ctx
            if isinstance_flow(self.module):
                report = self._flow(self.module, ctx)
                if report is None:
                    return
                self._record_report(report)
            else:
                result = cast(RunStage, self.module).run(ctx)
                self.section.data.update(result.data)
                self._complete(result.outputs)
        except ImgpubError as exc:
            self._fail(exc, exc.exit_code)
        except Exception as exc:  # anything unexpected is a bug: say so, keep the results
            self._fail(exc, EXIT_FAILURE)

    def _context(self, flags: Mapping[str, str | None], config_file: str | None) -> StageContext:
        """Inputs, the results path and the earlier document; every problem here is exit 2."""
        config = load_config(config_file or self.env.get("IMGPUB_CONFIG"), self.module.NAME)
        reader = InputReader(
            self.module.INPUTS, flags=flags, env=self.env, config=config, mask=self.gha.mask
        )
        self.notify = read_notify_settings(reader, self.gha.mask)  # masks the webhook first
        given = reader.text("results")
        self.results_path = Path(given) if given else default_results_path(self.env)
        check_output_path("results", self.results_path)
        reader.check_output_paths()
        self.previous = ResultsDocument.load(self.results_path)
        self.section.dry_run = reader.boolean("dry-run")
        self.section.inputs = {k: redact_urls(v) for k, v in reader.given_values().items()}
        return StageContext(
            stage=self.module.NAME,
            inputs=reader,
            gha=self.gha,
            summary=self.summary,
            previous=self.previous,
            section=self.section,
            env=self.env,
            cancel=self.cancel,
        )

    def _flow(self, module: FlowStage, ctx: StageContext) -> Report | None:
        inputs = module.read(ctx)
        with self.gha.group("Discover and plan (read-only)"):
            plan = module.prepare(inputs, ctx)
        self.plan = plan
        with self.gha.group("Plan"):
            for line in plan.lines():
                self.gha.info(line)
        if ctx.dry_run:
            return plan
        if self.cancel.is_set:
            self._record_plan_as_not_done(self.cancel.reason)
            raise CloudError(
                f"{self.cancel.reason} before any change", remedy="re-run the same command"
            )
        ctx.begin_changes()
        title = getattr(plan, "apply_title", None)
        with self.gha.group(title() if callable(title) else f"Apply: {module.NAME}"):
            return module.apply(plan, ctx)

    def _record_report(self, report: Report) -> None:
        for target in report.targets():
            self.section.add(target)
        self.section.data.update(report.data())
        report.summarize(self.summary)
        self._complete(dict(report.outputs()))

    def _complete(self, outputs: Mapping[str, str]) -> None:
        declared = {o.name for o in (*self.module.OUTPUTS, *COMMON_OUTPUTS)}
        unknown = set(outputs) - declared
        if unknown:
            raise RuntimeError(
                f"stage {self.module.NAME} set undeclared outputs: {sorted(unknown)}"
            )
        if self.cancel.is_set:
            self.section.data["cancelled"] = self.cancel.reason
        self.section.status = self.section.decide_status()
        self.outputs = dict(outputs)
        self.outputs["status"] = (
            "success" if self.section.status == "planned" else self.section.status
        )
        self.code = _exit_code(self.section)

    def _record_plan_as_not_done(self, why: str) -> None:
        """The plan's targets that a stopped run may not have finished: state ``cancelled``."""
        if self.plan is None:
            return
        for target in self.plan.targets():
            if target.state == "planned" and not self.section.dry_run:
                target = replace(
                    target,
                    state="cancelled",
                    error=why,
                    remedy="re-run: imgpub finds what was done and finishes the rest",
                )
            self.section.add(target)

    def interrupted(self, signal_name: str) -> None:
        why = f"stopped at once by a second {signal_name}; what was in flight is unknown"
        if not self.section.targets:
            self._record_plan_as_not_done(why)
        self._fail(CloudError(why, remedy="re-run the same command to finish"), EXIT_FAILURE)

    def _fail(self, exc: BaseException, code: int) -> None:
        after_changes = self.changes_begun
        if code == EXIT_BAD_INPUT and after_changes:
            code = EXIT_FAILURE  # exit 2 promises nothing changed; here it may have
        if isinstance(exc, ImgpubError):
            message, remedy = exc.message, exc.remedy
        else:
            message = f"unexpected error: {type(exc).__name__}: {exc}"
            remedy = "re-run with --debug for a traceback and report it"
        if after_changes and not self.section.targets:
            self._record_plan_as_not_done(f"the run stopped: {first_line(message)}")
        self.code = code
        self.failure = exc
        self.section.error = {"message": message, "remedy": remedy, "exit_code": code}
        self.section.status = "failed"
        self.outputs = {"status": "failed"}

    def finish(self, debug: bool) -> int:
        """Report a failure, save the document (unless nothing changed), outputs, summary."""
        if self.failure is not None:
            _report_failure(
                self.gha, self.summary, self.module.NAME, self.failure, debug, self.changes_begun
            )
        self.section.finished_at = utc_now()
        self.section.duration_seconds = time.monotonic() - self.started
        if self.results_path is not None and self.code != EXIT_BAD_INPUT:
            self.outputs["results-path"] = str(self.results_path)
            self.section.outputs = dict(self.outputs)
            if not self._save():
                del self.outputs["results-path"]
        try:
            self.gha.set_outputs(self.outputs)
        except ImgpubError as exc:
            self.gha.error(exc.one_line())
            self.code = self.code or EXIT_FAILURE
        if not self.summary.empty:
            self.gha.write_summary(self.summary)
        self._notify()
        return self.code

    def _notify(self) -> None:
        """Post the outcome once everything is written; a failure here only warns."""
        if self.notify is None:
            return
        from imgpub.notify.hook import notify_stage

        try:
            notify_stage(
                self.notify,
                self.section,
                env=self.env,
                gha=self.gha,
                cancel=self.cancel,
                exit_code=self.code,
            )
        except Exception as exc:  # never let a notification change the exit code
            self.gha.warning(f"notification not posted: unexpected {type(exc).__name__}")

    def _save(self) -> bool:
        """Save the section; a bad-input run never does (it must not replace a good one)."""
        assert self.results_path is not None
        self.previous.run = _run_info(self.env) or self.previous.run
        self.previous.put(self.section)
        try:
            self.previous.save(self.results_path, secrets=self.gha.masks)
        except OSError as exc:
            self.gha.error(f"could not write the results document {self.results_path}: {exc}")
            self.code = self.code or EXIT_FAILURE
            return False
        return True


def isinstance_flow(module: StageModule) -> TypeGuard[FlowStage]:
    """A flow stage has read/prepare/apply; a run-style stage has run."""
    return all(callable(getattr(module, name, None)) for name in ("read", "prepare", "apply"))


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
    exc: BaseException,
    debug: bool,
    after_changes: bool,
) -> None:
    """One line on the log (an error annotation in Actions) and the remedy in the summary."""
    if isinstance(exc, ImgpubError):
        line = exc.one_line()
    else:
        line = f"unexpected error: {type(exc).__name__}: {exc}"
    gha.error(line, title=f"imgpub {stage}")
    if debug:
        gha.info("".join(traceback.format_exception(exc)))
    summary.heading(f"imgpub {stage} failed", 2)
    if isinstance(exc, ImgpubError):
        summary.text(exc.message)
        if exc.remedy:
            summary.text(f"What to do: {exc.remedy}")
        if after_changes:
            summary.text(
                "Changes had begun when this happened: the results document lists what was "
                "done. Re-run to finish; imgpub finds what exists and repeats nothing."
            )
        elif isinstance(exc, InputError | ConfigError):
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
