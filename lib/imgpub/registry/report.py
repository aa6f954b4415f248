"""Rows and entries shared by the plan's and the result's reports (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from imgpub.stage import json_output

if TYPE_CHECKING:
    from imgpub.registry.plan import ImagePlan

__all__ = ["image_entry", "image_rows", "json_output", "remedy_rows", "short_digest"]

IMAGE_HEADER = ["source", "destination", "digest", "platforms", "state"]


def short_digest(digest: str) -> str:
    """``sha256:0123456789ab`` — enough to tell images apart in a table."""
    return digest[:19] if digest else ""


def image_entry(plan: ImagePlan, state: str) -> dict[str, Any]:
    """One element of the ``images`` output (and of the results document's data)."""
    return {
        "source": str(plan.job.source),
        "destination": str(plan.destination),
        "digest": plan.digest or None,
        "platforms": list(plan.platforms),
        "state": state,
    }


def image_rows(items: Iterable[tuple[ImagePlan, str]]) -> tuple[list[str], list[list[str]]]:
    rows = [
        [
            str(p.job.source),
            str(p.destination),
            short_digest(p.digest),
            ", ".join(p.platforms) or "-",
            state,
        ]
        for p, state in items
    ]
    return IMAGE_HEADER, rows


def remedy_rows(plans: Sequence[ImagePlan]) -> list[list[str]]:
    return [[str(p.destination), p.problem, p.remedy] for p in plans if p.problem]
