"""Meta precedence and the release-notes placeholders (pure).

StArMap's rule, kept exactly: an entity's ``meta`` < its account mapping's ``meta`` < the
destination's ``meta``; a later level replaces a key as a whole (no deep merge: a
``security_groups`` list given by a destination replaces the mapping's). Each destination
gets its own merged copy, so nothing leaks between destinations (the seed merged every
destination of an account into one, last wins).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imgpub.push.model import PushItem


def merge_meta(*levels: Mapping[str, Any] | None) -> dict[str, Any]:
    """``levels`` from the weakest to the strongest; ``None`` values do not override."""
    merged: dict[str, Any] = {}
    for level in levels:
        for key, value in (level or {}).items():
            if value is not None:
                merged[key] = value
    return merged


def placeholders(item: PushItem) -> dict[str, str]:
    return {
        "major_version": item.major,
        "minor_version": item.minor,
        "major_minor": f"{item.major}.{item.minor}",
        "version": item.version,
        "name": item.name,
        "arch": item.architecture,
    }


def render_text(template: str, item: PushItem) -> str:
    """Fill ``{major_version}`` ``{minor_version}`` ``{major_minor}`` (and ``{version}``
    ``{name}`` ``{arch}``); other braces stay as written, so text with JSON in it is safe."""
    out = template
    for key, value in placeholders(item).items():
        out = out.replace("{" + key + "}", value)
    return out
