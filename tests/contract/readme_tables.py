"""README input/output tables, kept equal to each action.yml.

The README documents each action with two marked tables (the format is described in
actions/README.md, "README tables")::

    <!-- imgpub:inputs mirror-ami -->
    | Input | Description | Required | Default |
    | --- | --- | --- | --- |
    | `source-ami` | AMI IDs to mirror. | yes | |
    | `dry-run` | Print the plan and change nothing. | no | `false` |
    <!-- /imgpub:inputs -->

    <!-- imgpub:outputs mirror-ami -->
    | Output | Description |
    | --- | --- |
    | `amis` | JSON map: source AMI → region → AMI ID. |
    <!-- /imgpub:outputs -->

Rows follow action.yml order. Descriptions are action.yml's with whitespace collapsed and
``|`` written ``\\|``; Required is ``yes``/``no``; Default is empty for no default or ``''``,
else the value in backticks. The markers let the checker find the tables without guessing
at headings, and let a human edit everything around them freely.

Run as a script to print the expected blocks for an action (paste them into README.md)::

    .venv/bin/python tests/contract/readme_tables.py actions/mirror-ami/action.yml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

_BLOCK = r"<!--\s*imgpub:{kind}\s+{name}\s*-->\s*\n(?P<body>.*?)\n\s*<!--\s*/imgpub:{kind}\s*-->"
_CELL_SPLIT = re.compile(r"(?<!\\)\|")

INPUT_HEADER = ("Input", "Description", "Required", "Default")
OUTPUT_HEADER = ("Output", "Description")


def _clean(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def expected_rows(action: dict[str, Any], kind: str) -> list[tuple[str, ...]]:
    """The rows the README must contain for ``kind`` (``inputs`` or ``outputs``)."""
    rows: list[tuple[str, ...]] = []
    for name, spec in (action.get(kind) or {}).items():
        spec = spec or {}
        if kind == "outputs":
            rows.append((f"`{name}`", _clean(spec.get("description"))))
            continue
        default = spec.get("default")
        shown = "" if default in (None, "") else "`" + str(default).replace("\n", "\\n") + "`"
        required = "yes" if spec.get("required") is True else "no"
        rows.append((f"`{name}`", _clean(spec.get("description")), required, shown))
    return rows


def render(action_name: str, action: dict[str, Any]) -> str:
    """The marked Markdown blocks for one action, exactly as the checker expects them."""
    parts = []
    for kind, header in (("inputs", INPUT_HEADER), ("outputs", OUTPUT_HEADER)):
        lines = [
            f"<!-- imgpub:{kind} {action_name} -->",
            "| " + " | ".join(header) + " |",
            "| " + " | ".join("---" for _ in header) + " |",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in expected_rows(action, kind)]
        lines.append(f"<!-- /imgpub:{kind} -->")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _parse_table(body: str) -> list[tuple[str, ...]]:
    rows = []
    for line in body.strip().splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        cells = tuple(c.strip() for c in _CELL_SPLIT.split(line.strip("|")))
        if all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
            continue
        rows.append(cells)
    return rows[1:] if rows else []  # drop the header row


def check_readme_tables(readme: str, action_name: str, action: dict[str, Any]) -> list[str]:
    """Problems with the README's tables for ``action_name`` (empty when they match)."""
    problems = []
    for kind in ("inputs", "outputs"):
        pattern = _BLOCK.format(kind=kind, name=re.escape(action_name))
        matches = list(re.finditer(pattern, readme, re.DOTALL))
        if not matches:
            problems.append(f"README has no <!-- imgpub:{kind} {action_name} --> table")
            continue
        if len(matches) > 1:
            problems.append(f"README has {len(matches)} {kind} tables for {action_name}")
        before = len(problems)
        found = _parse_table(matches[0].group("body"))
        wanted = expected_rows(action, kind)
        found_by_name = {row[0]: row for row in found}
        wanted_by_name = {row[0]: row for row in wanted}
        for name in wanted_by_name.keys() - found_by_name.keys():
            problems.append(f"{kind}: {name} is in action.yml but not in the README")
        for name in found_by_name.keys() - wanted_by_name.keys():
            problems.append(f"{kind}: {name} is in the README but not in action.yml")
        for name, row in wanted_by_name.items():
            if name in found_by_name and found_by_name[name] != row:
                problems.append(f"{kind}: {name} README row {found_by_name[name]} != {row}")
        if len(problems) == before and [r[0] for r in found] != [r[0] for r in wanted]:
            problems.append(f"{kind}: rows are not in action.yml order")
    return problems


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        path = Path(arg)
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        sys.stdout.write(render(path.parent.name, doc) + "\n")
