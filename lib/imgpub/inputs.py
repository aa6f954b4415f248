"""Stage inputs: one declaration per input, resolved the same way from every front end.

A stage declares its inputs once as :class:`InputSpec` values. The CLI builds its flags from
them, the contract tests check each ``action.yml`` against them, and :class:`InputReader`
resolves a value in a fixed order:

1. the CLI flag ``--<name>``;
2. ``INPUT_<NAME>`` as the runner spells it for Docker and JavaScript actions (upper case,
   hyphens kept), then the same name with hyphens as underscores (what our composite
   actions pass through ``env:``, since bash cannot name a variable with a hyphen);
3. the stage's section of the configuration file;
4. the declared default.

An empty value counts as unset: a composite action passes every input, given or not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from imgpub.errors import InputError

InputKind = Literal["text", "bool", "list", "lines", "int", "secret", "path", "output"]
"""``path`` is a file the stage reads; ``output`` one it writes (checked writable up front)."""

_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class InputSpec:
    """One input of a stage: the action input id, the CLI flag and its documentation."""

    name: str
    description: str
    default: str | None = None
    required: bool = False
    kind: InputKind = "text"

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"input name {self.name!r} is not kebab-case")
        if self.kind == "bool" and self.default not in (None, "true", "false"):
            raise ValueError(f"boolean input {self.name!r} needs default 'true' or 'false'")

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def env_names(self) -> tuple[str, str]:
        upper = self.name.upper()
        return f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"


@dataclass(frozen=True)
class OutputSpec:
    """One output of a stage (an action output and a key in the results section)."""

    name: str
    description: str


#: Inputs every stage has; stages must not declare them again.
COMMON_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "dry-run",
        "Print the plan and change nothing. Read-only calls are still made to build the plan.",
        default="false",
        kind="bool",
    ),
    InputSpec(
        "results",
        "Path of the results document to read and extend (JSON). Default: "
        "$RUNNER_TEMP/imgpub-results.json in Actions, ./imgpub-results.json elsewhere.",
        kind="output",
    ),
    InputSpec(
        "notify-webhook",
        "Incoming-webhook URL (Mattermost or Slack) to post the outcome to once the results "
        "document is written. Pass it from a secret: it is masked. Empty: no notification. "
        "A failed post is a warning, never a failed run.",
        kind="secret",
    ),
    InputSpec(
        "notify-channel",
        "Channel to post to (Mattermost: a channel name or @user). Empty: the webhook's "
        "own channel (Slack app webhooks always post there).",
    ),
    InputSpec(
        "notify-on",
        "When to post: always, failure (failed or partial runs only) or never. Empty: "
        "always when notify-webhook is set.",
    ),
)

#: Outputs every stage sets.
COMMON_OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec("status", "success, partial or failed."),
    OutputSpec("results-path", "Path of the results document this stage wrote."),
)


def with_common_inputs(specs: Sequence[InputSpec]) -> tuple[InputSpec, ...]:
    """A stage's inputs followed by the common ones it does not redeclare.

    A stage may redeclare a common input to change its default (azure-gallery dry-runs by
    default, as release engineers expect from the tool it replaces).
    """
    own = {s.name for s in specs}
    return (*specs, *(c for c in COMMON_INPUTS if c.name not in own))


class InputReader:
    """Resolve and validate declared inputs; secrets are masked the moment they are read."""

    def __init__(
        self,
        specs: Sequence[InputSpec],
        *,
        flags: Mapping[str, str | None] | None = None,
        env: Mapping[str, str] | None = None,
        config: Mapping[str, object] | None = None,
        mask: Callable[[str], None] | None = None,
    ) -> None:
        self._specs = {s.name: s for s in with_common_inputs(specs)}
        self._flags = dict(flags or {})
        self._env = env or {}
        self._config = config or {}
        self._mask = mask

    def spec(self, name: str) -> InputSpec:
        try:
            return self._specs[name]
        except KeyError:  # a programming error, not a user error
            raise KeyError(f"input {name!r} is not declared by this stage") from None

    def raw(self, name: str) -> str | None:
        """The value as given, or None when unset (empty counts as unset)."""
        spec = self.spec(name)
        candidates: list[object] = [self._flags.get(name)]
        candidates += [self._env.get(n) for n in spec.env_names]
        candidates.append(self._config.get(name))
        for value in candidates:
            if value is None:
                continue
            text = _config_text(value)
            if text.strip() != "":
                return text
        return spec.default

    def is_set(self, name: str) -> bool:
        """True when the user gave a value (not only the default)."""
        return self.raw(name) not in (None, self.spec(name).default)

    def text(self, name: str) -> str:
        value = self.raw(name)
        if value is None or value.strip() == "":
            if self.spec(name).required:
                raise InputError(
                    name, "is required", f"set the action input '{name}' or the flag --{name}"
                )
            return ""
        return value.strip()

    def secret(self, name: str) -> str:
        value = self.text(name)
        if value and self._mask is not None:
            self._mask(value)
        return value

    def boolean(self, name: str) -> bool:
        value = self.text(name)
        if value == "" or value in _FALSE:
            return False
        if value in _TRUE:
            return True
        raise InputError(name, f"{value!r} is not a boolean", "use true or false")

    def items(self, name: str) -> list[str]:
        """A list given by commas or newlines; blanks dropped, order kept."""
        value = self.text(name)
        return [p.strip() for p in re.split(r"[,\n]", value) if p.strip()]

    def lines(self, name: str) -> list[str]:
        """A list of lines (for values that may themselves contain commas, like tags)."""
        return [ln.strip() for ln in self.text(name).splitlines() if ln.strip()]

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.text(name)
        try:
            number = int(value, 10)
        except ValueError:
            raise InputError(name, f"{value!r} is not a whole number", "give digits only") from None
        if minimum is not None and number < minimum:
            raise InputError(name, f"{number} is below {minimum}", f"use at least {minimum}")
        if maximum is not None and number > maximum:
            raise InputError(name, f"{number} is above {maximum}", f"use at most {maximum}")
        return number

    def output_path(self, name: str) -> Path | None:
        """An ``output`` input as a path that can be written, or None when unset."""
        text = self.text(name)
        return check_output_path(name, Path(text)) if text else None

    def check_output_paths(self) -> None:
        """Every ``output`` input that has a value can be written (before any change)."""
        for name, spec in self._specs.items():
            if spec.kind == "output":
                self.output_path(name)

    def given_values(self) -> dict[str, str]:
        """Every non-secret input that has a value, for the results document."""
        out: dict[str, str] = {}
        for name, spec in self._specs.items():
            value = self.raw(name)
            if value is None or spec.kind == "secret":
                continue
            out[name] = value
        return out


def check_output_path(name: str, path: Path) -> Path:
    """``path`` can be created or replaced as a file; else an InputError naming ``name``.

    Checked before the first change, so that a typo in an output path stops the run while
    nothing has happened yet, instead of after the images were made public.
    """
    if path.is_dir():
        raise InputError(name, f"{path} is a directory", "give the path of a file to write")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise InputError(name, f"{path} is not writable", "choose a writable path")
        return path
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(
            name, f"{path} cannot be created: {ancestor} is not a folder", "fix the path"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(
            name, f"{path} cannot be created: {ancestor} is not writable", "choose a writable path"
        )
    return path


def _config_text(value: object) -> str:
    """Config files may hold lists and booleans; inputs are strings, as on the runner."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value)
    return str(value)
