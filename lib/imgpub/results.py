"""The results document: the data bus between stages, jobs and renderers.

Each stage writes one section (what it created, found existing, planned or failed, per
target, with IDs) into one versioned JSON document. Outputs, job summaries, wiki tables and
notifications are rendered from it — never re-parsed from logs or file names — and a later
stage (or a re-run) reads it back to chain. The document is validated against
``schemas/results.schema.json`` on every load and save, and written atomically so that a
crash never leaves half a document behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema

from imgpub import __version__
from imgpub.errors import ConfigError
from imgpub.redact import scrub

SCHEMA_VERSION = 1
TargetState = Literal["created", "existed", "updated", "failed", "planned", "skipped", "cancelled"]
SectionStatus = Literal["success", "partial", "failed", "planned"]
#: States that count as "this target is in place".
DONE_STATES: frozenset[str] = frozenset({"created", "existed", "updated"})


def utc_now() -> str:
    """An ISO 8601 UTC timestamp with seconds precision, as stored in the document."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@cache
def schema() -> dict[str, Any]:
    text = resources.files("imgpub").joinpath("schemas/results.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@dataclass
class Target:
    """One thing a stage acts on (an AMI copy in a region, a blob, a gallery version)."""

    kind: str
    key: str
    state: TargetState
    region: str | None = None
    resource_id: str | None = None
    source: str | None = None
    error: str | None = None
    remedy: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "key": self.key, "state": self.state}
        for name in ("region", "resource_id", "source", "error", "remedy"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.details:
            out["details"] = self.details
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        return cls(
            kind=data["kind"],
            key=data["key"],
            state=data["state"],
            region=data.get("region"),
            resource_id=data.get("resource_id"),
            source=data.get("source"),
            error=data.get("error"),
            remedy=data.get("remedy"),
            details=dict(data.get("details", {})),
        )


@dataclass
class Section:
    """One stage's results."""

    stage: str
    dry_run: bool = False
    started_at: str = field(default_factory=utc_now)
    finished_at: str = ""
    duration_seconds: float = 0.0
    status: SectionStatus = "success"
    inputs: dict[str, str] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    def add(self, target: Target) -> Target:
        """Record a target; a target with the same key replaces the earlier record."""
        self.targets = [t for t in self.targets if t.key != target.key]
        self.targets.append(target)
        return target

    def by_state(self, *states: str) -> list[Target]:
        return [t for t in self.targets if t.state in states]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.targets:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def decide_status(self) -> SectionStatus:
        """success / partial / failed from the targets; a dry run is always 'planned'."""
        if self.error is not None:
            return "failed"
        if self.dry_run:
            return "planned"
        failed = bool(self.by_state("failed", "cancelled"))
        done = bool(self.by_state(*DONE_STATES))
        if failed and done:
            return "partial"
        if failed:
            return "failed"
        return "success"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stage": self.stage,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at or utc_now(),
            "duration_seconds": round(self.duration_seconds, 3),
            "dry_run": self.dry_run,
            "inputs": self.inputs,
            "targets": [t.to_json() for t in self.targets],
            "data": self.data,
            "outputs": self.outputs,
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        return cls(
            stage=data["stage"],
            dry_run=data["dry_run"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            duration_seconds=float(data.get("duration_seconds", 0.0)),
            status=data["status"],
            inputs=dict(data.get("inputs", {})),
            targets=[Target.from_json(t) for t in data.get("targets", [])],
            data=dict(data.get("data", {})),
            outputs=dict(data.get("outputs", {})),
            error=data.get("error"),
        )


@dataclass
class ResultsDocument:
    """The whole document: one section per stage, plus the run that wrote it."""

    stages: dict[str, Section] = field(default_factory=dict)
    run: dict[str, str] = field(default_factory=dict)

    def section(self, stage: str) -> Section | None:
        return self.stages.get(stage)

    def put(self, section: Section) -> None:
        self.stages[section.stage] = section

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "imgpub_version": __version__,
            "stages": {name: s.to_json() for name, s in self.stages.items()},
        }
        if self.run:
            doc["run"] = self.run
        return doc

    @classmethod
    def from_json(cls, data: Any, *, origin: str = "results document") -> ResultsDocument:
        try:
            jsonschema.validate(data, schema())
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "top level"
            raise ConfigError(
                f"{origin} does not match the results schema at {where}: {exc.message}",
                remedy="pass a document written by imgpub, or a new path",
            ) from None
        return cls(
            stages={k: Section.from_json(v) for k, v in data["stages"].items()},
            run=dict(data.get("run", {})),
        )

    @classmethod
    def load(cls, path: Path) -> ResultsDocument:
        """Read a document; a missing file is an empty document (the first stage of a run)."""
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the results document {path}: {exc.strerror}",
                remedy="check the --results path",
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"results document {path} is not JSON (line {exc.lineno}): {exc.msg}",
                remedy="pass a document written by imgpub, or a new path",
            ) from None
        return cls.from_json(data, origin=f"results document {path}")

    def save(self, path: Path, *, secrets: Iterable[str] = ()) -> None:
        """Validate, then write atomically (temp file in the same folder + rename).

        Every occurrence of a ``secrets`` value (the masked ones) is replaced by ``***``
        first, so nothing masked in the log can reach the document either.
        """
        data = scrub(self.to_json(), secrets)
        jsonschema.validate(data, schema())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".imgpub-results-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=False)
                fh.write("\n")
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def default_results_path(env: Mapping[str, str]) -> Path:
    """$RUNNER_TEMP/imgpub-results.json in Actions, ./imgpub-results.json elsewhere."""
    if env.get("GITHUB_ACTIONS", "").lower() == "true" and env.get("RUNNER_TEMP"):
        return Path(env["RUNNER_TEMP"]) / "imgpub-results.json"
    return Path("imgpub-results.json")
