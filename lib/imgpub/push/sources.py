"""Push items from what the user gives: staged folders, image files or URLs, results documents.

* a **folder**: every disk image in it (``.raw``, ``.img``, ``.vhd``, optionally ``.xz`` /
  ``.gz``), named by the naming rules build-ami reads (``<name>-<release>-<date>[.<n>].<arch>
  .raw``); a ``metadata.yaml`` beside them may give ``name``, ``version``, ``architecture``,
  ``release_type`` (ga or beta) and ``boot_mode``, which win over the file name;
* a **file or URL** (``https://``, ``s3://``) of one image, named the same way;
* a **results document** (``.json``) of earlier stages: the AMIs build-ami recorded there
  become items that need no upload (their name and version come from the image it built,
  or from a ``metadata.yaml`` beside the document).

Everything here is local reading: a problem is exit 2 naming the source.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from imgpub.build.chain import built_amis
from imgpub.build.naming import image_facts
from imgpub.errors import ImgpubError, InputError
from imgpub.push.model import ARCH_ALIASES, PushItem
from imgpub.results import ResultsDocument

IMAGE_SUFFIXES = re.compile(r"\.(raw|img|vhd)(\.(xz|gz))?$", re.IGNORECASE)
_NAME = re.compile(r"^(?P<name>.+?)[-_.]\d+(?:\.\d+)?-\d{8}")
METADATA_FILE = "metadata.yaml"
METADATA_KEYS = ("name", "version", "architecture", "release_type", "boot_mode")
INPUT = "sources"


def read_sources(sources: list[str], *, beta: bool = False) -> list[PushItem]:
    if not sources:
        raise InputError(INPUT, "no source given", "give staged folders, image files or URLs")
    items: list[PushItem] = []
    for source in sources:
        items.extend(_read_one(source))
    if beta:
        items = [replace(i, release_type="beta") for i in items]
    seen: dict[str, str] = {}
    for item in items:
        if item.key in seen and seen[item.key] != item.source:
            raise InputError(
                INPUT,
                f"{item.key} comes from both {seen[item.key]} and {item.source}",
                "give each image once",
            )
        seen[item.key] = item.source
    return items


def _read_one(source: str) -> list[PushItem]:
    if re.match(r"^(https?|s3)://", source):
        return [_from_file_name(source, source.rsplit("/", 1)[-1].split("?", 1)[0], {})]
    path = Path(source)
    if path.is_dir():
        return _from_folder(path)
    if not path.is_file():
        raise InputError(INPUT, f"{source} does not exist", "give an existing folder, file or URL")
    if path.suffix == ".json":
        return _from_results(path)
    return [_from_file_name(str(path), path.name, {})]


def _from_folder(folder: Path) -> list[PushItem]:
    meta = _metadata(folder / METADATA_FILE)
    images = sorted(p for p in folder.iterdir() if p.is_file() and IMAGE_SUFFIXES.search(p.name))
    if not images:
        raise InputError(
            INPUT, f"{folder} holds no disk image (.raw, .img, .vhd, .xz, .gz)", "stage the images"
        )
    return [_from_file_name(str(p), p.name, meta) for p in images]


def _metadata(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(INPUT, f"{path} cannot be read: {exc}", "fix the YAML") from None
    if not isinstance(data, dict):
        raise InputError(
            INPUT, f"{path} must be a mapping", f"give keys {', '.join(METADATA_KEYS)}"
        )
    unknown = sorted(set(data) - set(METADATA_KEYS))
    if unknown:
        raise InputError(
            INPUT, f"{path}: unknown key {unknown[0]!r}", f"use {', '.join(METADATA_KEYS)}"
        )
    release = str(data.get("release_type", "ga"))
    if release not in ("ga", "beta"):
        raise InputError(INPUT, f"{path}: release_type {release!r}", "use ga or beta")
    return {k: str(v) for k, v in data.items() if v is not None}


def _from_file_name(source: str, file_name: str, meta: dict[str, str]) -> PushItem:
    arch = meta.get("architecture", "")
    if arch and arch not in ARCH_ALIASES:
        raise InputError(INPUT, f"{source}: architecture {arch!r}", "use x86_64 or aarch64")
    try:
        facts = image_facts(file_name, version=meta.get("version", ""), architecture=arch)
    except InputError as exc:
        raise InputError(INPUT, f"{source}: {exc.message}", exc.remedy or "") from None
    match = _NAME.match(file_name)
    name = meta.get("name") or (match.group("name") if match else "")
    if not name or not facts.version:
        raise InputError(
            INPUT,
            f"cannot tell the name and version of {file_name}",
            f"name it <name>-<release>-<date>.<arch>.raw or add {METADATA_FILE} with name "
            "and version",
        )
    return PushItem(
        name=name,
        version=facts.version,
        architecture=ARCH_ALIASES[facts.arch_tag],
        source=source,
        image=source,
        release_type=meta.get("release_type", "ga"),
        boot_mode=meta.get("boot_mode", ""),
    )


def _from_results(path: Path) -> list[PushItem]:
    try:
        doc = ResultsDocument.load(path)
    except ImgpubError as exc:
        raise InputError(INPUT, f"{path}: {exc.message}", "give a results document") from None
    section = doc.section("build-ami")
    image = str((section.inputs if section else {}).get("image", ""))
    meta = _metadata(path.parent / METADATA_FILE)
    amis = built_amis(doc)
    if not amis:
        raise InputError(INPUT, f"{path} records no AMI built by build-ami", "run build-ami first")
    items = []
    for ami in amis:
        item = _from_file_name(str(path), image.rsplit("/", 1)[-1], meta) if image else None
        if item is None:
            raise InputError(INPUT, f"{path}: the built image is not recorded", "re-run build-ami")
        items.append(
            replace(item, image="", ami_id=ami.image_id, ami_region=ami.region, source=str(path))
        )
    return items


def describe(item: PushItem) -> dict[str, Any]:
    """The item as the results document records it."""
    out: dict[str, Any] = {
        "name": item.name,
        "version": item.version,
        "architecture": item.architecture,
        "release_type": item.release_type,
        "source": item.source,
    }
    if item.ami_id:
        out["ami"] = {"id": item.ami_id, "region": item.ami_region}
    return out
