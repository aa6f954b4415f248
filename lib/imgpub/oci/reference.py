"""Image references as registries understand them: parsed once, validated, printed one way.

A reference a user writes (``docker.io/camunda/zeebe:8.3.4``, ``nginx``,
``127.0.0.1:5000/a/b@sha256:…``) names a registry, a repository, and a tag or a digest.
The rules are the distribution spec's (repository components, the tag grammar without
``+``) and Docker's (the first component is a registry only if it has a dot or a colon or
is ``localhost``; Docker Hub's single names live under ``library/``), so an input that a
registry would refuse is refused here, before anything is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

DOCKER_HUB = "docker.io"
#: Docker Hub's registry API host (``docker.io`` itself serves no /v2/).
DOCKER_HUB_API = "registry-1.docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
HOST = re.compile(
    r"^(localhost|(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*"
    r"[A-Za-z0-9])?|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$"
)
_LOOPBACK = re.compile(r"^(localhost|127(?:\.[0-9]{1,3}){3}|\[::1\])(?::[0-9]+)?$")


class ReferenceError(ValueError):
    """A reference that no registry would accept; the message says which part and why."""


@dataclass(frozen=True)
class Reference:
    """``registry/repository`` plus a tag, a digest or both (digest wins when pulling)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """The host that serves ``/v2/`` for this registry."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest if known, else the tag."""
        value = self.digest or self.tag
        assert value, f"{self.name} has neither tag nor digest"
        return value

    @property
    def is_local(self) -> bool:
        """A registry on this machine (the sandbox's): the only kind TLS may be off for."""
        return is_loopback(self.registry)

    def with_tag(self, tag: str) -> Reference:
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> Reference:
        return replace(self, digest=digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def is_loopback(host: str) -> bool:
    return bool(_LOOPBACK.match(host))


def parse_reference(text: str, *, default_tag: str | None = "latest") -> Reference:
    """Parse a user's image reference; raise :class:`ReferenceError` saying what is wrong."""
    value = text.strip()
    if not value or any(c.isspace() for c in value):
        raise ReferenceError(f"{text!r} is not an image reference")
    if "://" in value:
        raise ReferenceError(f"{value!r}: give a reference without a scheme, e.g. docker.io/a/b:1")
    rest, _, digest = value.partition("@")
    if digest and not DIGEST.match(digest):
        raise ReferenceError(f"{value!r}: {digest!r} is not a sha256 or sha512 digest")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    if not HOST.match(registry):
        raise ReferenceError(f"{value!r}: {registry!r} is not a registry host")
    tag: str | None = None
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    if colon > last_slash:
        path, tag = path[:colon], path[colon + 1 :]
        if not TAG.match(tag):
            raise ReferenceError(f"{value!r}: tag {tag!r} is not valid ({_tag_rule(tag)})")
    if registry == DOCKER_HUB and path and "/" not in path:
        path = f"library/{path}"
    if not REPOSITORY.match(path):
        raise ReferenceError(
            f"{value!r}: repository {path!r} is not valid (lowercase letters, digits and "
            "separators . _ - between them, / between components)"
        )
    if tag is None and not digest:
        tag = default_tag
    return Reference(registry, path, tag, digest or None)


def check_tag(tag: str) -> str:
    if not TAG.match(tag):
        raise ReferenceError(f"tag {tag!r} is not valid ({_tag_rule(tag)})")
    return tag


def check_repository(name: str) -> str:
    if not REPOSITORY.match(name) or not 2 <= len(name) <= 256:
        raise ReferenceError(
            f"repository {name!r} is not valid (2-256 lowercase letters, digits, . _ - "
            "between them, / between components)"
        )
    return name


def _tag_rule(tag: str) -> str:
    if "+" in tag:
        return "'+' is not allowed in a tag; registries (and Helm) write it as '_'"
    return "letters, digits, _ . - , up to 128, not starting with . or -"
