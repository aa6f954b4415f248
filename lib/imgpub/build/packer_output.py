"""Reading Packer's machine-readable output and manifest (pure).

``packer build -machine-readable`` prints ``<ts>,<target>,<type>,<data…>`` lines; inside a
field a comma is ``%!(PACKER_COMMA)`` and newlines are the two characters ``\\n``
(cloud-apis.md §11.1). The AMI comes from the ``artifact,<n>,id`` lines (``region:ami``
pairs joined by commas) or the ``manifest`` post-processor's file — never from the human
"AMIs were created" text, which AlmaLinux greps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_AMI = re.compile(r"^ami-[0-9a-f]+$")


@dataclass(frozen=True)
class MachineLine:
    timestamp: str
    target: str
    kind: str
    data: tuple[str, ...]


def decode_field(text: str) -> str:
    return text.replace("%!(PACKER_COMMA)", ",").replace("\\n", "\n").replace("\\r", "\r")


def parse_line(line: str) -> MachineLine | None:
    """One machine-readable line, or None for anything else (a stray log line)."""
    parts = line.rstrip("\n").split(",")
    if len(parts) < 3 or not parts[0].isdigit():
        return None
    return MachineLine(parts[0], parts[1], parts[2], tuple(decode_field(p) for p in parts[3:]))


def human_text(line: MachineLine) -> str | None:
    """The text a ``ui`` line shows a person (``say``/``message``/``error``)."""
    if line.kind == "ui" and len(line.data) >= 2:
        return line.data[1]
    if line.kind == "error" and line.data:
        return f"error: {line.data[0]}"
    return None


def artifact_amis(lines: Iterable[MachineLine]) -> dict[str, str]:
    """region → AMI from the ``artifact,<n>,id`` lines (a post-processor repeats them)."""
    out: dict[str, str] = {}
    for line in lines:
        if line.kind == "artifact" and len(line.data) >= 3 and line.data[1] == "id":
            out.update(split_artifact_id(line.data[2]))
    return out


def split_artifact_id(artifact_id: str) -> dict[str, str]:
    """``us-east-1:ami-1,eu-west-1:ami-2`` → {region: AMI}."""
    out: dict[str, str] = {}
    for pair in artifact_id.split(","):
        region, sep, ami = pair.strip().partition(":")
        if sep and _AMI.match(ami):
            out[region] = ami
    return out


def errors(lines: Iterable[MachineLine]) -> list[str]:
    """The build errors Packer reported (``error`` lines and ``ui,error`` text)."""
    out: list[str] = []
    for line in lines:
        if line.kind == "error" and line.data:
            out.append(line.data[0].strip())
        elif line.kind == "ui" and len(line.data) >= 2 and line.data[0] == "error":
            out.append(line.data[1].strip())
    return [e for e in out if e]


def manifest_amis(path: Path) -> dict[str, str]:
    """region → AMI of the last run recorded in a ``manifest`` post-processor file."""
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    last = doc.get("last_run_uuid")
    out: dict[str, str] = {}
    for build in doc.get("builds", []):
        if last and build.get("packer_run_uuid") != last:
            continue
        out.update(split_artifact_id(str(build.get("artifact_id", ""))))
    return out


_VARIABLE = re.compile(r'^\s*variable\s+"([A-Za-z_][A-Za-z0-9_-]*)"', re.MULTILINE)


def declared_variables(template: Path) -> set[str]:
    """The variables a template (a .pkr.hcl file or a folder of them, or JSON) declares."""
    files = sorted(template.glob("*.pkr.hcl")) if template.is_dir() else [template]
    names: set[str] = set()
    for file in files:
        text = file.read_text("utf-8", errors="replace")
        if file.suffix == ".json":
            try:
                names.update(json.loads(text).get("variables", {}))
            except ValueError:
                continue
        names.update(_VARIABLE.findall(text))
    return names


def needs_init(template: Path) -> bool:
    """HCL2 templates with ``required_plugins`` need ``packer init`` (Packer ≥ 1.7)."""
    files = sorted(template.glob("*.pkr.hcl")) if template.is_dir() else [template]
    return any("required_plugins" in f.read_text("utf-8", errors="replace") for f in files)
