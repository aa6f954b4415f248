"""Image file names → release metadata → Azure names (containers, blobs, definitions, versions).

The naming rules (:mod:`imgpub.azure.naming`) say what the names look like; this module
applies them to one file name. A gallery version is three int32 parts, and every rendered
name must satisfy Azure's own rules (:mod:`imgpub.azure.resource_names`), so a naming file
cannot produce a name that would only fail at Resource Manager. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from imgpub.azure.naming import (
    ARCHES,
    INT32_MAX,
    AzureNames,
    DefinitionName,
    FilenamePattern,
    ImageName,
    NamingRules,
    ReleaseRule,
)
from imgpub.azure.resource_names import (
    check_blob_name,
    check_container,
    check_definition_name,
    check_identifier_part,
)
from imgpub.errors import InputError


def image_basename(source: str) -> str:
    """The file name of a local path, an https:// or an s3:// URL (query strings dropped)."""
    path = unquote(urlsplit(source).path) if "://" in source else source.replace("\\", "/")
    return PurePosixPath(path).name


def parse_image_name(source: str, rules: NamingRules) -> ImageName:
    """Parse a path or URL with the first matching pattern; unparseable → ``InputError``."""
    filename = image_basename(source)
    for pattern in rules.patterns:
        m = pattern.regex.fullmatch(filename)
        if m is not None:
            return _image_from_match(filename, pattern, m, rules)
    raise InputError(
        "image",
        f"cannot read release, date and architecture from file name {filename!r}",
        f"rename it to one of: {rules.accepted()}; or pass a naming file with your pattern",
    )


def _image_from_match(
    filename: str, pattern: FilenamePattern, m: re.Match[str], rules: NamingRules
) -> ImageName:
    groups = {k: v for k, v in m.groupdict().items() if v is not None}
    version = groups["version"]
    parts = version.split(".")
    if not all(p.isdigit() for p in parts) or len(parts) > 2:
        raise _name_error(filename, f"release version {version!r} is not X or X.Y", rules)
    major = int(parts[0])
    minor = int(parts[1]) if len(parts) == 2 else None
    if "major" in groups and int(groups["major"]) != major:
        raise _name_error(
            filename, f"major {groups['major']} disagrees with version {version}", rules
        )
    try:
        date = dt.datetime.strptime(groups["date"], "%Y%m%d").date()
    except ValueError:
        raise _name_error(filename, f"{groups['date']!r} is not a YYYYMMDD date", rules) from None
    arch = ARCHES.get(groups["arch"].lower())
    if arch is None:
        raise _name_error(filename, f"unknown architecture {groups['arch']!r}", rules)
    k64 = "k64" in groups
    if k64 and arch != "aarch64":
        raise _name_error(filename, "64k pages exist only for aarch64", rules)
    image_type = "default" if arch == "x86_64" else ("arm64-64k" if k64 else "arm64")
    disk_format = groups.get("format", "vhd").lower()
    if disk_format not in ("raw", "vhd"):
        raise _name_error(filename, f"format {disk_format!r} is neither raw nor vhd", rules)
    compression = groups.get("compression")
    return ImageName(
        filename=filename,
        pattern=pattern.name,
        version=version,
        major=major,
        minor=minor,
        kitten="kitten" in groups,
        date=date,
        index=int(groups["index"]),
        arch=arch,
        image_type=image_type,
        disk_format=disk_format,
        compression=compression.lower() if compression else None,
    )


def _name_error(filename: str, problem: str, rules: NamingRules) -> InputError:
    return InputError(
        "image", f"file name {filename!r}: {problem}", f"accepted: {rules.accepted()}"
    )


# ---------------------------------------------------------------------------------------------
# Azure names


def release_rule(image: ImageName, rules: NamingRules) -> ReleaseRule:
    """The first release rule matching the image; none → ``InputError`` on ``image``."""
    for rule in rules.releases:
        if rule.matches(image):
            return rule
    raise InputError(
        "image",
        f"{image.release} ({image.filename}) has no release rule in {rules.source}",
        "add a release for it to the naming file",
    )


def _fields(image: ImageName, index: int) -> dict[str, object]:
    return {
        "major": image.major,
        "minor": "" if image.minor is None else image.minor,
        "version": image.version,
        "date": image.datestamp,
        "index": index,
        "arch": image.arch,
        "arch_legacy": "arm64" if image.arch == "aarch64" else image.arch,
        "image_type": image.image_type,
        "suffix_64k": "-64k" if image.image_type == "arm64-64k" else "",
    }


def _render(template: str, fields: Mapping[str, object], what: str, rules: NamingRules) -> str:
    try:
        return template.format_map(fields)
    except (KeyError, ValueError) as exc:
        raise InputError(
            "naming",
            f"{rules.source}: template {template!r} for {what} failed ({exc})",
            "fix the template",
        ) from None


def check_gallery_version(version: str, *, input_name: str = "image") -> None:
    """A gallery version is ``Major.Minor.Patch``, digits only, each part within int32."""
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise InputError(
            input_name,
            f"gallery version {version!r} is not Major.Minor.Patch with digits only",
            "fix gallery_version in the naming file",
        )
    for part in parts:
        if int(part) > INT32_MAX:
            raise InputError(
                input_name,
                f"gallery version {version}: part {part} exceeds the int32 limit {INT32_MAX}",
                "use a smaller index (at most 2 digits after an 8-digit date)"
                " or change gallery_version in the naming file",
            )


def azure_names(image: ImageName, rules: NamingRules, *, index: int | None = None) -> AzureNames:
    """Every Azure name for an image; ``index`` overrides the file's (a re-upload bumps it).

    The blob name and the gallery version are functions of the parsed name and the index
    only, so a re-run computes the same names and finds what the first run made.
    """
    idx = image.index if index is None else index
    if idx < 0:
        raise InputError("image", f"index {idx} is negative", "use an index of 0 or more")
    release = release_rule(image, rules)
    type_rule = release.image_rule(image.image_type)
    if type_rule is None:
        published = ", ".join(r.image_type for r in release.images)
        raise InputError(
            "image",
            f"{image.release} {image.image_type} images have no image definition in {rules.source}"
            f" (release {release.key} publishes {published})",
            "add the image type to the release in the naming file",
        )
    fields = _fields(image, idx)
    version = _render(release.gallery_version, fields, "gallery_version", rules)
    check_gallery_version(version)
    architecture = "Arm64" if image.arch == "aarch64" else "x64"
    definitions = []
    seen: set[str] = set()
    for d in type_rule.definitions:
        name = _render(d.name, fields, "definition name", rules)
        if name in seen:
            continue  # the anchor created 10.x twice into one definition; never send it twice
        seen.add(name)
        check_definition_name(name)
        sku = _render(rules.sku, {**fields, "definition": name}, "sku", rules)
        check_identifier_part(sku, "sku", "naming")
        definitions.append(
            DefinitionName(
                name, d.generation, architecture, d.security_type, rules.publisher, rules.offer, sku
            )
        )
    return AzureNames(
        release_key=release.key,
        index=idx,
        container=check_container(
            _render(type_rule.container, fields, "container", rules), "naming"
        ),
        blob_name=check_blob_name(_render(type_rule.blob, fields, "blob", rules)),
        gallery_version=version,
        definitions=tuple(definitions),
        public_allowed=type_rule.public,
    )
