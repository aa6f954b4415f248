"""Several results documents made one: the matrix legs of a release meet in the next job.

A workflow builds x86_64 and aarch64 in two jobs, so two documents each hold a build-ami
section; the mirror job needs one document that holds both, and so does everything after
it (the wiki tables, the notification). Jobs hand documents on as artifacts, so the merge
is over files: :func:`load_documents` reads the paths or globs an input names (the shape
wiki-pr's ``mirror-results`` has always taken), :func:`merge_documents` is pure.

Sections of different stages are kept as they are. Sections of the same stage (one per
leg) become one: targets by key (a later document's record of the same key wins, as a
re-run's would), the status decided again from those targets, the earliest start and
latest finish, and each leg's ``data`` kept whole under ``legs`` (a leg's data describes
that leg; no field of one may silently overwrite the other's). Outputs are per job and
are dropped from a merged section: a job's outputs come from its own step.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from imgpub.errors import ConfigError, InputError
from imgpub.results import ResultsDocument, Section


def merge_documents(documents: Sequence[ResultsDocument]) -> ResultsDocument:
    """One document holding every section of ``documents``, in order, legs merged."""
    merged = ResultsDocument()
    legs: dict[str, list[Section]] = {}
    for doc in documents:
        for name, section in doc.stages.items():
            legs.setdefault(name, []).append(section)
        merged.run = doc.run or merged.run
    for sections in legs.values():
        merged.put(sections[0] if len(sections) == 1 else merge_sections(sections))
    return merged


def merge_sections(sections: Sequence[Section]) -> Section:
    """The sections of one stage from several jobs, as one section."""
    first = sections[0]
    out = Section(
        stage=first.stage,
        dry_run=all(s.dry_run for s in sections),
        started_at=min(s.started_at for s in sections),
        finished_at=max(s.finished_at for s in sections),
        duration_seconds=max(s.duration_seconds for s in sections),
        inputs=dict(first.inputs),
        data={"legs": [s.data for s in sections]},
    )
    for section in sections:
        for target in section.targets:
            out.add(target)
    errors = [s.error for s in sections if s.error is not None]
    out.error = errors[0] if errors else None
    out.status = out.decide_status()
    return out


def load_documents(patterns: Sequence[str], input_name: str, remedy: str) -> list[Path]:
    """The files ``patterns`` name (paths or globs, in order, each once), all existing.

    A pattern that matches nothing is bad input for ``input_name``: the artifact was not
    downloaded, or to another path.
    """
    found: list[Path] = []
    for pattern in patterns:
        # Path.glob cannot take the absolute patterns artifacts are downloaded to.
        paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]  # noqa: PTH207
        if not paths or not all(Path(p).is_file() for p in paths):
            raise InputError(input_name, f"{pattern} matches no file", remedy)
        found.extend(Path(p) for p in paths if Path(p) not in found)
    return found


def read_documents(
    patterns: Sequence[str], input_name: str, remedy: str
) -> list[tuple[str, ResultsDocument]]:
    """(path, document) for every file ``patterns`` name; a bad document is bad input."""
    out: list[tuple[str, ResultsDocument]] = []
    for path in load_documents(patterns, input_name, remedy):
        try:
            out.append((str(path), ResultsDocument.load(path)))
        except ConfigError as exc:
            raise InputError(input_name, exc.message, exc.remedy or "") from None
    return out
