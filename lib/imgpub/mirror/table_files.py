"""Writing the region tables to the files the inputs name, after the changes.

The paths were checked writable before anything ran (``kind="output"``), so a write that
fails here failed for a reason that came up since (disk full, the folder replaced). By then
the AMIs are copied, shared and published: the failure is one failed target with its path
and remedy, never a claim that nothing changed, and the other table is still written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from imgpub.mirror.plan import Plan
from imgpub.mirror.result import TableFailure
from imgpub.mirror.tables import TableRow, render_csv, render_markdown


def write_table_files(plan: Plan, rows: Sequence[TableRow]) -> tuple[TableFailure, ...]:
    """CSV and Markdown in AlmaLinux's published format; the writes that failed."""
    wanted = (
        ("csv-output", plan.csv_output, render_csv),
        ("md-output", plan.md_output, render_markdown),
    )
    failures = []
    for name, path_text, render in wanted:
        if not path_text:
            continue
        path = Path(path_text)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(rows), "utf-8")
        except OSError as exc:
            failures.append(TableFailure(name, str(path), exc.strerror or type(exc).__name__))
    return tuple(failures)
