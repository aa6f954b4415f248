"""The plan of a release: from the names and what discovery found, what apply will do.

Pure: :func:`build_plan` takes the names (:mod:`imgpub.gallery.names`) and the read-only
findings (:mod:`imgpub.gallery.discover`) and decides, per blob, image definition and
version, whether to create, reuse, wait or refuse — the whole answer of a dry run. It also
fixes what Azure would refuse later: a version's replication regions must include the
gallery's own region, so that region is added first (as the portal does), and a definition
whose Hyper-V generation or architecture disagrees with the naming rules stops the run,
because Azure cannot tell a VHD's generation and would publish it under the wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from imgpub.azure import remedies
from imgpub.azure.gallery import (
    DefinitionState,
    VersionSource,
    VersionState,
    VersionTarget,
    same_source,
)
from imgpub.errors import ConfigError
from imgpub.gallery.names import PublishNames


class BlobAction(StrEnum):
    UPLOAD = "upload"
    """No blob under the name: create it and write the image."""
    RESUME = "resume"
    """Our blob, interrupted: write only the pages it lacks."""
    REUSE = "reuse"
    """Our blob, complete: nothing to send."""
    ABSENT = "absent"
    """Not complete, and this run does not upload (steps): the versions cannot be made."""
    UNCHECKED = "unchecked"
    """A dry run that could not look (no storage access)."""


class DefinitionAction(StrEnum):
    EXISTS = "exists"
    CREATE = "create"
    MISSING = "missing"
    """Missing and create-definitions is false: the run stops before any change."""
    MISMATCH = "mismatch"
    """Exists with another generation or architecture: the run stops before any change."""
    UNCHECKED = "unchecked"


class VersionAction(StrEnum):
    CREATE = "create"
    EXISTS = "exists"
    """Succeeded from this very blob: nothing to do."""
    WAIT = "wait"
    """Another run is creating it: wait for it, then report it."""
    REFUSED = "refused"
    """Exists from another blob or in state Failed: reported with what to do, not touched."""
    HELD = "held"
    """Not published by this run (steps)."""
    UNCHECKED = "unchecked"


@dataclass(frozen=True)
class BlobFound:
    """What storage said about the blob name at the index discovery settled on."""

    status: str
    """``missing``, ``complete`` or ``interrupted`` (ours), or ``unchecked``."""
    url: str
    skipped: tuple[str, ...] = ()
    """One note per lower index whose blob belongs to another source (left untouched)."""


@dataclass(frozen=True)
class GalleryFound:
    """What Resource Manager said: the gallery's region, the definitions, the versions."""

    location: str
    definitions: dict[str, DefinitionState | None]
    """By definition name, lower-cased."""
    versions: dict[str, VersionState | None]
    """By ``target.path``."""


@dataclass(frozen=True)
class BlobPlan:
    container: str
    name: str
    account: str
    url: str
    index: int
    action: BlobAction
    found: str


@dataclass(frozen=True)
class DefinitionPlan:
    target: VersionTarget
    """The first version target of this definition (it carries the definition's names)."""
    action: DefinitionAction
    problem: str = ""

    @property
    def name(self) -> str:
        return f"{self.target.gallery}/{self.target.definition.name}"


@dataclass(frozen=True)
class VersionPlan:
    target: VersionTarget
    action: VersionAction
    state: VersionState | None = None
    error: str | None = None
    remedy: str | None = None


@dataclass(frozen=True)
class GalleryPlan:
    """Everything apply will do, decided; printed as the answer of a dry run."""

    names: PublishNames
    blob: BlobPlan | None
    """None when vhd-url names a blob that exists already."""
    source: VersionSource
    subscription: str | None
    location: str | None
    definitions: tuple[DefinitionPlan, ...]
    versions: tuple[VersionPlan, ...]
    steps: frozenset[str]
    create_definitions: bool
    checked: bool = True
    unchecked_reason: str = ""
    notes: tuple[str, ...] = ()
    vhd_url: str | None = None
    image: str | None = None
    """The image the blob is made from, as recorded (a URL without its query string)."""
    changes: tuple[str, ...] = field(default=())
    """What the plan itself changed from the request (a region added), for the summary."""

    @property
    def publishes(self) -> bool:
        return "publish" in self.steps

    def blockers(self) -> ConfigError | None:
        """What stops a real run before any change: one error naming every problem."""
        problems: list[str] = []
        fixes: list[str] = []
        missing = [d.name for d in self.definitions if d.action is DefinitionAction.MISSING]
        if missing:
            problems.append(f"image definition(s) missing: {', '.join(missing)}")
            fixes.append(remedies.missing_definitions())
        for d in self.definitions:
            if d.action is DefinitionAction.MISMATCH:
                problems.append(d.problem)
                fixes.append(remedies.definition_mismatch())
        if self.blob is not None and self.blob.action is BlobAction.ABSENT:
            problems.append(
                f"blob {self.blob.container}/{self.blob.name} is not uploaded ({self.blob.found})"
            )
            fixes.append("run with steps: upload, publish (or give vhd-url)")
        if not problems:
            return None
        return ConfigError("; ".join(problems), remedy="; ".join(dict.fromkeys(fixes)))


def classify(
    target: VersionTarget, state: VersionState, source: VersionSource
) -> tuple[VersionAction, str | None, str | None]:
    """An existing version: ours (exists), busy (wait) or refused with error and remedy.

    Pure, so the rules of idempotency are unit-tested without a server.
    """
    if state.provisioning_state == "Succeeded":
        if same_source(state.source_uri, source.uri):
            return VersionAction.EXISTS, None, None
        return (
            VersionAction.REFUSED,
            f"image version {target.path} already exists from another blob"
            f" ({state.source_uri or 'unknown source'})",
            remedies.other_source(),
        )
    if state.provisioning_state == "Failed":
        return (
            VersionAction.REFUSED,
            f"image version {target.path} exists in state Failed",
            remedies.existing_failed(target),
        )
    if state.busy:
        return VersionAction.WAIT, None, None
    return (
        VersionAction.REFUSED,
        f"image version {target.path} is {state.provisioning_state}",
        remedies.in_progress(),
    )


def blob_plan(names: PublishNames, found: BlobFound, *, uploads: bool) -> BlobPlan:
    """What to do with the blob: write it, finish it, reuse it — or say why not."""
    if found.status == "unchecked":
        action = BlobAction.UNCHECKED
    elif found.status == "complete":
        action = BlobAction.REUSE
    elif not uploads:
        action = BlobAction.ABSENT
    else:
        action = BlobAction.RESUME if found.status == "interrupted" else BlobAction.UPLOAD
    return BlobPlan(
        names.container,
        names.blob_name,
        names.storage_account,
        found.url,
        names.index,
        action,
        found.status,
    )


def _definition_plans(
    names: PublishNames, gallery: GalleryFound | None, create: bool
) -> tuple[DefinitionPlan, ...]:
    firsts: dict[str, VersionTarget] = {}
    for t in names.versions:
        firsts.setdefault(t.definition.name.lower(), t)
    plans = []
    for key, t in firsts.items():
        if gallery is None:
            plans.append(DefinitionPlan(t, DefinitionAction.UNCHECKED))
            continue
        state = gallery.definitions.get(key)
        if state is None:
            action = DefinitionAction.CREATE if create else DefinitionAction.MISSING
            plans.append(DefinitionPlan(t, action))
            continue
        problem = definition_mismatch(t, state)
        action = DefinitionAction.MISMATCH if problem else DefinitionAction.EXISTS
        plans.append(DefinitionPlan(t, action, problem))
    return tuple(plans)


def definition_mismatch(target: VersionTarget, state: DefinitionState) -> str:
    """Why an existing definition cannot take this image ('' when it can)."""
    want = target.definition
    found_generation = state.generation or "V1"  # Azure's default when none was set
    found_architecture = state.architecture or "x64"
    wrong = []
    if found_generation.lower() != want.generation.lower():
        wrong.append(
            f"hyperVGeneration {found_generation} (the naming rules say {want.generation})"
        )
    if found_architecture.lower() != want.architecture.lower():
        wrong.append(
            f"architecture {found_architecture} (the naming rules say {want.architecture})"
        )
    if not wrong:
        return ""
    return f"image definition {target.gallery}/{want.name} has " + " and ".join(wrong)


def _version_plan(
    target: VersionTarget, gallery: GalleryFound | None, source: VersionSource, publishes: bool
) -> VersionPlan:
    if not publishes:
        return VersionPlan(target, VersionAction.HELD)
    if gallery is None:
        return VersionPlan(target, VersionAction.UNCHECKED)
    state = gallery.versions.get(target.path)
    if state is None:
        return VersionPlan(target, VersionAction.CREATE)
    action, error, remedy = classify(target, state, source)
    return VersionPlan(target, action, state, error, remedy)


def _unique(targets: tuple[VersionTarget, ...]) -> tuple[VersionTarget, ...]:
    """Each version once (ARM names are case-insensitive): never send the same create twice."""
    seen: dict[tuple[str, str, str, str], VersionTarget] = {}
    for t in targets:
        seen.setdefault(t.key, t)
    return tuple(seen.values())


def build_plan(
    names: PublishNames,
    *,
    blob: BlobFound | None,
    gallery: GalleryFound | None,
    source: VersionSource,
    subscription: str | None,
    steps: frozenset[str],
    create_definitions: bool,
    unchecked_reason: str = "",
    vhd_url: str | None = None,
    image: str | None = None,
    notes: tuple[str, ...] = (),
) -> GalleryPlan:
    """Decide every action from the names and the findings (``None``: not looked at)."""
    location = gallery.location if gallery is not None else None
    changes: list[str] = []
    targets = _unique(names.versions)
    if location is not None and any(location not in t.region_names for t in targets):
        targets = tuple(t.replicated_first_in(location) for t in targets)
        changes.append(
            f"the gallery {names.gallery} is in {location}, which Azure requires among the "
            f"replication regions: {location} was added first"
        )
    named = replace(names, versions=targets)
    publishes = "publish" in steps
    blob_decision = None
    if blob is not None:
        blob_decision = blob_plan(named, blob, uploads="upload" in steps)
    return GalleryPlan(
        names=named,
        blob=blob_decision,
        source=source,
        subscription=subscription,
        location=location,
        definitions=_definition_plans(named, gallery, create_definitions) if publishes else (),
        versions=tuple(_version_plan(t, gallery, source, publishes) for t in targets),
        steps=steps,
        create_definitions=create_definitions,
        checked=not unchecked_reason,
        unchecked_reason=unchecked_reason,
        notes=(*names.notes, *(blob.skipped if blob else ()), *notes),
        vhd_url=vhd_url,
        image=image,
        changes=tuple(changes),
    )
