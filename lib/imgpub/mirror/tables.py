"""The per-region AMI tables, byte-compatible with AlmaLinux's published files.

AlmaLinux's wiki and its users (``wiki.almalinux.org/ci-data/aws_amis.csv``) consume:

* CSV: no header, every field double-quoted, LF line ends (Python's ``unix`` dialect);
* Markdown: ``Distribution|Version|Region|AMI ID|Arch``, ``-|-|-|-|-``, then each row as
  its cells, each followed by one space, joined by ``|`` (no outer pipes), final newline;
* columns Distribution, Version, Region, AMI ID, Arch; rows sorted by region, then
  ``x86_64`` before ``aarch64`` (a reverse sort on Arch); the source region included.

Arch comes from the ``Architecture`` tag (``aarch64``), not the EC2 attribute (``arm64``),
because that is what the published tables say; the attribute is the fallback. The
distribution name is derived by a function the caller may replace; the default is
AlmaLinux's rule.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

HEADER = ("Distribution", "Version", "Region", "AMI ID", "Arch")


@dataclass(frozen=True)
class TableRow:
    distribution: str
    version: str
    region: str
    ami_id: str
    arch: str

    def cells(self) -> tuple[str, str, str, str, str]:
        return (self.distribution, self.version, self.region, self.ami_id, self.arch)


@dataclass(frozen=True)
class PublishedImage:
    """One AMI in one region, with the source's tags (copies carry the same)."""

    source_ami: str
    region: str
    ami_id: str
    name: str
    tags: Mapping[str, str]
    ec2_architecture: str


def almalinux_distribution(image: PublishedImage) -> str:
    """AlmaLinux's rule: ``AlmaLinux OS Kitten`` when the Name tag says kitten."""
    name = image.tags.get("Name", image.name)
    return "AlmaLinux OS Kitten" if "kitten" in name.lower() else "AlmaLinux OS"


def table_arch(image: PublishedImage) -> str:
    return image.tags.get("Architecture") or image.ec2_architecture


def table_rows(
    images: Iterable[PublishedImage],
    distribution: Callable[[PublishedImage], str] = almalinux_distribution,
) -> list[TableRow]:
    rows = [
        TableRow(
            distribution=distribution(img),
            version=img.tags.get("Version", ""),
            region=img.region,
            ami_id=img.ami_id,
            arch=table_arch(img),
        )
        for img in images
    ]
    rows.sort(key=lambda r: r.arch, reverse=True)  # x86_64 before aarch64 ...
    rows.sort(key=lambda r: r.region)  # ... within each region (stable sort)
    return rows


def render_csv(rows: Iterable[TableRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, dialect="unix")
    for row in rows:
        writer.writerow(row.cells())
    return buf.getvalue()


def render_markdown(rows: Iterable[TableRow]) -> str:
    lines = ["|".join(HEADER), "|".join("-" for _ in HEADER)]
    lines.extend("|".join(f"{cell} " for cell in row.cells()) for row in rows)
    return "\n".join(lines) + "\n"


def ami_map(images: Iterable[PublishedImage]) -> dict[str, dict[str, str]]:
    """``{source_ami: {region: ami_id}}``, keys sorted, the source region included."""
    out: dict[str, dict[str, str]] = {}
    for img in images:
        out.setdefault(img.source_ami, {})[img.region] = img.ami_id
    return {src: dict(sorted(regions.items())) for src, regions in sorted(out.items())}


def render_ami_map(images: Iterable[PublishedImage]) -> str:
    return json.dumps(ami_map(images), sort_keys=True, separators=(",", ":"))
