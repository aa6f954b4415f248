"""What the azure-gallery stage tests share: the test disk, the servers, running the stage.

Every test runs the real stage through ``run_stage`` (as the CLI and the action do) with
the real azure-storage-blob and azure-mgmt-compute clients, against Azurite (through a
counting proxy) and the fake ARM (whose request history is the record of gallery calls).
The fixtures are in ``tests/integration/gallery/conftest.py``.
"""

from __future__ import annotations

import io
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient

from imgpub.azure.storage import SANDBOX_API_VERSION
from imgpub.gha import Gha
from imgpub.sandbox.fake_arm import DEFAULT_SUBSCRIPTION, FakeArm
from imgpub.stage import run_stage
from imgpub.stages import azure_gallery

MIB = 1024 * 1024
RG = "rg-alma-images"
CI = "almalinux_ci"
IMAGE = "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw"
VERSION = "9.6.2025052200"
BLOB0 = "almalinux-9.6-x86_64.20250522-00.vhd"
BLOB1 = "almalinux-9.6-x86_64.20250522-01.vhd"
DEFINITIONS = (("almalinux-9-gen1", "V1"), ("almalinux-9-gen2", "V2"))
REGIONS = ((0, 300_000), (3 * MIB + 4096, 2 * MIB), (9 * MIB, 5000), (13 * MIB, MIB))
"""Data regions of the test disk (one crosses a 4 MiB boundary); the rest is holes."""


# -- the disk, the services, one run ------------------------------------------------------------


def make_raw(path: Path, size: int = 16 * MIB + 3000, seed: int = 7) -> Path:
    rng = random.Random(seed)
    with path.open("wb") as f:
        f.truncate(size)
        for offset, length in REGIONS:
            f.seek(offset)
            f.write(rng.randbytes(length))
    return path


def connection_string(azurite: Any, endpoint: str | None = None) -> str:
    text: str = azurite.connection_string
    if endpoint is None:
        return text
    return re.sub(r"BlobEndpoint=[^;]+", f"BlobEndpoint={endpoint}", text)


def service(azurite: Any) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(
        azurite.connection_string, api_version=SANDBOX_API_VERSION
    )


def sandbox_env(azurite: Any, arm: FakeArm, proxy: Any = None) -> dict[str, str]:
    return {
        "AZURE_STORAGE_CONNECTION_STRING": connection_string(
            azurite, proxy.url if proxy is not None else None
        ),
        "IMGPUB_AZURE_ARM_ENDPOINT": arm.url,
        "AZURE_SUBSCRIPTION_ID": DEFAULT_SUBSCRIPTION,
        "IMGPUB_SANDBOX": "1",
    }


@dataclass
class Run:
    code: int
    stdout: str
    summary: str
    outputs: dict[str, str]
    section: dict[str, Any]

    @property
    def text(self) -> str:
        """The Markdown summary with its escapes removed, for plain substring checks."""
        return re.sub(r"\\(.)", r"\1", self.summary)

    def targets(self, kind: str) -> list[dict[str, Any]]:
        return [t for t in self.section.get("targets", []) if t["kind"] == kind]

    @property
    def versions(self) -> list[dict[str, Any]]:
        return json.loads(self.outputs["image-versions"])


def run(tmp_path: Path, env: dict[str, str], **inputs: str) -> Run:
    """Run the stage as inside a runner (workflow commands on stdout, file commands)."""
    work = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    work.mkdir()
    out_file, summary_file = work / "output", work / "summary.md"
    out_file.touch()
    summary_file.touch()
    full_env = {
        **env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(out_file),
        "GITHUB_STEP_SUMMARY": str(summary_file),
    }
    flags: dict[str, str | None] = {k.replace("_", "-"): v for k, v in inputs.items()}
    flags.setdefault("results", str(tmp_path / "results.json"))
    buf = io.StringIO()
    code = run_stage(azure_gallery, flags=flags, env=full_env, gha=Gha(full_env, buf, buf))
    outputs = parse_outputs(out_file.read_text())
    results = Path(flags["results"] or "")
    section: dict[str, Any] = {}
    if results.exists():
        section = json.loads(results.read_text())["stages"].get("azure-gallery", {})
    return Run(code, buf.getvalue(), summary_file.read_text(), outputs, section)


def parse_outputs(text: str) -> dict[str, str]:
    """The heredoc records Gha writes (name<<DELIM / value / DELIM)."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, _, delim = line.partition("<<")
        value = []
        for inner in lines:
            if inner == delim:
                break
            value.append(inner)
        out[name] = "\n".join(value)
    return out


def download(azurite: Any, container: str, blob: str, dest: Path) -> tuple[Path, bytes | None]:
    client = service(azurite).get_blob_client(container, blob)
    dest.write_bytes(client.download_blob().readall())
    md5 = client.get_blob_properties().content_settings.content_md5
    return dest, bytes(md5) if md5 else None


def publish_inputs(container: str, **extra: str) -> dict[str, str]:
    return {"dry_run": "false", "container": container, **extra}


def arm_mutations(arm: FakeArm) -> list[str]:
    """Every request that could change something in the gallery (all but GET)."""
    return [f"{r.method} {r.path}" for r in arm.requests if r.method != "GET"]


def storage_listing(azurite: Any) -> dict[str, list[tuple[str, Any]]]:
    """Every container of Azurite with its blobs and their ETags: a change shows up here."""
    svc = service(azurite)
    return {
        c.name: sorted((b.name, b.etag) for b in svc.get_container_client(c.name).list_blobs())
        for c in svc.list_containers()
    }


def assert_nothing_changed(
    result: Run, arm: FakeArm, proxy: Any, azurite: Any, before: Any
) -> None:
    """Exit 2 promises no change: no mutating call reached the fake ARM or Azurite."""
    assert result.code == 2, result.stdout
    assert arm_mutations(arm) == []
    assert proxy.plan.mutations == 0, "no PUT/POST/DELETE reached Azurite"
    assert storage_listing(azurite) == before
    assert "Nothing was changed" in result.text
    assert result.section == {}, "an exit-2 run writes no results document"
