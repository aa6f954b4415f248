"""actions/azure-gallery run the way the runner runs it, against Azurite and the fake ARM.

The job's environment carries what ``azure/login`` and the workflow would give a real job
(subscription; the sandbox's endpoints instead of Azure's); the connection string is
passed as the secret input, as a workflow would from ``secrets``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from harness import assert_runner_hygiene, run_action

from imgpub.sandbox.fake_arm import DEFAULT_SUBSCRIPTION, FakeArm
from tests.integration.gallery_helpers import CI, IMAGE, RG, VERSION, make_raw
from tests.integration.local_http import serving

pytestmark = [pytest.mark.azurite]

ACTION = Path(__file__).resolve().parents[2] / "actions" / "azure-gallery"


@pytest.fixture
def arm() -> Iterator[FakeArm]:
    with FakeArm(polls=1) as server:
        server.add_gallery(RG, CI, "eastus")
        server.add_gallery(RG, "almalinux", "eastus")
        yield server


def job_env(arm: FakeArm) -> dict[str, str]:
    return {
        "IMGPUB_AZURE_ARM_ENDPOINT": arm.url,
        "AZURE_SUBSCRIPTION_ID": DEFAULT_SUBSCRIPTION,
        "IMGPUB_SANDBOX": "1",
    }


def test_action_uploads_publishes_and_outputs_versions(
    tmp_path: Path, azurite: Any, arm: FakeArm
) -> None:
    raw = make_raw(tmp_path / IMAGE)
    container = "a" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:20]
    key = re.search(r"AccountKey=([^;]+)", azurite.connection_string).group(1)
    result = run_action(
        ACTION,
        inputs={
            "image": str(raw),
            "storage-connection-string": azurite.connection_string,
            "container": container,
            "target-regions": "eastus, westeurope",
            "replica-count": "2",
            "create-definitions": "true",
            "dry-run": "false",
        },
        env=job_env(arm),
        root=tmp_path / "runner",
    )
    assert result.exit_code == 0, result.stdout
    assert_runner_hygiene(result)
    assert key in result.mask_values

    blob_url = result.outputs["blob-url"]
    assert blob_url == f"{azurite.blob_endpoint}/{container}/almalinux-9.6-x86_64.20250522-00.vhd"
    versions = json.loads(result.outputs["image-versions"])
    assert [(v["definition"], v["state"]) for v in versions] == [
        ("almalinux-9-gen1", "created"),
        ("almalinux-9-gen2", "created"),
    ]
    for v in versions:
        assert v["version"] == VERSION and v["regions"] == ["eastus", "westeurope"]
        assert v["id"].startswith(f"/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{RG}/")
    put = next(r for r in arm.requests if r.method == "PUT" and "/versions/" in r.path)
    assert (
        put.body["properties"]["publishingProfile"]["targetRegions"][1]["regionalReplicaCount"] == 2
    )
    assert result.outputs["status"] == "success"

    # Nothing secret leaves the job: outputs survive the runner's mask filter.
    assert result.job_outputs()["image-versions"] == result.outputs["image-versions"]
    assert result.job_outputs()["blob-url"] == blob_url
    summary = re.sub(r"\\(.)", r"\1", result.summary)
    assert "## AlmaLinux OS 9.6 20250522 released to Compute Gallery" in result.summary
    assert f"Created: '{CI}/almalinux-9-gen2/{VERSION}' (eastus, westeurope)" in summary
    assert blob_url in summary and key not in result.summary
    # The stage flow groups the apply phase; the upload is a marked section inside it.
    assert "Apply: azure-gallery" in result.log.groups
    assert f"-- Upload {IMAGE}" in result.log.lines


def test_action_dry_run_is_the_default_and_needs_no_azure(tmp_path: Path) -> None:
    raw = make_raw(tmp_path / IMAGE)
    result = run_action(ACTION, inputs={"image": str(raw)}, env={}, root=tmp_path / "runner")
    assert result.exit_code == 0, result.stdout
    assert_runner_hygiene(result)
    assert "not checked against Azure" in result.stdout
    versions = json.loads(result.outputs["image-versions"])
    assert {v["state"] for v in versions} == {"planned"} and len(versions) == 2
    assert result.outputs["blob-url"].startswith(
        "https://almalinux.blob.core.windows.net/9-default/"
    )
    assert "dry run" in result.summary


def test_action_bad_input_is_one_error_annotation_and_exit_2(tmp_path: Path) -> None:
    result = run_action(
        ACTION,
        inputs={"image": "/nowhere/disk.raw", "dry-run": "false"},
        env={},
        root=tmp_path / "runner",
    )
    assert result.exit_code == 2
    errors = result.annotations_of("error")
    assert len(errors) == 1 and "input 'image'" in errors[0].message
    assert "AlmaLinux-<major>-Azure-" in errors[0].message
    assert "Nothing was changed" in result.summary


class _QuietFiles(SimpleHTTPRequestHandler):
    """Serves a folder over HTTP and ignores query strings, as a SAS or presigned URL's host."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    with serving(root, _QuietFiles) as base:
        yield base, root


SAS_SIG = "c2FzLXNpZ25hdHVyZS10aGF0LW11c3Qtbm90LWxlYWs"
AMZ_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENthatmustnotleak"
AMZ_SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
AMZ_CREDENTIAL = "ASIAEXAMPLEKEYID0001"


def _planted(result: Any) -> list[str]:
    """Where a planted token shows up: the document, outputs, summary, log (masks aside)."""
    from harness.assertions import results_document_text

    places = {
        "results document": results_document_text(result),
        "outputs": json.dumps(result.outputs),
        "summary": result.summary,
        "log": "\n".join(line for line in result.log.lines if "::add-mask::" not in line),
    }
    tokens = (SAS_SIG, AMZ_TOKEN, AMZ_SIGNATURE, AMZ_CREDENTIAL)
    return [
        f"{t[:8]}... in the {where}" for where, text in places.items() for t in tokens if t in text
    ]


def test_sas_and_presigned_urls_leave_no_token_anywhere(
    tmp_path: Path, azurite: Any, arm: FakeArm, web: tuple[str, Path]
) -> None:
    """Issue 9, finding 4: image and vhd-url with tokens; the document is checked too."""
    base, root = web
    make_raw(root / IMAGE)
    for name, _ in (("almalinux-9-gen1", "V1"), ("almalinux-9-gen2", "V2")):
        arm.add_definition(RG, CI, name, generation="V2" if name.endswith("gen2") else "V1")
    container = "s" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:20]
    sas = f"?sv=2025-11-05&sr=b&sp=r&se=2030-01-01T00%3A00%3A00Z&sig={SAS_SIG}"
    presigned = (
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={AMZ_CREDENTIAL}%2F20250522%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20250522T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
        f"&X-Amz-Security-Token={AMZ_TOKEN}&X-Amz-Signature={AMZ_SIGNATURE}"
    )
    common = {
        "storage-connection-string": azurite.connection_string,
        "container": container,
        "dry-run": "false",
    }
    runs = []
    for n, query in enumerate((sas, presigned)):
        results = tmp_path / f"results{n}.json"
        result = run_action(
            ACTION,
            inputs={"image": f"{base}/{IMAGE}{query}", "results": str(results), **common},
            env=job_env(arm),
            root=tmp_path / f"runner{n}",
        )
        assert result.exit_code == 0, result.stdout
        runs.append(result)
    blob_url = runs[0].outputs["blob-url"]
    vhd = run_action(
        ACTION,
        inputs={"vhd-url": blob_url + sas, "results": str(tmp_path / "results2.json"), **common},
        env=job_env(arm),
        root=tmp_path / "runner2",
    )
    assert vhd.exit_code == 0, vhd.stdout
    runs.append(vhd)
    for result in runs:
        assert_runner_hygiene(result)  # masked values: not in the log, summary or document
        assert _planted(result) == []
        assert "?" not in result.outputs["blob-url"]
    document = json.loads((tmp_path / "results0.json").read_text())["stages"]["azure-gallery"]
    assert document["inputs"]["image"].startswith(f"{base}/{IMAGE}")
    (blob,) = [t for t in document["targets"] if t["kind"] == "page-blob"]
    assert blob["source"] == f"{base}/{IMAGE}", "the source is recorded without its query"
    assert SAS_SIG in runs[0].mask_values and AMZ_TOKEN in runs[1].mask_values
