"""The plan as log lines, and the job summary of a plan or a result.

The summary keeps the AlmaLinux tool's wording where its users grep for it ("released to
Compute Gallery", "- Created: '<gallery>/<definition>/<version>'", the Image URI row) and
adds what it never said: what existed, what failed and what to do, the blob figures, the
regions imgpub added and the blob indexes it skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from imgpub.diskimage.vhd import FOOTER_SIZE
from imgpub.gallery.plan import (
    BlobAction,
    BlobPlan,
    DefinitionAction,
    GalleryPlan,
    VersionAction,
    VersionPlan,
)
from imgpub.gallery.result import BlobOutcome, DefinitionOutcome, VersionOutcome
from imgpub.gha import Summary
from imgpub.text import human_bytes

_BLOB_WORDS = {
    BlobAction.UPLOAD: "would upload",
    BlobAction.RESUME: "exists, interrupted upload of this source: would be resumed",
    BlobAction.REUSE: "exists (complete, same source): would be reused",
    BlobAction.UNCHECKED: "would upload",
}
_VERSION_WORDS = {
    "created": "Created",
    "existed": "Existing",
    "failed": "Failed",
    "planned": "Would create",
    "cancelled": "Cancelled",
    "skipped": "Skipped",
    "updated": "Updated",
}


def _blob_line(plan: GalleryPlan, blob: BlobPlan) -> str:
    if blob.action is BlobAction.ABSENT:
        verb = f"not uploaded by this run (steps), and it is {blob.found}: the run would stop"
    elif "upload" not in plan.steps:
        verb = "not uploaded by this run (steps)"
    else:
        verb = _BLOB_WORDS[blob.action]
    return f"blob {blob.url}: {verb}"


def _version_line(v: VersionPlan) -> str:
    t = v.target
    regions = ", ".join(f"{r.name} x{r.replicas}" for r in t.regions)
    what = {
        VersionAction.CREATE: "would be created",
        VersionAction.UNCHECKED: "would be created",
        VersionAction.EXISTS: "exists from this blob (nothing to do)",
        VersionAction.WAIT: "being created by another run: would be waited for",
        VersionAction.REFUSED: f"exists, {v.error}",
        VersionAction.HELD: "not published by this run (steps)",
    }[v.action]
    return f"version {t.path} ({t.definition.generation}) → {regions}: {what}"


def plan_lines(plan: GalleryPlan) -> list[str]:
    """The whole plan, one line per blob, definition and version: the answer of a dry run."""
    image = plan.names.image
    lines = [f"{image.release} {image.datestamp} {image.image_type} ({image.filename})"]
    if not plan.checked:
        lines.append(f"not checked against Azure: {plan.unchecked_reason}")
    if plan.vhd_url:
        lines.append(f"vhd-url given: no upload; versions are made from {plan.vhd_url}")
    if plan.blob is not None:
        lines.append(_blob_line(plan, plan.blob))
    for d in plan.definitions:
        if d.action is DefinitionAction.CREATE:
            lines.append(f"definition {d.name}: missing, would be created")
        elif d.action is DefinitionAction.MISSING:
            lines.append(f"definition {d.name}: missing, the run would stop")
        elif d.action is DefinitionAction.MISMATCH:
            lines.append(f"definition {d.name}: {d.problem}; the run would stop")
    lines.extend(_version_line(v) for v in plan.versions)
    lines.extend(f"note: {n}" for n in (*plan.notes, *plan.changes))
    return lines


def _heading(plan: GalleryPlan, versions: Sequence[VersionOutcome], applied: bool) -> str:
    image = plan.names.image
    release = f"{image.release} {image.datestamp}"
    if not applied:
        return f"{release}: Compute Gallery plan (dry run)"
    if not plan.publishes:
        return f"{release} uploaded to blob storage"
    done = [v for v in versions if v.state in ("created", "existed")]
    if len(done) == len(versions):
        return f"{release} released to Compute Gallery"
    return f"{release} {'partly released' if done else 'not released'} to Compute Gallery"


def summarize(
    summary: Summary,
    plan: GalleryPlan,
    blob: BlobOutcome | None,
    definitions: Sequence[DefinitionOutcome],
    versions: Sequence[VersionOutcome],
    *,
    seconds: float | None = None,
    cancelled: str = "",
    applied: bool = False,
) -> None:
    """Heading, the release table, one line per version, failures with what to do, notes."""
    names = plan.names
    summary.heading(_heading(plan, versions, applied), 2)
    if not plan.checked:
        summary.text(f"Not checked against Azure: {plan.unchecked_reason}.")
    if cancelled:
        summary.text(
            f"The run was {cancelled}: what finished is listed; re-run to finish the rest "
            "(an interrupted upload resumes, a version Azure is creating is waited for)."
        )
    kind = "public gallery" if names.public else "private CI gallery"
    rows: list[tuple[str, str]] = [
        ("Release", names.image.release),
        ("Timestamp", names.image.datestamp),
        ("Image file", names.image.filename),
        ("Image URI", blob.url if blob is not None else plan.source.uri),
        ("Gallery", f"{names.gallery} ({kind})"),
        ("Public gallery", "✅" if names.public else "❌"),
    ]
    if plan.location:
        rows.append(("Gallery region", plan.location))
    if blob is not None and blob.upload is not None and blob.upload.blob_size:
        virtual = max(blob.upload.blob_size - FOOTER_SIZE, 0)
        sent = blob.upload.bytes_sent
        rows.append(("Bytes sent", f"{human_bytes(sent)} of {human_bytes(virtual)} virtual size"))
    if seconds is not None:
        rows.append(("Time taken", f"{seconds:.1f} s"))
    summary.table(["Field", "Value"], rows)
    summary.bullets([_bullet(v) for v in versions])
    created = [d.plan.name for d in definitions if d.state == "created"]
    wanted = [d.plan.name for d in definitions if d.state in ("planned", "failed")]
    if created:
        summary.text(f"Image definitions created: {', '.join(created)}")
    if wanted and not applied:
        what = "created" if plan.create_definitions else "missing"
        summary.text(f"Image definitions {what}: {', '.join(wanted)}")
    _failures(summary, blob, definitions, versions)
    for note in (*plan.notes, *plan.changes):
        summary.text(f"Note: {note}")


def _bullet(v: VersionOutcome) -> str:
    line = f"{_VERSION_WORDS[v.state]}: '{v.target.path}' ({', '.join(v.region_names)})"
    if v.error:
        line += f" — {v.error}. What to do: {v.remedy}"
    return line


def _failures(
    summary: Summary,
    blob: BlobOutcome | None,
    definitions: Sequence[DefinitionOutcome],
    versions: Sequence[VersionOutcome],
) -> None:
    rows: list[tuple[str, str, str, str]] = []
    if blob is not None and blob.error:
        kept = "deleted" if blob.deleted else ("kept, resumable" if blob.resumable else "")
        error = blob.error + (f" (blob {kept})" if kept else "")
        rows.append((f"blob {blob.plan.container}/{blob.plan.name}", blob.state, error,
                     blob.remedy or ""))  # fmt: skip
    rows += [
        (f"definition {d.plan.name}", d.state, d.error or "", d.remedy or "")
        for d in definitions
        if d.error
    ]
    rows += [(f"version {v.target.path}", v.state, v.error or "", v.remedy or "")
             for v in versions if v.error]  # fmt: skip
    if rows:
        summary.heading("Failures and what to do", 3)
        summary.table(["target", "state", "error", "what to do"], rows)
