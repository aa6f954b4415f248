"""Test images, charts and request counting for the registry tests.

Images are built as OCI layouts on disk (random layers, gzip) and pushed with skopeo, an
independent tool, so the tests never use imgpub's own code to make what imgpub copies.
The ECR stand-in logs every request; :class:`AccessLog` reads what arrived since a mark.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from imgpub.sandbox.services import SANDBOX_ECR_PASSWORD

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_LINE = re.compile(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP/[0-9.]+" (\d{3})')
MUTATING = ("PUT", "POST", "PATCH", "DELETE")


@dataclass(frozen=True)
class BuiltImage:
    digest: str  # of the index (or the single manifest)
    platform_digests: dict[str, str]


def build_layout(
    root: Path, *, platforms=("linux/amd64", "linux/arm64"), size=64 * 1024, seed=""
) -> BuiltImage:
    """An OCI layout whose ref ``v1`` is an index of one image per platform."""
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
            data = (
                os.urandom(size)
                if not seed
                else hashlib.sha256(f"{seed}{platform}".encode()).digest() * (size // 32)
            )
            info = tarfile.TarInfo(f"data-{arch}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
        layer_digest, layer_size = blob(gzip.compress(raw.getvalue(), mtime=0, compresslevel=1))
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
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config_size,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest,
                    "size": layer_size,
                }
            ],
        }
        digest, msize = blob(json.dumps(manifest).encode())
        by_platform[platform] = digest
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": msize,
                "platform": {"architecture": arch, "os": os_name},
            }
        )
    index_digest, index_size = blob(
        json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    )
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (root / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": OCI_INDEX,
                        "digest": index_digest,
                        "size": index_size,
                        "annotations": {"org.opencontainers.image.ref.name": "v1"},
                    }
                ],
            }
        )
    )
    return BuiltImage(index_digest, by_platform)


def push_image(tmp: Path, registry: str, name: str, *, ecr: bool = False, **kwargs) -> BuiltImage:
    """Build a multi-arch image and push it to ``registry/name`` with skopeo."""
    layout = tmp / f"layout-{uuid.uuid4().hex[:8]}"
    built = build_layout(layout, **kwargs)
    creds = ["--dest-creds", f"AWS:{SANDBOX_ECR_PASSWORD}"] if ecr else []
    subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
         *creds, f"oci:{layout}:v1", f"docker://{registry}/{name}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return built


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def head_digest(registry: str, repository: str, reference: str, *, auth: bool = True) -> str | None:
    """The digest a tag points at, read with urllib (not imgpub's client)."""
    req = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{reference}", method="HEAD"
    )
    req.add_header(
        "Accept",
        f"{OCI_INDEX}, {OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json",
    )
    if auth:
        import base64

        req.add_header(
            "Authorization",
            "Basic " + base64.b64encode(f"AWS:{SANDBOX_ECR_PASSWORD}".encode()).decode(),
        )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.headers["Docker-Content-Digest"]
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


class AccessLog:
    """The ECR stand-in's access log, from a mark on."""

    def __init__(self, path: str, host: str) -> None:
        self.path = Path(path)
        self.host = host
        self.offset = 0

    def mark(self) -> None:
        self._settle()
        self.offset = self.path.stat().st_size

    def requests(self) -> list[tuple[str, str, int]]:
        self._settle()
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            text = fh.read().decode("utf-8", "replace")
        return [
            (m[1], m[2], int(m[3]))
            for m in _LINE.finditer(text)
            if "imgpub-log-sentinel" not in m[2]
        ]

    def mutations(self) -> list[tuple[str, str, int]]:
        return [r for r in self.requests() if r[0] in MUTATING]

    def _settle(self) -> None:
        """Send a sentinel request and wait until it is logged: the lines before it are in."""
        token = uuid.uuid4().hex
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(
                f"http://{self.host}/v2/?imgpub-log-sentinel={token}", timeout=5
            ).close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if token in self.path.read_text("utf-8", "replace"):
                return
            time.sleep(0.02)
        raise AssertionError("the registry did not log the sentinel request")


def make_chart(name: str = "demo", version: str = "1.2.3", values: str | None = None) -> bytes:
    """A small Helm chart archive (as `helm package` lays it out)."""
    files = {
        "Chart.yaml": f'apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: "8.3.4"\ndescription: A demo chart\n',
        "values.yaml": values
        if values is not None
        else "# images\nimage:\n  registry: docker.io\n  repository: camunda/zeebe\n  tag: 8.3.4\nsidecar: docker.io/library/busybox:1.36 # a comment\n",
        "templates/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size, info.mtime = len(data), 1700000000
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def push_chart_source(
    tmp: Path, registry: str, repository: str, archive: bytes, version: str
) -> str:
    """Push a chart to ``registry`` the way Helm lays it out in OCI, with oras-py."""
    import oras.provider

    chart = tmp / "chart.tgz"
    chart.write_bytes(archive)
    config = tmp / "config.json"
    config.write_text(json.dumps({"name": repository.rsplit("/", 1)[-1], "version": version}))
    client = oras.provider.Registry(hostname=registry, insecure=True, auth_backend="basic")
    client.push(
        target=f"{registry}/{repository}:{version.replace('+', '_')}",
        files=[f"{chart}:application/vnd.cncf.helm.chart.content.v1.tar+gzip"],
        manifest_config=f"{config}:application/vnd.cncf.helm.config.v1+json",
        disable_path_validation=True,
        quiet=True,
    )
    return f"oci://{registry}/{repository}:{version.replace('+', '_')}"
