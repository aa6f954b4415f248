"""The notification text, rendered from the results document and nothing else.

One text serves Mattermost and Slack (cloud-apis.md §13.3): plain text, backticks for IDs,
``<url|label>`` links (both render them; Slack ignores ``[label](url)``), no bold (the two
disagree on it), emoji shortcodes both know. Untrusted text (cloud error messages, names)
has ``&``, ``<`` and ``>`` escaped so it cannot become a link or a mention. The message is
short — a headline, the failures with their remedy, what was created, what existed, as
many as fit — because the job summary and the results document hold the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from imgpub.results import ResultsDocument, Section, Target

ICONS = {
    "success": ":white_check_mark:",
    "partial": ":warning:",
    "failed": ":x:",
    "planned": ":memo:",
}
WORDS = {
    "success": "success",
    "partial": "partial success",
    "failed": "failed",
    "planned": "dry run, nothing changed",
}
#: Target lines per message; the rest is counted, not listed.
MAX_TARGET_LINES = 12
#: Well under Mattermost's 16,383-character post (it would split) and Slack's limits.
MAX_TEXT = 3500
_ORDER = ("failed", "cancelled", "created", "updated", "planned", "existed", "skipped")


def escape(text: str) -> str:
    """Untrusted text made inert for Slack and Mattermost (no links, mentions or HTML)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    return "`" + escape(text).replace("`", "'") + "`"


def link(url: str, label: str) -> str:
    """``<url|label>``; a URL that could break out of the brackets is shown as code."""
    if not url.startswith(("https://", "http://")) or any(c in url for c in "<>| \n"):
        return code(url)
    return f"<{url}|{escape(label).replace('|', '/')}>"


def counts_text(section: Section) -> str:
    counts = section.counts()
    return ", ".join(f"{counts[state]} {state}" for state in sorted(counts))


def headline(section: Section, run_url: str | None) -> str:
    status = section.status
    icon = ICONS.get(status, ":grey_question:")
    text = f"{icon} imgpub {section.stage}: {WORDS.get(status, status)}"
    counts = counts_text(section)
    if counts:
        text += f" ({counts})"
    if run_url:
        text += " — " + link(run_url, "run")
    return text


def target_line(target: Target) -> str:
    what = target.resource_id or target.key
    shown = link(what, target.key) if what.startswith(("https://", "http://")) else code(what)
    line = f"• {target.state} {escape(target.kind)} {shown}"
    if target.region:
        line += f" in {escape(target.region)}"
    if target.state in ("failed", "cancelled") and target.error:
        line += f": {escape(target.error)}"
        if target.remedy:
            line += f" — {escape(target.remedy)}"
    return line


def target_lines(targets: Sequence[Target], limit: int = MAX_TARGET_LINES) -> list[str]:
    """Failures first, then what was made, then what existed, as many as fit."""
    chosen = [t for state in _ORDER for t in targets if t.state == state]
    lines = [target_line(t) for t in chosen[:limit]]
    if len(chosen) > limit:
        lines.append(f"… and {len(chosen) - limit} more in the results document")
    return lines


def stage_text(section: Section, *, run_url: str | None) -> str:
    """One stage's outcome: the headline, its error and remedy, then its targets."""
    lines = [headline(section, run_url)]
    if section.error:
        lines.append(f"Error: {escape(str(section.error.get('message', '')))}")
        if section.error.get("remedy"):
            lines.append(f"What to do: {escape(str(section.error['remedy']))}")
    lines.extend(target_lines(section.targets))
    return clip("\n".join(lines))


def document_text(doc: ResultsDocument, *, run_url: str | None) -> str:
    """A whole release: one headline per stage, then every stage's failures."""
    sections = list(doc.stages.values())
    status = overall_status(sections)
    title = f"{ICONS.get(status, '')} imgpub release: {WORDS.get(status, status)}"
    if run_url:
        title += " — " + link(run_url, "run")
    lines = [title.strip()]
    lines.extend("  " + headline(s, None) for s in sections)
    failures = [t for s in sections for t in s.targets if t.state in ("failed", "cancelled")]
    for s in sections:
        if s.error:
            lines.append(f"{escape(s.stage)}: {escape(str(s.error.get('message', '')))}")
    lines.extend(target_lines(failures))
    return clip("\n".join(lines))


def overall_status(sections: Iterable[Section]) -> str:
    """failed if any stage failed, partial if any was partial, else success (or planned)."""
    statuses = {s.status for s in sections}
    for status in ("failed", "partial", "success"):
        if status in statuses:
            return status
    return "planned" if statuses else "success"


def clip(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit("\n", 1)[0]
    return cut + "\n… (shortened; the results document has everything)"
