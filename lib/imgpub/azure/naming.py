"""The naming rules: how image file names map to Azure names, loaded from YAML and validated.

All of AlmaLinux's naming lives in a YAML file (``imgpub/data/azure-naming.yml``) rather than
in code, because the anchor's names changed with every major release (8/9 legacy blob names,
a one-off 9 64k name, 10.x and Kitten schemes) and will change again. Code only knows the
*shape* of the rules: filename regexes with named groups, per-release templates, and the
Azure limits (a gallery version is three int32 parts). Everything here is pure: no I/O
except reading the naming file, so a dry run can show every name without Azure. Applying
the rules to one file name is :mod:`imgpub.azure.image_names`.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from imgpub.azure.resource_names import check_gallery_name, check_identifier_part
from imgpub.errors import ConfigError, InputError

INT32_MAX = 2**31 - 1
"""Azure rejects a gallery version part above this (the REST docs: "within int32")."""

IMAGE_TYPES = ("default", "arm64", "arm64-64k")
GENERATIONS = ("V1", "V2")
SECURITY_TYPES = (
    "TrustedLaunchSupported",
    "TrustedLaunch",
    "ConfidentialVMSupported",
    "ConfidentialVM",
    "TrustedLaunchAndConfidentialVmSupported",
)
TEMPLATE_FIELDS = frozenset(
    {
        "major",
        "minor",
        "version",
        "date",
        "index",
        "arch",
        "arch_legacy",
        "image_type",
        "suffix_64k",
        "definition",
    }
)
_REQUIRED_GROUPS = ("version", "date", "index", "arch")
ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "aarch64": "aarch64"}
ARCHES["arm64"] = "aarch64"
"""Architecture spellings in file names → imgpub's (legacy names say arm64)."""
_BUILTIN = "built-in naming rules"


# ---------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class ImageName:
    """What an image's file name says about it; the single source of release metadata."""

    filename: str
    pattern: str
    version: str
    """Release version as written: ``9.6``, ``10.1``, or ``10`` for Kitten."""
    major: int
    minor: int | None
    kitten: bool
    date: dt.date
    index: int
    arch: str
    """``x86_64`` or ``aarch64`` (``arm64`` in legacy names is normalised)."""
    image_type: str
    """``default`` (x86_64), ``arm64`` or ``arm64-64k``."""
    disk_format: str
    """``raw`` or ``vhd``."""
    compression: str | None

    @property
    def datestamp(self) -> str:
        """The date as in file names and versions: ``YYYYMMDD``."""
        return self.date.strftime("%Y%m%d")

    @property
    def release(self) -> str:
        """Human release string for summaries: ``AlmaLinux OS 9.6``, ``AlmaLinux OS Kitten 10``."""
        return (
            f"AlmaLinux OS Kitten {self.version}" if self.kitten else f"AlmaLinux OS {self.version}"
        )


@dataclass(frozen=True)
class FilenamePattern:
    """One accepted file name shape; ``accepts`` is what error messages show the user."""

    name: str
    accepts: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class DefinitionRule:
    """An image definition an image type publishes to (the name may be a template)."""

    name: str
    generation: str
    security_type: str | None = None


@dataclass(frozen=True)
class ImageTypeRule:
    """Where one image type of one release goes."""

    image_type: str
    container: str
    blob: str
    public: bool
    definitions: tuple[DefinitionRule, ...]


@dataclass(frozen=True)
class ReleaseRule:
    """The names of one release family (8, 9, 10, Kitten 10)."""

    key: str
    major: int | None
    kitten: bool | None
    gallery_version: str
    images: tuple[ImageTypeRule, ...]

    def matches(self, image: ImageName) -> bool:
        """Whether this rule is for the image's release (unset match fields match anything)."""
        return (self.major is None or self.major == image.major) and (
            self.kitten is None or self.kitten == image.kitten
        )

    def image_rule(self, image_type: str) -> ImageTypeRule | None:
        """The rule for an image type, or None when the release does not publish it."""
        return next((r for r in self.images if r.image_type == image_type), None)


@dataclass(frozen=True)
class NamingRules:
    """The whole naming file, validated."""

    source: str
    resource_group: str
    storage_account: str
    ci_gallery: str
    public_gallery: str
    publisher: str
    offer: str
    sku: str
    patterns: tuple[FilenamePattern, ...]
    releases: tuple[ReleaseRule, ...]

    def accepted(self) -> str:
        """The accepted file name shapes, for one-line error messages."""
        return "; ".join(p.accepts for p in self.patterns)


@dataclass(frozen=True)
class DefinitionName:
    """A resolved image definition: its name and what creating it would need."""

    name: str
    generation: str
    """Hyper-V generation: ``V1`` or ``V2``."""
    architecture: str
    """``x64`` or ``Arm64`` (Azure's spelling)."""
    security_type: str | None
    publisher: str
    offer: str
    sku: str


@dataclass(frozen=True)
class AzureNames:
    """Every Azure name derived from one image file name and a publish index."""

    release_key: str
    index: int
    container: str
    blob_name: str
    gallery_version: str
    definitions: tuple[DefinitionName, ...]
    public_allowed: bool


# ---------------------------------------------------------------------------------------------
# Loading the naming file


def _default_document() -> dict[str, Any]:
    text = resources.files("imgpub").joinpath("data/azure-naming.yml").read_text("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):  # pragma: no cover - the packaged file is tested
        raise ConfigError(
            "the packaged azure-naming.yml is not a mapping", remedy="reinstall imgpub"
        )
    return data


def load_naming_rules(path: str | Path | None = None) -> NamingRules:
    """Load the built-in AlmaLinux rules, overlaid with the user's naming file if given.

    ``defaults`` merges key by key; ``patterns`` and ``releases`` replace the built-in lists
    (merging list items would make it impossible to remove a pattern or a release). Every
    problem is an ``InputError`` on the ``naming`` input (a broken built-in file is a
    ``ConfigError``), raised before anything else runs.
    """
    base = _default_document()
    if path is None:
        return _build_rules(base, _BUILTIN)
    where = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise InputError(
            "naming",
            f"cannot read naming file {where}: {exc.strerror or exc}",
            "give a readable YAML file",
        ) from exc
    try:
        user = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError("naming", f"{where} is not valid YAML{at}", "fix the YAML syntax") from exc
    if user is None:
        user = {}
    if not isinstance(user, dict):
        raise InputError(
            "naming", f"{where} must be a YAML mapping", "see imgpub/data/azure-naming.yml"
        )
    unknown = set(user) - {"schema", "defaults", "patterns", "releases"}
    if unknown:
        raise InputError(
            "naming",
            f"{where} has unknown key(s) {', '.join(sorted(unknown))}",
            "use only schema, defaults, patterns and releases",
        )
    merged = dict(base)
    user_defaults = user.get("defaults", {})
    if not isinstance(user_defaults, dict):
        raise InputError("naming", f"{where}: defaults must be a mapping", "see azure-naming.yml")
    merged["defaults"] = {**base["defaults"], **user_defaults}
    for key in ("patterns", "releases"):
        if key in user:
            merged[key] = user[key]
    return _build_rules(merged, where)


class _Bad(Exception):
    """A problem found while validating the naming document (turned into a one-line error)."""


def _build_rules(doc: Mapping[str, Any], where: str) -> NamingRules:
    try:
        rules = _parse_document(doc, where)
    except _Bad as exc:
        if where == _BUILTIN:
            raise ConfigError(f"{where}: {exc}", remedy="reinstall imgpub") from None
        raise InputError(
            "naming",
            f"{where}: {exc}",
            "fix the naming file (the built-in azure-naming.yml is an example)",
        ) from None
    return rules


def _azure_rule(check: Callable[..., str], *args: str) -> None:
    """Apply one of Azure's name rules to a value of the naming file (the last arg names it)."""
    try:
        check(*args)
    except InputError as exc:
        raise _Bad(f"{args[-1]}: {exc.message.split(': ', 1)[-1]}; {exc.remedy}") from None


def _str(mapping: Mapping[str, Any], key: str, ctx: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"{ctx}.{key} must be a non-empty string")
    return value


def _check_template(template: str, ctx: str) -> None:
    """Allow only plain known fields: a naming file must not reach attributes or indexes."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise _Bad(f"{ctx} is not a valid template ({exc})") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            raise _Bad(
                f"{ctx} uses unknown field {{{field}}};"
                f" allowed: {', '.join(sorted(TEMPLATE_FIELDS))}"
            )
        if conversion or (spec and not re.fullmatch(r"0?\d*d?", spec)):
            raise _Bad(f"{ctx} has an unsupported format spec in {{{field}}}")


def _parse_document(doc: Mapping[str, Any], where: str) -> NamingRules:
    if doc.get("schema", 1) != 1:
        raise _Bad("schema must be 1")
    defaults = doc.get("defaults")
    if not isinstance(defaults, dict):
        raise _Bad("defaults must be a mapping")
    for key in ("resource_group", "storage_account", "ci_gallery", "public_gallery"):
        _str(defaults, key, "defaults")
    for key in ("ci_gallery", "public_gallery"):
        _azure_rule(check_gallery_name, str(defaults[key]), f"defaults.{key}")
    for key in ("publisher", "offer"):
        _azure_rule(check_identifier_part, _str(defaults, key, "defaults"), key, f"defaults.{key}")
    sku = _str(defaults, "sku", "defaults")
    _check_template(sku, "defaults.sku")

    raw_patterns = doc.get("patterns")
    if not isinstance(raw_patterns, list) or not raw_patterns:
        raise _Bad("patterns must be a non-empty list")
    patterns = []
    for i, item in enumerate(raw_patterns):
        ctx = f"patterns[{i}]"
        if not isinstance(item, dict):
            raise _Bad(f"{ctx} must be a mapping with name, accepts and regex")
        try:
            regex = re.compile(_str(item, "regex", ctx))
        except re.error as exc:
            raise _Bad(f"{ctx}.regex does not compile ({exc})") from None
        missing = [g for g in _REQUIRED_GROUPS if g not in regex.groupindex]
        if missing:
            raise _Bad(f"{ctx}.regex lacks the named group(s) {', '.join(missing)}")
        patterns.append(FilenamePattern(_str(item, "name", ctx), _str(item, "accepts", ctx), regex))

    raw_releases = doc.get("releases")
    if not isinstance(raw_releases, list) or not raw_releases:
        raise _Bad("releases must be a non-empty list")
    releases = tuple(_parse_release(item, f"releases[{i}]") for i, item in enumerate(raw_releases))
    return NamingRules(
        source=where,
        resource_group=str(defaults["resource_group"]),
        storage_account=str(defaults["storage_account"]),
        ci_gallery=str(defaults["ci_gallery"]),
        public_gallery=str(defaults["public_gallery"]),
        publisher=_str(defaults, "publisher", "defaults"),
        offer=_str(defaults, "offer", "defaults"),
        sku=sku,
        patterns=tuple(patterns),
        releases=releases,
    )


def _parse_release(item: Any, ctx: str) -> ReleaseRule:
    if not isinstance(item, dict):
        raise _Bad(f"{ctx} must be a mapping")
    key = str(item.get("key", "")).strip()
    if not key:
        raise _Bad(f"{ctx}.key must be set")
    match = item.get("match", {})
    if not isinstance(match, dict) or set(match) - {"major", "kitten"}:
        raise _Bad(f"{ctx}.match may only hold major and kitten")
    major = match.get("major")
    kitten = match.get("kitten")
    if major is not None and (not isinstance(major, int) or isinstance(major, bool)):
        raise _Bad(f"{ctx}.match.major must be an integer")
    if kitten is not None and not isinstance(kitten, bool):
        raise _Bad(f"{ctx}.match.kitten must be true or false")
    version_t = _str(item, "gallery_version", ctx)
    _check_template(version_t, f"{ctx}.gallery_version")
    images_raw = item.get("images")
    if not isinstance(images_raw, dict) or not images_raw:
        raise _Bad(f"{ctx}.images must map image types to definitions")
    images = []
    for image_type, spec in images_raw.items():
        ictx = f"{ctx}.images.{image_type}"
        if image_type not in IMAGE_TYPES:
            raise _Bad(f"{ictx}: image type must be one of {', '.join(IMAGE_TYPES)}")
        if not isinstance(spec, dict):
            raise _Bad(f"{ictx} must be a mapping")
        container = spec.get("container", item.get("container"))
        blob = spec.get("blob", item.get("blob"))
        public = spec.get("public", item.get("public", False))
        if not isinstance(container, str) or not container:
            raise _Bad(f"{ictx}: container must be set (here or on the release)")
        if not isinstance(blob, str) or not blob:
            raise _Bad(f"{ictx}: blob must be set (here or on the release)")
        if not isinstance(public, bool):
            raise _Bad(f"{ictx}: public must be true or false")
        _check_template(container, f"{ictx}.container")
        _check_template(blob, f"{ictx}.blob")
        defs_raw = spec.get("definitions")
        if not isinstance(defs_raw, list) or not defs_raw:
            raise _Bad(f"{ictx}.definitions must be a non-empty list")
        defs = []
        for j, d in enumerate(defs_raw):
            dctx = f"{ictx}.definitions[{j}]"
            if not isinstance(d, dict):
                raise _Bad(f"{dctx} must be a mapping with name and generation")
            name = _str(d, "name", dctx)
            _check_template(name, f"{dctx}.name")
            generation = d.get("generation")
            if generation not in GENERATIONS:
                raise _Bad(f"{dctx}.generation must be V1 or V2")
            security = d.get("security_type")
            if security is not None and security not in SECURITY_TYPES:
                raise _Bad(f"{dctx}.security_type must be one of {', '.join(SECURITY_TYPES)}")
            if security is not None and generation != "V2":
                raise _Bad(f"{dctx}: security_type needs generation V2")
            defs.append(DefinitionRule(name, str(generation), security))
        images.append(ImageTypeRule(str(image_type), container, blob, public, tuple(defs)))
    return ReleaseRule(key, major, kitten, version_t, tuple(images))
