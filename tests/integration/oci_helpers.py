"""Test images, charts and request counting for the registry tests.

Images are built as OCI layouts on disk (random layers, gzip) and pushed with skopeo, an
independent tool, so the tests never use imgpub's own code to make what imgpub copies.
The ECR stand-in logs every request; :class:`AccessLog` reads what arrived since a mark.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.request
import uuid
from pathlib import Path

from imgpub.sandbox.oci_seed import BuiltImage, build_layout, chart_archive, push_layout
from imgpub.sandbox.services import SANDBOX_ECR_PASSWORD

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_LINE = re.compile(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP/[0-9.]+" (\d{3})')
MUTATING = ("PUT", "POST", "PATCH", "DELETE")


def push_image(tmp: Path, registry: str, name: str, *, ecr: bool = False, **kwargs) -> BuiltImage:
    """Build a multi-arch image and push it to ``registry/name`` with skopeo."""
    layout = tmp / f"layout-{uuid.uuid4().hex[:8]}"
    built = build_layout(layout, **kwargs)
    push_layout(layout, f"{registry}/{name}", creds=f"AWS:{SANDBOX_ECR_PASSWORD}" if ecr else None)
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
    default = (
        "# images\nimage:\n  registry: docker.io\n  repository: camunda/zeebe\n  tag: 8.3.4\n"
        "sidecar: docker.io/library/busybox:1.36 # a comment\n"
    )
    return chart_archive(name, version, default if values is None else values)


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
