"""Rendering a change set: Jinja2 templates in, the ``ChangeSet`` list of StartChangeSet out.

Users may replace the change-set template (``template``) and the version title, release
notes and usage instructions (templates too), so they are rendered in Jinja2's sandbox
with ``StrictUndefined``: a misspelt variable is an input error naming the input, found
before any change, not an empty field found by the seller portal hours later. The
change set comes out as JSON and is checked for the one thing imgpub relies on: an
``AddDeliveryOptions`` change of the product that carries the AMI.

Names and tokens are pure functions of what they identify, so a re-run computes the same
``ChangeSetName`` and ``ClientRequestToken`` and cannot start a second change set.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from imgpub.aws.marketplace_catalog import details_of
from imgpub.errors import InputError
from imgpub.marketplace.amis import read_input_file

BUILTIN_TEMPLATE = "imgpub/templates/marketplace/add-ami-version.json.j2"
DEFAULT_USAGE = (
    "1. Launch an instance and select a key pair.\n"
    "2. Use SSH client software with the private key from your key pair to connect to the "
    "instance:\n"
    "- Username: {{ user_name }}\n"
    "- Port: TCP/{{ scanning_port }} (default)"
)
MAX_NAME = 100
MAX_TITLE = 64
_NAME_BAD = re.compile(r"[^A-Za-z0-9_\s+=.:@-]+")
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def check_template(name: str, source: str) -> None:
    """A template that does not compile is a bad input (found before anything runs)."""
    try:
        _ENV.parse(source)
    except TemplateError as exc:
        raise InputError(name, f"is not a valid template: {exc}", _fix(name)) from None


def render_text(name: str, source: str, variables: Mapping[str, Any]) -> str:
    """One text template (a title, notes, instructions) rendered for one AMI."""
    try:
        return _ENV.from_string(source).render(**variables).strip()
    except TemplateError as exc:
        raise InputError(name, f"cannot be rendered: {exc}", _fix(name)) from None


def _fix(name: str) -> str:
    return (
        f"fix the {name} template; it may use {{{{ name }}}}, {{{{ version }}}}, "
        "{{ major }}, {{ minor }}, {{ os_version }}, {{ architecture }}, {{ arch }}, "
        "{{ ami_id }}, {{ product_id }} and the other inputs"
    )


def load_change_set_template(path_text: str) -> tuple[str, str]:
    """(where it comes from, its text): the ``template`` file or the built-in one."""
    origin, text = read_input_file("template", path_text, BUILTIN_TEMPLATE)
    check_template("template", text)
    return origin, text


def render_change_set(
    source: str, origin: str, context: Mapping[str, Any], *, product_id: str, ami_id: str
) -> list[dict[str, Any]]:
    """The ``ChangeSet`` list for one AMI; every problem names the ``template`` input."""
    text = render_text("template", source, context)
    try:
        changes = json.loads(text)
    except ValueError as exc:
        raise InputError(
            "template", f"{origin} did not render to JSON: {exc}", "use | tojson for values"
        ) from None
    if not isinstance(changes, list) or not 1 <= len(changes) <= 20:
        raise InputError("template", f"{origin} must render a list of 1 to 20 changes", "fix it")
    for change in changes:
        _check_change(change, origin)
    if not any(_adds(c, product_id, ami_id) for c in changes):
        raise InputError(
            "template",
            f"{origin} has no AddDeliveryOptions change of {product_id} with AmiId {ami_id}",
            "keep {{ product_id }} in Entity.Identifier and {{ ami_id }} in AmiSource.AmiId",
        )
    return changes


def _check_change(change: Any, origin: str) -> None:
    ok = (
        isinstance(change, dict)
        and isinstance(change.get("ChangeType"), str)
        and isinstance(change.get("Entity"), dict)
        and isinstance(change["Entity"].get("Type"), str)
        and (("Details" in change) != ("DetailsDocument" in change))
    )
    if not ok:
        raise InputError(
            "template",
            f"{origin}: every change needs ChangeType, Entity.Type and one of Details or "
            "DetailsDocument",
            "compare with the built-in template",
        )


def ami_ids_of(change: Mapping[str, Any]) -> list[str]:
    """The AMIs an AddDeliveryOptions change adds (DetailsDocument or Details)."""
    details = details_of(change)
    options = details.get("DeliveryOptions") or []
    found = []
    for option in options if isinstance(options, list) else []:
        ami = (
            option.get("Details", {}).get("AmiDeliveryOptionDetails", {}).get("AmiSource", {})
            if isinstance(option, dict)
            else {}
        ).get("AmiId")
        if isinstance(ami, str):
            found.append(ami)
    return found


def _adds(change: Mapping[str, Any], product_id: str, ami_id: str) -> bool:
    entity = change.get("Entity", {})
    return (
        change.get("ChangeType") == "AddDeliveryOptions"
        and str(entity.get("Identifier", "")).split("@", 1)[0] == product_id
        and ami_id in ami_ids_of(change)
    )


def change_set_name(prefix: str, subject: str) -> str:
    """``<prefix> <subject>`` in the API's character set and length (1 to 100)."""
    text = _NAME_BAD.sub("-", f"{prefix} {subject}").strip()
    return text[:MAX_NAME].rstrip() or prefix


def client_token(*parts: str) -> str:
    """A ``ClientRequestToken`` (≤ 64 printable ASCII) that only these parts determine."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"imgpub-{digest[:40]}"


def security_group_rules(lines: Sequence[str]) -> list[dict[str, Any]]:
    """``security-groups`` lines (``tcp 22 0.0.0.0/0``, ``udp 500-501 10.0.0.0/8,…``)."""
    rules: list[dict[str, Any]] = []
    fix = "write one rule per line: PROTOCOL PORT[-PORT] CIDR[,CIDR], e.g. tcp 22 0.0.0.0/0"
    for line in lines:
        parts = line.split()
        if len(parts) != 3 or parts[0].lower() not in ("tcp", "udp"):
            raise InputError("security-groups", f"{line!r} is not a rule", fix)
        ports = parts[1].split("-", 1)
        cidrs = [c for c in parts[2].split(",") if c]
        try:
            low, high = int(ports[0]), int(ports[-1])
        except ValueError:
            raise InputError("security-groups", f"{line!r}: bad port", fix) from None
        if not (1 <= low <= high <= 65535):
            raise InputError("security-groups", f"{line!r}: ports must be 1-65535, low-high", fix)
        if not 1 <= len(cidrs) <= 5 or not all(_cidr(c) for c in cidrs):
            raise InputError("security-groups", f"{line!r}: give 1 to 5 IPv4 CIDRs", fix)
        rules.append(
            {"IpProtocol": parts[0].lower(), "FromPort": low, "ToPort": high, "IpRanges": cidrs}
        )
    if not 1 <= len(rules) <= 25:
        raise InputError("security-groups", "needs 1 to 25 rules", fix)
    return rules


def _cidr(text: str) -> bool:
    try:
        ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return False
    return "/" in text
