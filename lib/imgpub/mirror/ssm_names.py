"""SSM parameter names for the mirrored AMIs: templates, rendering, SSM's naming rules.

A template such as ``/golden-image/{region}/{arch}/latest`` is rendered once per
(source AMI, region). Placeholders:

* ``{region}``: the region the parameter lives in (and the copy is in);
* ``{arch}``: the source's ``Architecture`` tag (``aarch64``), else the EC2 attribute (``arm64``);
* ``{version}``: the source's ``Version`` tag (empty → bad input: the name would be ambiguous);
* ``{name}``: the AMI name;
* ``{image_id}``: the AMI ID in that region.

Rendered values are made SSM-safe: every character outside ``a-zA-Z0-9_.-`` becomes ``-``.

**Latest-style names.** A template that uses none of the *per-image* placeholders
(``{version}``, ``{name}``, ``{image_id}``) names a slot that each release moves forward,
so imgpub overwrites it. A template that uses one of them names one release, so imgpub
writes it once and never overwrites a different value (that would rewrite history); the
same value is left alone. ``{region}`` and ``{arch}`` are not per-image: every release has
them.

Every rendered name is checked against SSM's rules before any call.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

from imgpub.errors import InputError

PLACEHOLDERS = frozenset({"region", "arch", "version", "name", "image_id"})
PER_IMAGE_PLACEHOLDERS = frozenset({"version", "name", "image_id"})

_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")
_NAME_CHARS = re.compile(r"^[a-zA-Z0-9_./-]+$")
MAX_LEVELS = 15
# SSM allows 1011 characters including "arn:<partition>:ssm:<region>:<12-digit account>:parameter/".
MAX_ARN_LENGTH = 1011
INPUT = "ssm-parameters"


@dataclass(frozen=True)
class SsmTemplate:
    text: str
    fields: frozenset[str]

    @property
    def latest_style(self) -> bool:
        """True when the name moves with each release (see the module docstring)."""
        return not (self.fields & PER_IMAGE_PLACEHOLDERS)


@dataclass(frozen=True)
class ImageFacts:
    """What the placeholders draw from, for one source AMI in one region."""

    source_ami: str
    region: str
    image_id: str
    arch: str
    version: str
    name: str


@dataclass(frozen=True)
class SsmParameter:
    """One parameter to write: ``Overwrite`` only for latest-style names."""

    region: str
    name: str
    value: str
    source_ami: str
    overwrite: bool


def parse_template(text: str) -> SsmTemplate:
    """Check the template's syntax and placeholders (the rendered name is checked later)."""
    raw = text.strip()
    fields: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(raw))
    except ValueError as exc:
        raise InputError(
            INPUT, f"{raw!r}: {exc}", "balance the braces; write {{ for a literal brace"
        ) from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            raise InputError(
                INPUT,
                f"{raw!r} uses unknown placeholder {_show(field, spec, conversion)}",
                f"use only {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}",
            )
        fields.add(field)
    return SsmTemplate(text=raw, fields=frozenset(fields))


def _show(field: str, spec: str | None, conversion: str | None) -> str:
    return (
        "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
    )


def ssm_safe(value: str) -> str:
    return _UNSAFE.sub("-", value)


def render(template: SsmTemplate, facts: ImageFacts) -> str:
    values = {
        "region": facts.region,
        "arch": facts.arch,
        "version": facts.version,
        "name": facts.name,
        "image_id": facts.image_id,
    }
    for field in sorted(template.fields):
        if not values[field]:
            raise InputError(
                INPUT,
                f"{template.text!r} uses {{{field}}} but {facts.source_ami} has none",
                "tag the source AMI or drop the placeholder",
            )
    safe = {k: ssm_safe(v) for k, v in values.items()}
    return template.text.format_map(safe)


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def check_name(name: str, region: str, template: str) -> None:
    """SSM's naming rules, so that a bad name fails before the first write."""

    def bad(problem: str, fix: str) -> InputError:
        return InputError(INPUT, f"{template!r} renders {name!r}, which {problem}", fix)

    if not _NAME_CHARS.match(name):
        raise bad("has characters SSM rejects", "use only a-zA-Z0-9_.- and /")
    if "/" in name:
        if not name.startswith("/"):
            raise bad("has a hierarchy without a leading /", "start the name with /")
        segments = name[1:].split("/")
        if any(not s for s in segments):
            raise bad("has an empty level", "remove the doubled or trailing /")
        if len(segments) > MAX_LEVELS:
            raise bad(f"has {len(segments)} levels", f"use at most {MAX_LEVELS}")
    first = name.lstrip("/").lower()
    if first.startswith(("aws", "ssm")):
        raise bad("starts with the reserved aws or ssm prefix", "choose another first level")
    arn = f"arn:{partition_of(region)}:ssm:{region}:123456789012:parameter/{name.lstrip('/')}"
    if len(arn) > MAX_ARN_LENGTH:
        raise bad(f"is {len(arn) - MAX_ARN_LENGTH} characters too long", "shorten the template")


def plan_parameters(
    templates: Iterable[SsmTemplate], images: Iterable[ImageFacts]
) -> tuple[SsmParameter, ...]:
    """Every parameter for every (source, region), with collisions found before any call."""
    seen: dict[tuple[str, str], str] = {}
    out: list[SsmParameter] = []
    all_images = tuple(images)
    for template in templates:
        for facts in all_images:
            name = render(template, facts)
            check_name(name, facts.region, template.text)
            key = (facts.region, name)
            if key in seen and seen[key] != facts.source_ami:
                raise InputError(
                    INPUT,
                    f"{template.text!r} renders {name!r} in {facts.region}"
                    f" for both {seen[key]} and {facts.source_ami}",
                    "add {arch} or {name} to the template",
                )
            if key in seen:
                continue
            seen[key] = facts.source_ami
            out.append(
                SsmParameter(
                    region=facts.region,
                    name=name,
                    value=facts.image_id,
                    source_ami=facts.source_ami,
                    overwrite=template.latest_style,
                )
            )
    return tuple(out)


def stand_in_image_id(source_ami: str) -> str:
    """A copy-length ID unique per source, to check names before the copies exist."""
    return "ami-" + source_ami.removeprefix("ami-").ljust(17, "0")
