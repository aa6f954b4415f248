"""The release's images and tables, read from mirror-ami sections of results documents.

The results document is the data bus: every image in place is a mirror-ami target of kind
``ami-source`` or ``ami-copy`` (source AMI, region, AMI ID, name), and the section's
``table`` holds the cells mirror-ami rendered for it (Distribution, Version, Region, AMI
ID, Arch: the tags' values). The rows are rebuilt from those targets and sorted by
:func:`imgpub.mirror.tables.table_rows`, so documents of several jobs (x86_64, aarch64)
merge into the order AlmaLinux publishes — region ascending, x86_64 before aarch64 — and a
table rendered here is byte for byte what mirror-ami wrote for the same images. Nothing is
taken from logs, file names or artifact names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from imgpub.errors import InputError
from imgpub.mirror.tables import PublishedImage, TableRow, table_rows
from imgpub.results import DONE_STATES, ResultsDocument, Section

MIRROR_STAGE = "mirror-ami"
IMAGE_KINDS = frozenset({"ami-source", "ami-copy"})
_DATESTAMP = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class SourceImage:
    """One source AMI of the release and where it is in place."""

    ami_id: str
    name: str
    arch: str
    regions: tuple[str, ...]


@dataclass(frozen=True)
class Release:
    """What the wiki gets: the rows, the sources, and the release's names."""

    rows: tuple[TableRow, ...]
    sources: tuple[SourceImage, ...]
    distribution: str
    version: str
    key: str
    not_in_place: tuple[str, ...]  # source@region that mirror-ami did not finish

    @property
    def os_version(self) -> str:
        """``9.6`` of ``9.6.20250522``, ``10`` of Kitten's ``10.20250904.0``."""
        return split_version(self.version)[0]

    @property
    def datestamp(self) -> str:
        """``20250522`` of ``9.6.20250522``, ``20251124.0`` of ``10.1.20251124.0``."""
        return split_version(self.version)[1]

    @property
    def kitten(self) -> bool:
        return "kitten" in self.distribution.lower()

    @property
    def major(self) -> str:
        """AlmaLinux's per-release file key: ``8``, ``9``, ``10`` or ``kitten_10``."""
        major = self.os_version.split(".", 1)[0]
        return f"kitten_{major}" if self.kitten else major

    @property
    def section(self) -> str:
        """Where the wiki keeps the tables: ``development`` for Kitten, else ``cloud``."""
        return "development" if self.kitten else "cloud"

    @property
    def regions(self) -> list[str]:
        return sorted({row.region for row in self.rows})

    def variables(self) -> dict[str, Any]:
        """What path, title, body and file templates see."""
        return {
            "distribution": self.distribution,
            "version": self.version,
            "os_version": self.os_version,
            "datestamp": self.datestamp,
            "major": self.major,
            "section": self.section,
            "release": self.key,
            "regions": self.regions,
            "architectures": sorted({s.arch for s in self.sources}),
            "sources": [
                {"ami_id": s.ami_id, "name": s.name, "arch": s.arch, "regions": list(s.regions)}
                for s in self.sources
            ],
            "rows": [
                {
                    "distribution": r.distribution,
                    "version": r.version,
                    "region": r.region,
                    "ami_id": r.ami_id,
                    "arch": r.arch,
                }
                for r in self.rows
            ],
        }


def split_version(version: str) -> tuple[str, str]:
    """(OS version, datestamp): the parts before the first YYYYMMDD part, and the rest."""
    parts = version.split(".")
    for i, part in enumerate(parts):
        if _DATESTAMP.match(part):
            return ".".join(parts[:i]), ".".join(parts[i:])
    return version, ""


def release_key(distribution: str, version: str) -> str:
    """AlmaLinux's name for a release's data: ``almalinux_os_9_6_20250522``."""
    return re.sub(r"[^a-z0-9]+", "_", f"{distribution} {version}".lower()).strip("_")


def release_from_documents(
    documents: Sequence[tuple[str, ResultsDocument]], *, source_input: str, key: str = ""
) -> Release:
    """Merge the mirror-ami sections of ``documents`` (origin, document) into one release.

    Every problem is an :class:`InputError` naming ``source_input`` (the input that named
    the documents): the run stops before any GitHub call.
    """
    images: dict[tuple[str, str], tuple[PublishedImage, TableRow]] = {}
    not_in_place: list[str] = []
    for origin, doc in documents:
        section = _mirror_section(doc, origin, source_input)
        cells = _table_cells(section)
        for target in section.targets:
            if target.kind not in IMAGE_KINDS:
                continue
            where = f"{target.source}@{target.region}"
            if target.state not in DONE_STATES or not target.resource_id:
                not_in_place.append(where)
                continue
            row = cells.get((target.region or "", target.resource_id))
            if row is None:
                raise InputError(
                    source_input,
                    f"{origin}: the mirror-ami section has no table row for "
                    f"{target.resource_id} in {target.region}",
                    "pass a results document written by mirror-ami of this imgpub version",
                )
            image = PublishedImage(
                source_ami=target.source or "",
                region=target.region or "",
                ami_id=target.resource_id,
                name=str(target.details.get("name", "")),
                tags={"Version": row.version, "Architecture": row.arch},
                ec2_architecture=row.arch,
            )
            key_ = (image.source_ami, image.region)
            if key_ in images and images[key_][0].ami_id != image.ami_id:
                raise InputError(
                    source_input,
                    f"{where} is {images[key_][0].ami_id} in one document and {image.ami_id} "
                    f"in {origin}",
                    "pass the results of one mirror run per architecture",
                )
            images[key_] = (image, row)
    if not images:
        raise InputError(
            source_input,
            "the mirror-ami sections list no image in place",
            "run mirror-ami first (not as a dry run) and pass its results document",
        )
    return _release(list(images.values()), sorted(set(not_in_place)), source_input, key)


def _mirror_section(doc: ResultsDocument, origin: str, source_input: str) -> Section:
    section = doc.section(MIRROR_STAGE)
    if section is None:
        raise InputError(
            source_input,
            f"{origin} has no mirror-ami section",
            "pass the results document of the mirror-ami job (download its artifact first)",
        )
    if section.dry_run:
        raise InputError(
            source_input,
            f"{origin}: mirror-ami was a dry run there, no image was published",
            "pass the results of a real mirror-ami run",
        )
    return section


def _table_cells(section: Section) -> dict[tuple[str, str], TableRow]:
    rows: dict[tuple[str, str], TableRow] = {}
    for cells in section.data.get("table") or []:
        if isinstance(cells, list) and len(cells) == 5:
            row = TableRow(*(str(c) for c in cells))
            rows[(row.region, row.ami_id)] = row
    return rows


def _release(
    found: Iterable[tuple[PublishedImage, TableRow]],
    not_in_place: list[str],
    source_input: str,
    key: str,
) -> Release:
    pairs = list(found)
    by_image = {(img.region, img.ami_id): row for img, row in pairs}
    rows = table_rows(
        [img for img, _row in pairs],
        distribution=lambda img: by_image[(img.region, img.ami_id)].distribution,
    )
    releases = sorted({(r.distribution, r.version) for r in rows})
    if len(releases) > 1:
        shown = ", ".join(f"{d} {v}" for d, v in releases)
        raise InputError(
            source_input,
            f"the documents hold more than one release ({shown})",
            "pass the results of one release; each release gets its own pull request",
        )
    distribution, version = releases[0]
    if not version and not key:
        raise InputError(
            source_input,
            "the images carry no Version tag, so the release has no name",
            "tag the source AMIs with Version (mirror-ami copies it), or set the release input",
        )
    sources = []
    for source in sorted({img.source_ami for img, _row in pairs}):
        mine = [(img, row) for img, row in pairs if img.source_ami == source]
        names = sorted({img.name for img, _row in mine if img.name})
        sources.append(
            SourceImage(
                source,
                names[0] if names else "",
                mine[0][1].arch,
                tuple(sorted(img.region for img, _row in mine)),
            )
        )
    sources.sort(key=lambda s: (s.arch != "x86_64", s.arch, s.ami_id))
    return Release(
        rows=tuple(rows),
        sources=tuple(sources),
        distribution=distribution,
        version=version,
        key=key or release_key(distribution, version),
        not_in_place=tuple(not_in_place),
    )
