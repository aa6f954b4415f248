"""Checks every harness test should make: what the runner and GitHub's UI would punish.

Each returns a list of problems (empty when fine) so a test can also assert that a
deliberately bad action *does* produce one; :func:`assert_runner_hygiene` raises.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .runner import ActionResult

ANNOTATION_LIMIT = 10


def masked_leaks(result: ActionResult) -> list[str]:
    """Masked values printed after their ``::add-mask::`` line, or written to a summary.

    The runner would redact them, so nothing leaks on GitHub; but printing a secret at all
    means the code handled it carelessly, and on a local terminal (or in a results file)
    nothing redacts it.
    """
    problems = []
    for mask in result.masks:
        for lineno in range(mask.line + 1, len(result.log.lines)):
            if mask.value in result.log.lines[lineno]:
                problems.append(f"masked value printed on line {lineno + 1} after its mask")
                break
        for i, summary in enumerate(result.summaries):
            if mask.value in summary:
                problems.append(f"masked value in step summary {i}")
    document = results_document_text(result)
    for mask in result.masks:
        if mask.value in document:
            problems.append("masked value in the results document")
            break
    return problems


def results_document_text(result: ActionResult) -> str:
    """The results document the action's results-path output names ('' if there is none)."""
    path = result.outputs.get("results-path", "")
    if not path or not Path(path).is_file():
        return ""
    return Path(path).read_text("utf-8")


def annotation_overflow(result: ActionResult, limit: int = ANNOTATION_LIMIT) -> list[str]:
    """More than ``limit`` annotations of one kind in one step: GitHub shows only 10."""
    counts = Counter((a.step, a.kind) for a in result.annotations)
    return [
        f"step {step}: {n} {kind} annotations (GitHub shows {limit})"
        for (step, kind), n in sorted(counts.items())
        if n > limit
    ]


def group_problems(result: ActionResult) -> list[str]:
    """Unclosed, nested or stray ``::group::``/``::endgroup::`` lines."""
    return list(result.log.group_problems)


def assert_runner_hygiene(result: ActionResult) -> None:
    """Fail the test on any masked leak, annotation overflow or group imbalance."""
    problems = masked_leaks(result) + annotation_overflow(result) + group_problems(result)
    assert not problems, "runner hygiene problems:\n" + "\n".join(problems)
