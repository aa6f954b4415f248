"""Which files the pull request writes, and their text: pure, from the release alone.

``files`` maps path templates to what goes there: ``csv`` and ``markdown`` are the region
table exactly as mirror-ami renders it (:func:`imgpub.mirror.tables.render_csv` and
``render_markdown``, reused, not copied); anything else is a Jinja2 template, inline or
``{template-file: PATH}``. The built-in default is AlmaLinux's wiki layout. Templates run
in Jinja2's sandbox with undefined names as errors, so a typo in a template is exit 2
before any GitHub call, not a half-empty file in a merged pull request.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from imgpub.errors import InputError
from imgpub.mirror.tables import render_csv, render_markdown
from imgpub.wiki.release import Release

FileKind = Literal["csv", "markdown", "template"]


@dataclass(frozen=True)
class FileSpec:
    """One entry of ``files``: where (a template) and what."""

    path: str
    kind: FileKind
    template: str = ""  # the template's text, for kind "template"


DEFAULT_FILES: tuple[FileSpec, ...] = (
    FileSpec("docs/{{ section }}/AWS_AMIS_{{ major }}.md", "markdown"),
    FileSpec("docs/.vuepress/public/ci-data/aws_amis_{{ major }}.csv", "csv"),
)

_ENV = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
)


def compile_template(name: str, text: str) -> jinja2.Template:
    """A template, or an InputError naming the input and the line of the syntax error."""
    try:
        return _ENV.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(
            name, f"template syntax error on line {exc.lineno}: {exc.message}", "fix the template"
        ) from None


def render(name: str, template: jinja2.Template, variables: Mapping[str, Any]) -> str:
    try:
        return template.render(**variables)
    except jinja2.UndefinedError as exc:
        known = ", ".join(sorted(variables))
        raise InputError(name, f"template error: {exc.message}", f"use only {known}") from None
    except (jinja2.TemplateError, TypeError, ValueError) as exc:
        raise InputError(name, f"template error: {exc}", "fix the template") from None


def parse_files(text: str, read_file: Callable[[str], str]) -> tuple[FileSpec, ...]:
    """The ``files`` input: empty → the default layout; every template checked now."""
    if not text.strip():
        return DEFAULT_FILES
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" on line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(
            "files",
            f"is not valid YAML{where}: {problem}",
            "write one 'path: csv|markdown|template' per line, and quote templates: "
            "'docs/amis.md': '{{ markdown }}'",
        ) from None
    if not isinstance(data, dict) or not data:
        raise InputError(
            "files",
            "must be a mapping of file paths to csv, markdown or a template",
            "write e.g. 'docs/amis.csv: csv'",
        )
    specs = []
    for path, what in data.items():
        if not isinstance(path, str) or not path.strip():
            raise InputError("files", f"{path!r} is not a path", "use text keys")
        compile_template("files", path)
        specs.append(_spec(path.strip(), what, read_file))
    return tuple(specs)


def _spec(path: str, what: object, read_file: Callable[[str], str]) -> FileSpec:
    if what in ("csv", "markdown"):
        return FileSpec(path, what)
    if isinstance(what, dict) and set(what) == {"template-file"}:
        source = str(what["template-file"])
        try:
            text = read_file(source)
        except OSError as exc:
            raise InputError(
                "files", f"template-file {source} cannot be read: {exc.strerror}", "fix the path"
            ) from None
    elif isinstance(what, str) and ("{{" in what or "{%" in what or "\n" in what.strip()):
        text = what  # a template; a lone word is a typo of csv/markdown, not a file's text
    else:
        raise InputError(
            "files",
            f"{path}: {what!r} is not csv, markdown, a template or {{template-file: PATH}}",
            "write csv or markdown, or a Jinja2 template (it holds {{ }} or {% %})",
        )
    compile_template("files", text)
    return FileSpec(path, "template", text)


def read_text_file(path: str) -> str:
    return Path(path).read_text("utf-8")


def wanted_files(specs: tuple[FileSpec, ...], release: Release) -> dict[str, str]:
    """``{path: text}`` of every file, rendered; bad or clashing paths are InputErrors."""
    variables = release.variables()
    variables["csv"] = render_csv(release.rows)
    variables["markdown"] = render_markdown(release.rows)
    out: dict[str, str] = {}
    for spec in specs:
        path = check_path(render("files", compile_template("files", spec.path), variables))
        if path in out:
            raise InputError("files", f"two entries render to {path}", "give each file its path")
        if spec.kind == "csv":
            out[path] = variables["csv"]
        elif spec.kind == "markdown":
            out[path] = variables["markdown"]
        else:
            out[path] = render("files", compile_template("files", spec.template), variables)
    return out


def check_path(path: str) -> str:
    """A path inside the repository, in git's spelling (no ``..``, no leading slash)."""
    clean = posixpath.normpath(path.strip())
    parts = clean.split("/")
    if (
        not path.strip()
        or path.strip().startswith("/")
        or clean.startswith("..")
        or ".git" in parts
        or any(not p or p == "." for p in parts)
    ):
        raise InputError("files", f"{path!r} is not a path inside the repository", "fix it")
    return clean


def data_digest(files: Mapping[str, str]) -> str:
    """``sha256:<hex>`` over every path and text: the same data gives the same digest."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode("utf-8") + b"\0" + files[path].encode("utf-8") + b"\0")
    return "sha256:" + h.hexdigest()
