"""The pull request's title and body, and the marker that makes updates idempotent.

The body says where the data came from (the source AMIs, the regions, a link to the run,
a digest of the files) because a reviewer of a table of AMI IDs cannot check them by eye
(AlmaLinux wiki #471 asked "How do you generate these?"). It ends with a hidden marker
holding the digest: a re-run with the same data finds the marker and leaves the pull
request alone, although its own run link differs; new data changes the digest, and the
body is rewritten with the run that made it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jinja2

from imgpub.errors import InputError
from imgpub.wiki.files import render

DEFAULT_BODY = """\
Automated update of the AWS AMI tables of {{ distribution }} {{ version }}, made by imgpub \
wiki-pr from the results of its mirror-ami run.

| Source AMI | Architecture | Name | Regions |
| --- | --- | --- | --- |
{% for s in sources -%}
| `{{ s.ami_id }}` | {{ s.arch }} | {{ s.name }} | {{ s.regions | length }} |
{% endfor %}
Regions ({{ regions | length }}): {{ regions | join(", ") }}.

Files:
{% for f in files -%}
- `{{ f.path }}`: {{ f.rows }} rows ({{ f.change }})
{% endfor %}
{% if run_url %}Run: {{ run_url }}
{% endif %}Data digest: `{{ digest }}`
"""

#: GitHub refuses a longer body (peter-evans/create-pull-request truncates at the same size).
MAX_BODY = 65_536
_MARKER = "<!-- imgpub wiki-pr data {digest} -->"
_MARKER_RE = re.compile(r"<!-- imgpub wiki-pr data (sha256:[0-9a-f]{64}) -->")


def render_title(template: jinja2.Template, variables: Mapping[str, Any]) -> str:
    """One line, spaces folded (an empty datestamp must not leave a double space)."""
    title = " ".join(render("title", template, variables).split())
    if not title:
        raise InputError("title", "renders to an empty title", "give a title template")
    return title[:256]


def render_body(
    template: jinja2.Template, variables: Mapping[str, Any], digest: str
) -> tuple[str, bool]:
    """The body with its marker, and whether it had to be shortened to fit GitHub."""
    marker = _MARKER.format(digest=digest)
    body = render("body", template, variables).rstrip()
    room = MAX_BODY - len(marker) - 40
    shortened = len(body) > room
    if shortened:
        body = body[:room].rstrip() + "\n\n… (shortened to fit GitHub's limit)"
    return f"{body}\n\n{marker}\n", shortened


def body_digest(body: str) -> str | None:
    """The data digest a body was written for, or None when it has no marker."""
    found = _MARKER_RE.search(body or "")
    return found.group(1) if found else None
