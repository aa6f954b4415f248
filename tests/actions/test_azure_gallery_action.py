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
from pathlib import Path
from typing import Any

import pytest
from harness import assert_runner_hygiene, run_action

from imgpub.sandbox.fake_arm import DEFAULT_SUBSCRIPTION, FakeArm
from tests.integration.gallery_helpers import CI, IMAGE, RG, VERSION, make_raw

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
