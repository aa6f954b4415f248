"""Seed the sandbox's source registry: a small multi-arch image and a Helm chart.

``imgpub demo`` mirrors them into the ECR stand-in, and the tests build their images the
same way. Images are written as an OCI layout and pushed with skopeo (not with imgpub's
own copy path); the chart is pushed with Helm's media types.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class BuiltImage:
    digest: str  # of the index
    platform_digests: dict[str, str]


def build_layout(
    root: Path,
    *,
    platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64"),
    size: int = 64 * 1024,
    seed: str = "",
) -> BuiltImage:
    """An OCI layout whose ref ``v1`` is an index of one image per platform.

    Layers are random (``seed`` empty) or derived from ``seed``, ``size`` bytes each.
    """
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}", len(data)

    entries, by_platform = [], {}
    for platform in platforms:
        os_name, arch = platform.split("/")[:2]
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            if seed:
                unit = hashlib.sha256(f"{seed}{platform}".encode()).digest()
                data = unit * (size // len(unit))
            else:
                data = os.urandom(size)
            info = tarfile.TarInfo(f"data-{arch}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
        layer, layer_size = blob(gzip.compress(raw.getvalue(), mtime=0, compresslevel=1))
        config = {
            "architecture": arch,
            "os": os_name,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "config": {},
        }
        config_digest, config_size = blob(json.dumps(config).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer, "size": layer_size}],
        }
        digest, manifest_size = blob(json.dumps(manifest).encode())
        by_platform[platform] = digest
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": manifest_size,
                "platform": {"architecture": arch, "os": os_name},
            }
        )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    index_digest, index_size = blob(json.dumps(index).encode())
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    ref = {"org.opencontainers.image.ref.name": "v1"}
    top = {"mediaType": OCI_INDEX, "digest": index_digest, "size": index_size, "annotations": ref}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return BuiltImage(index_digest, by_platform)


def push_layout(layout: Path, destination: str, *, creds: str | None = None) -> None:
    """skopeo copy the layout's ``v1`` to ``docker://destination`` (plain HTTP, loopback)."""
    argv = ["skopeo", "--insecure-policy", "copy", "--all", "--preserve-digests"]
    argv += ["--dest-tls-verify=false"]
    if creds:
        argv += ["--dest-creds", creds]
    argv += [f"oci:{layout}:v1", f"docker://{destination}"]
    subprocess.run(argv, check=True, capture_output=True, timeout=300)


def seed_image(registry: str, name: str, **kwargs: object) -> BuiltImage:
    """Build and push a multi-arch image to ``registry/name`` (``name`` with its tag)."""
    with tempfile.TemporaryDirectory(prefix="imgpub-seed-") as folder:
        built = build_layout(Path(folder), **kwargs)  # type: ignore[arg-type]
        push_layout(Path(folder), f"{registry}/{name}")
    return built


def chart_archive(name: str, version: str, values: str) -> bytes:
    """A small Helm chart ``.tgz`` as ``helm package`` lays it out."""
    files = {
        "Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n"
        'appVersion: "1.0.0"\ndescription: A demo chart\n',
        "values.yaml": values,
        "templates/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\n"
        "metadata:\n  name: {{ .Release.Name }}\n",
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size, info.mtime = len(data), 1700000000
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def seed_chart(registry: str, repository: str, archive: bytes) -> str:
    """Push a chart archive to ``registry/repository:<version>`` as Helm does; its oci:// URL."""
    import yaml

    from imgpub.oci.client import OciClient
    from imgpub.oci.media import HELM_CHART, HELM_CONFIG, OCI_MANIFEST, sha256_digest
    from imgpub.oci.reference import Reference
    from imgpub.registry.chart import oci_artifact, unpack

    meta = yaml.safe_load(unpack(archive).chart_yaml)
    tag = str(meta["version"]).replace("+", "_")
    config, manifest = oci_artifact(meta, archive)
    ref = Reference(registry, repository, tag)
    client = OciClient(registry, insecure=True)
    client.upload_blob(ref, archive, sha256_digest(archive), HELM_CHART)
    client.upload_blob(ref, config, sha256_digest(config), HELM_CONFIG)
    client.put_manifest(ref, manifest, OCI_MANIFEST)
    return f"oci://{ref}"
