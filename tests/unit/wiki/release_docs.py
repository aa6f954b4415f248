"""Results documents in mirror-ami's shape, built by hand for the pure tests.

The shape (targets of kind ami-source/ami-copy, the section's data.table) is the one the
integration tests read from real mirror-ami runs; these only vary the content.
"""

from __future__ import annotations

from imgpub.results import ResultsDocument, Section, Target


def mirror_doc(
    images: list[tuple[str, str, str, str]],
    *,
    version: str = "9.6.20250522",
    distribution: str = "AlmaLinux OS",
    failed: list[tuple[str, str]] = (),
    dry_run: bool = False,
) -> ResultsDocument:
    """``images``: (source AMI, region, AMI ID, arch); the first region of a source is it."""
    section = Section("mirror-ami", dry_run=dry_run)
    seen: set[str] = set()
    table = []
    for source, region, ami, arch in images:
        kind = "ami-copy" if source in seen else "ami-source"
        seen.add(source)
        name = f"{distribution} {version} {arch}"
        section.add(
            Target(kind, f"{source}@{region}", "existed" if kind == "ami-source" else "created",
                   region=region, resource_id=ami, source=source, details={"name": name})
        )  # fmt: skip
        table.append([distribution, version, region, ami, arch])
    for source, region in failed:
        section.add(
            Target("ami-copy", f"{source}@{region}", "failed", region=region, source=source,
                   error="UnauthorizedOperation")
        )  # fmt: skip
    section.data["table"] = table
    doc = ResultsDocument()
    doc.put(section)
    return doc
