"""The stage protocol: read → prepare (discover, then plan) → apply → result.

A stage module declares what it is (``NAME``, ``HELP``, ``INPUTS``, ``OUTPUTS``) and three
functions, each with one job::

    def read(ctx: StageContext) -> Inputs          # every input validated; no cloud call
    def prepare(inputs: Inputs, ctx: StageContext) -> Plan   # read-only discovery + pure plan
    def apply(plan: Plan, ctx: StageContext) -> Result       # the changes, target by target

:func:`imgpub.stage.run_stage` does everything around them the same way for every stage: log
groups, the dry-run branch (the plan is the whole answer), the results document, outputs,
the summary on failure, cancellation and the exit code. It knows which phase is running,
which is what makes "exit 2 means nothing changed" true by construction: an input or
configuration error raised by ``read`` or ``prepare`` is exit 2, the same error raised once
``apply`` has begun is a failure (exit 1 or 3) and the results document keeps what was done.

``Plan`` and ``Result`` are the stage's own types; run_stage only needs them to be
:class:`Report` values. A stage that cannot be put in this shape may define
``run(ctx) -> StageResult`` instead, record its targets with ``ctx.record`` and call
``ctx.begin_changes()`` before its first change; it says in its docstring why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from imgpub.cancel import Cancellation
from imgpub.gha import Gha, Summary
from imgpub.inputs import InputReader, InputSpec, OutputSpec
from imgpub.results import ResultsDocument, Section, Target


@dataclass
class StageContext:
    """Everything a stage may use; clients are built from ``env`` by the stage's adapters."""

    stage: str
    inputs: InputReader
    gha: Gha
    summary: Summary
    previous: ResultsDocument
    section: Section
    env: Mapping[str, str]
    cancel: Cancellation = field(default_factory=Cancellation)
    changes_begun: bool = False

    @property
    def dry_run(self) -> bool:
        return self.section.dry_run

    def record(self, target: Target) -> Target:
        """For ``run``-style stages; flow stages return their targets from the Report."""
        return self.section.add(target)

    def begin_changes(self) -> None:
        """From here on an error is a failure, never exit 2 (something may have changed)."""
        self.changes_begun = True


class Report(Protocol):
    """What run_stage needs from a plan or a result: targets, outputs, data and a summary."""

    def targets(self) -> Sequence[Target]:
        """Every target with its state (a plan: ``planned``/``existed``/``failed``)."""
        ...

    def outputs(self) -> Mapping[str, str]:
        """The stage's declared outputs (``status`` and ``results-path`` are added)."""
        ...

    def data(self) -> Mapping[str, Any]:
        """Stage-specific data for the results document (what later stages read)."""
        ...

    def summarize(self, summary: Summary) -> None:
        """Add this report's part of the job summary."""
        ...


class PlanReport(Report, Protocol):
    """A plan also prints itself: one line per action, the answer of a dry run.

    A plan may also define ``apply_title() -> str``, the title of the apply log group
    (default ``Apply: <stage>``), e.g. "Copy, share and publish in 17 regions".
    """

    def lines(self) -> Sequence[str]: ...


class FlowStage(Protocol):
    """A stage module in the read → prepare → apply shape."""

    NAME: str
    HELP: str
    INPUTS: tuple[InputSpec, ...]
    OUTPUTS: tuple[OutputSpec, ...]

    def read(self, ctx: StageContext) -> Any: ...
    def prepare(self, inputs: Any, ctx: StageContext) -> PlanReport: ...
    def apply(self, plan: Any, ctx: StageContext) -> Report: ...


@dataclass
class StageResult:
    """What a ``run``-style stage returns: its outputs and data for the results document."""

    outputs: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


class RunStage(Protocol):
    """A stage module that drives itself (``run``); see the module docstring."""

    NAME: str
    HELP: str
    INPUTS: tuple[InputSpec, ...]
    OUTPUTS: tuple[OutputSpec, ...]

    def run(self, ctx: StageContext) -> StageResult: ...


StageModule = FlowStage | RunStage
