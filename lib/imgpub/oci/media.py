"""OCI and Docker media types, and what a manifest says about itself (pure).

A registry must be asked for every manifest kind explicitly (``Accept``), or it may
convert the manifest or answer with one platform instead of the index; and the digest of
a manifest is the sha256 of its exact bytes, so those bytes are what we hash and compare.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

#: Helm's OCI media types (helm/helm pkg/registry/constants.go).
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
HELM_CHART_LEGACY = "application/tar+gzip"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_matches(digest: str, data: bytes) -> bool:
    """True when ``data`` hashes to ``digest`` (sha256 or sha512)."""
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm not in ("sha256", "sha512"):
        return False
    return hashlib.new(algorithm, data).hexdigest() == hexdigest


class ManifestError(ValueError):
    """Bytes that are not a manifest imgpub can copy."""


@dataclass(frozen=True)
class ManifestInfo:
    """What a manifest is: its type, its digest and the platforms it covers."""

    media_type: str
    digest: str
    size: int
    platforms: tuple[str, ...]
    config_digest: str | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def parse_manifest(data: bytes, content_type: str | None = None) -> tuple[ManifestInfo, Any]:
    """The manifest's info and its JSON; platforms of a single image are filled in later."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise ManifestError("the manifest is not JSON") from None
    if not isinstance(doc, dict):
        raise ManifestError("the manifest is not a JSON object")
    media_type = str(doc.get("mediaType") or _bare_type(content_type) or "")
    if doc.get("schemaVersion") == 1:
        raise ManifestError("Docker schema 1 manifests cannot keep their digest; rebuild it")
    if media_type not in MANIFEST_TYPES:
        raise ManifestError(f"unsupported manifest media type {media_type or '(none)'!r}")
    platforms: tuple[str, ...] = ()
    config_digest = None
    if media_type in INDEX_TYPES:
        platforms = index_platforms(doc)
    else:
        config = doc.get("config") or {}
        config_digest = config.get("digest") if isinstance(config, dict) else None
    info = ManifestInfo(media_type, sha256_digest(data), len(data), platforms, config_digest)
    return info, doc


def index_platforms(doc: dict[str, Any]) -> tuple[str, ...]:
    """``os/arch[/variant]`` of every image in an index, attestations left out."""
    out: list[str] = []
    for entry in doc.get("manifests") or []:
        if not isinstance(entry, dict):
            continue
        annotations = entry.get("annotations") or {}
        if "vnd.docker.reference.type" in annotations:
            continue  # buildkit attestation manifests have platform unknown/unknown
        platform = entry.get("platform") or {}
        name = platform_name(platform)
        if name and name not in out:
            out.append(name)
    return tuple(out)


def platform_name(platform: dict[str, Any]) -> str:
    """``linux/arm64/v8`` from an OCI platform object (empty for unknown)."""
    os_name, arch = platform.get("os"), platform.get("architecture")
    if not os_name or not arch or "unknown" in (os_name, arch):
        return ""
    variant = platform.get("variant")
    return f"{os_name}/{arch}" + (f"/{variant}" if variant else "")


def _bare_type(content_type: str | None) -> str | None:
    return content_type.split(";", 1)[0].strip() if content_type else None
