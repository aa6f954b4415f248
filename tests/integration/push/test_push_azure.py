"""imgpub push to the RHEL Azure entry: azure-gallery against Azurite and the fake ARM;
pre-push uploads the blob only, the full push then publishes without uploading again."""

from __future__ import annotations

import hashlib
import json

import pytest

from imgpub.sandbox.fake_arm import FakeArm
from tests.integration.gallery_helpers import (
    CI,
    DEFINITIONS,
    IMAGE,
    RG,
    arm_mutations,
    connection_string,
    make_raw,
    sandbox_env,
    storage_listing,
)
from tests.integration.push_helpers import as_base64, everything_written, mapping_file, push


@pytest.fixture
def arm():
    with FakeArm(polls=1) as server:
        server.add_gallery(RG, CI, "eastus")
        for name, gen in DEFINITIONS:
            server.add_definition(RG, CI, name, generation=gen)
        yield server


def test_azure_pre_push_uploads_only_then_push_publishes_reusing_the_blob(
    tmp_path, request, monkeypatch, azurite, arm
):
    env = sandbox_env(azurite, arm)
    secret = connection_string(azurite)
    for key in ("IMGPUB_AZURE_ARM_ENDPOINT", "AZURE_SUBSCRIPTION_ID", "IMGPUB_SANDBOX"):
        monkeypatch.setenv(key, env[key])
    staged = tmp_path / "staged"
    staged.mkdir()
    make_raw(staged / IMAGE)
    (staged / "metadata.yaml").write_text("name: rhel-azure\n")
    prefix = "p" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    creds = {
        "marketplace_account": "azure-na",
        "auth": {"AZURE_STORAGE_CONNECTION_STRING": secret, "AZURE_API_SECRET": "az-pw-0001"},
    }
    flags = {
        "sources": str(staged),
        "mapping": str(mapping_file(tmp_path, "rhel-azure")),
        "offline": "true",
        "credentials": as_base64(creds),
        "container-prefix": prefix,
    }
    code, doc, log = push(tmp_path, pre_push="true", **flags)
    assert code == 0, log
    blobs = storage_listing(azurite)[f"{prefix}-9"]
    assert len(blobs) == 1
    assert [m for m in arm_mutations(arm) if "/versions/" in m] == []
    code, doc, log = push(tmp_path, **flags)
    assert code == 0, log
    assert storage_listing(azurite)[f"{prefix}-9"] == blobs  # same blob, same ETag
    versions = [m for m in arm_mutations(arm) if m.startswith("PUT") and "/versions/" in m]
    assert versions, arm_mutations(arm)
    # The mapping's meta says generation V2: only the Gen2 definition gets a version.
    assert all("-gen2/versions/" in m for m in versions), versions
    (target,) = doc["stages"]["push"]["targets"]
    assert target["details"]["destinations"] == ["rhel-byos/rhel-lvm9-gen2"]
    ids = json.loads(doc["stages"]["push"]["outputs"]["destinations"])[0]["ids"]
    assert "gallery-versions" in ids
    written = everything_written(tmp_path) + log
    assert "az-pw-0001" not in written and secret not in written
