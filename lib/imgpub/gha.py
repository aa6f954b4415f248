"""The GitHub Actions runner contract, and its terminal twin.

Every stage talks to its surroundings only through :class:`Gha`: log lines, groups,
annotations, masks, outputs and the job summary. Inside a runner (``GITHUB_ACTIONS=true``)
these become workflow commands and environment-file records exactly as the runner parses
them; in a terminal the same calls print readable text, so a stage behaves the same from a
laptop, in tests and in CI.

This is the only module that imports ``actions_toolkit``. We use its command escaping and
its random-delimiter heredoc records, and add what it lacks or gets wrong for us: it falls
back to the dead ``::set-output`` command when ``GITHUB_OUTPUT`` is unset, has no job
summary, does not check output sizes, and does not know which values are masked.
"""

from __future__ import annotations

import html
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from actions_toolkit.command import escape_data, escape_property
from actions_toolkit.file_command import prepare_key_value_message

from imgpub.errors import ImgpubError

AnnotationKind = Literal["error", "warning", "notice"]

#: The runner drops a job's outputs beyond 1 MB (counted roughly as UTF-16); one output
#: that alone comes near it is a bug in the caller, so refuse it loudly.
MAX_OUTPUT_BYTES = 1_000_000
#: A step summary above 1 MiB is rejected by the runner with an error annotation.
MAX_SUMMARY_BYTES = 1024 * 1024
#: GitHub shows at most 10 annotations of each kind per step; the rest go to the log.
MAX_ANNOTATIONS_PER_KIND = 10


class OutputError(ImgpubError):
    """An output that the runner would reject or silently drop."""


def in_github_actions(env: Mapping[str, str]) -> bool:
    """True when running inside a GitHub Actions runner."""
    return env.get("GITHUB_ACTIONS", "").lower() == "true"


class Gha:
    """Log, annotate, mask, group and publish outputs and the summary for one stage run.

    The environment and the output stream are injected so that tests need no patching.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.actions = in_github_actions(self.env)
        self._out = stdout if stdout is not None else sys.stdout
        self._err = stderr if stderr is not None else sys.stderr
        self._masks: set[str] = set()
        self._annotations: dict[str, int] = {"error": 0, "warning": 0, "notice": 0}
        self._group_open = False
        self._last_progress: dict[str, float] = {}
        self.debug_enabled = self.env.get("RUNNER_DEBUG") == "1" or bool(
            self.env.get("IMGPUB_DEBUG")
        )
        self.publishes_outputs = True

    def nested(self) -> Gha:
        """A Gha for a stage run inside this one (imgpub push): same log, summary and masks
        (a value masked by either is masked for both), inside this run's log group, and its
        outputs are not step outputs (only the outer stage's are)."""
        child = Gha(self.env, self._out, self._err)
        child._masks = self._masks
        child._annotations = self._annotations
        child._group_open = True
        child.publishes_outputs = False
        return child

    # -- plain log lines -------------------------------------------------------------------

    def _emit(self, line: str, *, err: bool = False) -> None:
        stream = self._err if (err and not self.actions) else self._out
        stream.write(line + "\n")
        stream.flush()

    def info(self, message: str) -> None:
        """A log line. Inside a runner, a line that looks like a command is neutralised."""
        lines = message.splitlines() or [""]
        if self.actions and any(line.lstrip().startswith("::") for line in lines):
            # Untrusted text (cloud error messages, names) must never become a command. The
            # runner trims leading blanks before matching, so only stop-commands is safe.
            token = f"imgpub-{uuid.uuid4().hex}"
            self._emit(f"::stop-commands::{token}")
            for line in lines:
                self._emit(line)
            self._emit(f"::{token}::")
            return
        for line in lines:
            self._emit(line)

    def debug(self, message: str) -> None:
        if self.actions:
            self._emit(f"::debug::{escape_data(message)}")
        elif self.debug_enabled:
            self._emit(f"debug: {message}", err=True)

    # -- annotations -------------------------------------------------------------------------

    def annotate(
        self,
        kind: AnnotationKind,
        message: str,
        *,
        title: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        """An error, warning or notice; beyond 10 of a kind they become plain log lines.

        GitHub would drop the extras silently; keeping them in the log (and the full list in
        the summary, which callers render) loses nothing.
        """
        if not self.actions:
            prefix = f"{kind}: " + (f"{title}: " if title else "")
            self._emit(prefix + message, err=True)
            return
        self._annotations[kind] += 1
        if self._annotations[kind] > MAX_ANNOTATIONS_PER_KIND:
            self.info(f"{kind}: {title + ': ' if title else ''}{message}")
            return
        props: dict[str, str] = {}
        if title:
            props["title"] = title
        if file:
            props["file"] = file
        if line is not None:
            props["line"] = str(line)
        prop_text = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
        sep = " " if prop_text else ""
        self._emit(f"::{kind}{sep}{prop_text}::{escape_data(message)}")

    def error(self, message: str, *, title: str | None = None) -> None:
        self.annotate("error", message, title=title)

    def warning(self, message: str, *, title: str | None = None) -> None:
        self.annotate("warning", message, title=title)

    def notice(self, message: str, *, title: str | None = None) -> None:
        self.annotate("notice", message, title=title)

    # -- masks -----------------------------------------------------------------------------

    def mask(self, value: str) -> None:
        """Register a secret before it is used or printed, and remember it.

        The runner masks each line separately, so a multi-line secret is registered line by
        line. Remembering masks lets :meth:`set_output` refuse values the runner would drop.
        """
        for part in value.splitlines():
            part = part.strip()
            if len(part) < 3 or part in self._masks:
                continue  # a mask of one or two characters would blank out the whole log
            self._masks.add(part)
            if self.actions:
                self._emit(f"::add-mask::{escape_data(part)}")

    @property
    def masks(self) -> frozenset[str]:
        return frozenset(self._masks)

    def is_masked(self, value: str) -> bool:
        return any(m in value for m in self._masks)

    # -- groups and progress ---------------------------------------------------------------

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible log section. The runner cannot nest groups, so inner ones are lines."""
        if self._group_open:
            self.info(f"-- {title}")
            yield
            return
        self._group_open = True
        if self.actions:
            self._emit(f"::group::{escape_data(title)}")
        else:
            self._emit(f"== {title}")
        try:
            yield
        finally:
            self._group_open = False
            if self.actions:
                self._emit("::endgroup::")

    def progress(
        self, label: str, done: float, total: float | None, unit: str = "", *, force: bool = False
    ) -> None:
        """A progress line, at most one per label every two seconds unless forced.

        Long operations must show they are alive without flooding the log.
        """
        now = time.monotonic()
        if not force and now - self._last_progress.get(label, 0.0) < 2.0:
            return
        self._last_progress[label] = now
        if total:
            pct = 100.0 * done / total
            self.info(f"{label}: {_fmt(done, unit)} / {_fmt(total, unit)} ({pct:.1f}%)")
        else:
            self.info(f"{label}: {_fmt(done, unit)}")

    # -- outputs ---------------------------------------------------------------------------

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        """Write step outputs, refusing the ones the runner would reject or drop.

        Checks all values before writing any, so a refused output never leaves a
        half-written set behind.
        """
        records: list[str] = []
        for name, value in outputs.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
                raise OutputError(f"output name {name!r} is not a valid output id")
            size = len(value.encode("utf-16-le"))
            if size > MAX_OUTPUT_BYTES:
                raise OutputError(
                    f"output '{name}' is {size} bytes, over the runner's 1 MB limit",
                    remedy="read the full data from the results document instead",
                )
            if self.is_masked(value):
                raise OutputError(
                    f"output '{name}' contains a masked value; the runner would drop it",
                    remedy="do not pass secrets between jobs; pass a reference instead",
                )
            records.append(prepare_key_value_message(name, value))
        if not self.publishes_outputs:
            return
        path = self.env.get("GITHUB_OUTPUT")
        if self.actions and path:
            with Path(path).open("a", encoding="utf-8", newline="") as fh:
                for record in records:
                    fh.write(record + "\n")
            return
        for name, value in outputs.items():
            shown = value if len(value) <= 200 else value[:200] + "…"
            self._emit(f"output {name}: {shown}", err=True)

    # -- summary ---------------------------------------------------------------------------

    def write_summary(self, summary: Summary) -> None:
        """Append the summary to the step summary file, or print it in a terminal."""
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if self.actions and path:
            with Path(path).open("a", encoding="utf-8") as fh:
                fh.write(summary.render_markdown())
            return
        text = summary.render_text()
        if text.strip():
            self._emit("")
            self._emit(text.rstrip("\n"))


def _fmt(value: float, unit: str) -> str:
    if unit == "B":
        size = float(value)
        for suffix in ("B", "KiB", "MiB", "GiB", "TiB"):
            if size < 1024 or suffix == "TiB":
                return f"{size:.0f} {suffix}" if suffix == "B" else f"{size:.1f} {suffix}"
            size /= 1024
    text = f"{value:g}"
    return f"{text} {unit}".rstrip()


# -- summary builder ---------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def escape_md(text: str) -> str:
    """Escape untrusted text for GitHub-flavoured Markdown (cells, headings, lines).

    Cloud error messages, tag values and names come from outside; they must not become
    links, HTML or table structure in the summary.
    """
    escaped = html.escape(text, quote=False)
    escaped = _MD_SPECIAL.sub(r"\\\1", escaped)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


@dataclass
class _Block:
    kind: Literal["heading", "text", "table", "list", "code", "details"]
    text: str = ""
    level: int = 2
    header: Sequence[str] = ()
    rows: list[Sequence[str]] = field(default_factory=list)
    items: Sequence[str] = ()
    lang: str = ""
    label: str = ""
    omitted: int = 0


class Summary:
    """A job-summary builder that escapes everything it is given and stays within 1 MiB.

    Text passed in is treated as untrusted; there is no raw-HTML entry point. When the
    rendered Markdown would exceed the budget, the largest tables lose rows (with a note
    saying how many) — the full data is always in the results document.
    """

    def __init__(self, budget: int = MAX_SUMMARY_BYTES) -> None:
        self._blocks: list[_Block] = []
        self.budget = budget

    def heading(self, text: str, level: int = 2) -> Summary:
        self._blocks.append(_Block("heading", text=text, level=max(1, min(level, 6))))
        return self

    def text(self, text: str) -> Summary:
        self._blocks.append(_Block("text", text=text))
        return self

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Summary:
        str_rows = [[("" if c is None else str(c)) for c in row] for row in rows]
        self._blocks.append(_Block("table", header=list(header), rows=list(str_rows)))
        return self

    def bullets(self, items: Sequence[str]) -> Summary:
        self._blocks.append(_Block("list", items=list(items)))
        return self

    def code(self, text: str, lang: str = "") -> Summary:
        self._blocks.append(_Block("code", text=text, lang=re.sub(r"[^a-z0-9]", "", lang)))
        return self

    def details(self, label: str, text: str, lang: str = "") -> Summary:
        """A collapsed section holding a code block (raw data, full plans)."""
        block = _Block("details", label=label, text=text)
        block.lang = re.sub(r"[^a-z0-9]", "", lang)
        self._blocks.append(block)
        return self

    @property
    def empty(self) -> bool:
        return not self._blocks

    # -- rendering -------------------------------------------------------------------------

    def render_markdown(self) -> str:
        rendered = self._render_md()
        while len(rendered.encode("utf-8")) > self.budget:
            tables = [b for b in self._blocks if b.kind == "table" and b.rows]
            codes = [b for b in self._blocks if b.kind in ("code", "details") and b.text]
            if tables:
                biggest = max(tables, key=lambda b: len(b.rows))
                keep = len(biggest.rows) // 2
                biggest.omitted += len(biggest.rows) - keep
                biggest.rows = biggest.rows[:keep]
            elif codes:
                biggest_code = max(codes, key=lambda b: len(b.text))
                biggest_code.text = biggest_code.text[: len(biggest_code.text) // 2] + "\n…"
            else:
                return rendered.encode("utf-8")[: self.budget].decode("utf-8", "ignore")
            rendered = self._render_md()
        return rendered

    def _render_md(self) -> str:
        out: list[str] = []
        for b in self._blocks:
            if b.kind == "heading":
                out.append(f"{'#' * b.level} {escape_md(b.text)}\n")
            elif b.kind == "text":
                out.append(escape_md(b.text) + "\n")
            elif b.kind == "list":
                out.extend(f"- {escape_md(i)}" for i in b.items)
                out.append("")
            elif b.kind == "table":
                out.append("| " + " | ".join(escape_md(h) for h in b.header) + " |")
                out.append("|" + "|".join("---" for _ in b.header) + "|")
                out.extend("| " + " | ".join(escape_md(c) for c in row) + " |" for row in b.rows)
                if b.omitted:
                    out.append("")
                    out.append(f"*{b.omitted} more rows are in the results document.*")
                out.append("")
            elif b.kind == "code":
                out.append(_fence(b.text, b.lang))
            elif b.kind == "details":
                out.append(f"<details><summary>{html.escape(b.label)}</summary>\n")
                out.append(_fence(b.text, b.lang))
                out.append("</details>\n")
        return "\n".join(out) + ("\n" if out else "")

    def render_text(self) -> str:
        """A plain-text rendering for terminals: aligned tables, no Markdown syntax."""
        out: list[str] = []
        for b in self._blocks:
            if b.kind == "heading":
                out.append(("" if b.level > 2 else "\n") + b.text)
                if b.level <= 2:
                    out.append("-" * len(b.text))
            elif b.kind == "text":
                out.append(b.text)
            elif b.kind == "list":
                out.extend(f"  - {i}" for i in b.items)
            elif b.kind == "table":
                out.extend(_text_table(b.header, b.rows))
            elif b.kind == "code":
                out.extend("    " + line for line in b.text.splitlines())
            elif b.kind == "details":
                out.append(f"{b.label}:")
                out.extend("    " + line for line in b.text.splitlines())
        return "\n".join(out) + "\n"


def _fence(text: str, lang: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}\n"


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], len(cell))
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False))]
    lines.append("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)))
    return lines
