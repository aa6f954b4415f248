"""Azure's rules for the names imgpub puts into URL paths and resources, checked up front.

A name that breaks them used to reach Resource Manager and come back as a misleading
error: ``rg/../../x`` went unencoded into the URL path ("gallery not found"), a publisher
with a newline was sent as the definition's publisher, ``not-a-guid`` as a subscription
gave "gallery not found". Each check here raises an ``InputError`` naming the input and
the rule, before any call (learn.microsoft.com "Naming rules and restrictions for Azure
resources"; the image identifier limits are those of ``az sig image-definition create``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imgpub.errors import InputError

IDENTIFIER_LIMITS = {"publisher": 128, "offer": 64, "sku": 64}
"""Lengths ``az sig image-definition create`` accepts for the image identifier's parts."""
MAX_BLOB_NAME = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class _Rule:
    """One of Azure's name rules: the pattern, what the name is, how to write one."""

    pattern: re.Pattern[str]
    what: str
    fix: str

    def check(self, value: str, input_name: str) -> str:
        if not self.pattern.fullmatch(value):
            shown = repr(value) if len(value) <= 80 else repr(value[:77] + "...")
            raise InputError(input_name, f"{self.what} {shown} breaks Azure's rules", self.fix)
        return value


SUBSCRIPTION = _Rule(
    re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"),
    "subscription ID (a GUID)",
    "give the subscription's ID, e.g. 00000000-0000-0000-0000-000000000000 "
    "(az account show --query id)",
)
RESOURCE_GROUP = _Rule(
    re.compile(r"[\w\-.()]{0,89}[\w\-()]"),
    "resource group name",
    "use 1-90 letters, digits, _ - . ( ) not ending in a period",
)
GALLERY = _Rule(
    re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._]{0,78}[A-Za-z0-9])?"),
    "gallery name",
    "use letters, digits, dots and underscores, e.g. almalinux_ci (no dashes; 1-80 "
    "characters, letters or digits at both ends)",
)
DEFINITION = _Rule(
    re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9])?"),
    "image definition name",
    "use 1-80 letters, digits, . _ - with a letter or digit at both ends",
)
STORAGE_ACCOUNT = _Rule(
    re.compile(r"[a-z0-9]{3,24}"),
    "storage account name",
    "use 3-24 lower-case letters and digits",
)
CONTAINER = _Rule(
    re.compile(r"(?=.{3,63}$)[a-z0-9](?:-?[a-z0-9])*"),
    "container name",
    "use 3-63 lower-case letters, digits and single hyphens",
)


def _identifier(part: str) -> _Rule:
    limit = IDENTIFIER_LIMITS[part]
    return _Rule(
        re.compile(rf"(?=.{{1,{limit}}}$)[A-Za-z0-9._-]*[A-Za-z0-9_-]"),
        f"image {part}",
        f"use 1-{limit} letters, digits, . _ - not ending in a period",
    )


def check_subscription_id(value: str, input_name: str = "subscription-id") -> str:
    """A subscription is a GUID; anything else would only show up as 'not found' later."""
    return SUBSCRIPTION.check(value, input_name)


def check_resource_group(name: str, input_name: str = "resource-group") -> str:
    """1-90 letters, digits, underscores, hyphens, periods and parentheses; no final period."""
    return RESOURCE_GROUP.check(name, input_name)


def check_gallery_name(name: str, input_name: str = "gallery") -> str:
    """Gallery names allow letters, digits, dots and underscores only (no dashes)."""
    return GALLERY.check(name, input_name)


def check_definition_name(name: str, input_name: str = "naming") -> str:
    """Image definitions: 1-80 letters, digits, dots, underscores and hyphens."""
    return DEFINITION.check(name, input_name)


def check_identifier_part(value: str, part: str, input_name: str) -> str:
    """Publisher, offer or SKU of an image definition: letters, digits, . _ -, no final dot."""
    return _identifier(part).check(value, input_name)


def check_storage_account(name: str, input_name: str = "storage-account") -> str:
    """3-24 lower-case letters and digits (the name is the blob endpoint's host label)."""
    return STORAGE_ACCOUNT.check(name, input_name)


def check_container(name: str, input_name: str = "container") -> str:
    """Azure container names: 3-63 lower-case letters, digits and single hyphens."""
    return CONTAINER.check(name, input_name)


def check_blob_name(name: str, input_name: str = "naming") -> str:
    """A blob name that survives a URL path: no control characters, no dot segments."""
    segments = name.split("/")
    bad = (
        not name
        or len(name) > MAX_BLOB_NAME
        or _CONTROL.search(name) is not None
        or "\\" in name
        or name.endswith((".", "/"))
        or any(s in ("", ".", "..") for s in segments)
    )
    if bad:
        raise InputError(
            input_name,
            f"blob name {name!r} cannot be used in a blob URL",
            "use at most 1024 printable characters, without . or .. path segments",
        )
    return name
