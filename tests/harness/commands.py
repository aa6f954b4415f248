"""Workflow commands on stdout (``::error``, ``::group``, ``::add-mask``, …), read like the runner.

The runner scans every output line of a step; a line whose left-trimmed text starts with
``::`` and has the shape ``::name[ key=value,key=value]::message`` is a command. Message
text is unescaped (``%0D``, ``%0A``, ``%25``); property values additionally ``%3A`` and
``%2C``. Between ``::stop-commands::TOKEN`` and ``::TOKEN::`` nothing is a command, which is
how untrusted text is printed literally.

The parser keeps everything a test may want to assert on: annotations with their step and
properties, debug messages, masks in registration order (with the line they were registered
at, so "no secret printed after its mask" can be checked), and group structure problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMAND = re.compile(
    r"^::(?P<name>[A-Za-z0-9_-]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$", re.DOTALL
)


def unescape_data(text: str) -> str:
    """Undo the toolkit's message escaping (``%`` last, so ``%250A`` stays ``%0A``)."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    """Undo property escaping: the message rules plus ``%3A`` (``:``) and ``%2C`` (``,``)."""
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


@dataclass(frozen=True)
class Annotation:
    """One ``::error``/``::warning``/``::notice`` (or a runner-generated error)."""

    kind: str
    message: str
    properties: dict[str, str]
    step: int
    line: int


@dataclass(frozen=True)
class Mask:
    """A value registered with ``::add-mask::``; ``line`` is where the runner learnt it."""

    value: str
    line: int


@dataclass
class CommandLog:
    """Everything parsed from a job's output lines, across steps."""

    lines: list[str] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    debug: list[str] = field(default_factory=list)
    masks: list[Mask] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    group_problems: list[str] = field(default_factory=list)
    _open_group: str | None = None
    _stop_token: str | None = None

    def feed(self, text: str, step: int) -> None:
        """Process one step's combined output."""
        for raw in text.splitlines():
            self.lines.append(raw)
            self._line(raw, step, len(self.lines) - 1)
        # The runner closes nothing for you, but a step boundary is where an unclosed
        # group becomes visible in the log UI: record it, then forget it.
        if self._open_group is not None:
            self.group_problems.append(f"step {step}: group {self._open_group!r} never closed")
            self._open_group = None
        self._stop_token = None

    def _line(self, raw: str, step: int, lineno: int) -> None:
        m = _COMMAND.match(raw.lstrip())
        if not m:
            return
        name, props_text, data = m.group("name"), m.group("props"), m.group("data")
        if self._stop_token is not None:
            if name == self._stop_token and not props_text and not data:
                self._stop_token = None
            return
        props: dict[str, str] = {}
        if props_text:
            for pair in props_text.split(","):
                if "=" in pair:
                    key, _, value = pair.partition("=")
                    props[key.strip()] = unescape_property(value)
        message = unescape_data(data)
        if name in ("error", "warning", "notice"):
            self.annotations.append(Annotation(name, message, props, step, lineno))
        elif name == "debug":
            self.debug.append(message)
        elif name == "add-mask":
            # The runner ignores blank masks; a multi-line value masks each line too.
            for value in {message, *message.splitlines()}:
                if value.strip():
                    self.masks.append(Mask(value, lineno))
        elif name == "group":
            if self._open_group is not None:
                self.group_problems.append(
                    f"step {step}: group {message!r} opened inside {self._open_group!r}"
                    " (groups do not nest)"
                )
            self._open_group = message
            self.groups.append(message)
        elif name == "endgroup":
            if self._open_group is None:
                self.group_problems.append(f"step {step}: ::endgroup:: without ::group::")
            self._open_group = None
        elif name == "stop-commands":
            self._stop_token = data
