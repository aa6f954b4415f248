"""The azure-gallery stage end to end: Azurite for the blob, the fake ARM for the gallery.

Every test runs the real stage through ``run_stage`` (as the CLI and the action do) with
the real azure-storage-blob and azure-mgmt-compute clients. A counting proxy in front of
Azurite proves which Put Page calls were sent; the fake ARM's request history proves
which gallery calls were. The uploaded blob is downloaded and compared with the RAW by
``qemu-img compare -f raw -F vpc``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import socket
import subprocess

import pytest
from azure.storage.blob import ContentSettings

from tests.integration.gallery_helpers import (
    BLOB0,
    BLOB1,
    CI,
    DEFINITIONS,
    IMAGE,
    MIB,
    RG,
    VERSION,
    assert_nothing_changed,
    download,
    publish_inputs,
    run,
    sandbox_env,
    service,
    storage_listing,
)

pytestmark = [pytest.mark.azurite, pytest.mark.qemu]


# -- upload + publish ----------------------------------------------------------------------------


def test_upload_and_publish_end_to_end(tmp_path, raw, azurite, arm, proxy, container):
    result = run(
        tmp_path, sandbox_env(azurite, arm, proxy), image=str(raw), **publish_inputs(container)
    )
    assert result.code == 0, result.stdout

    # The blob is the RAW as a fixed VHD, and its Content-MD5 is the MD5 of its bytes.
    assert result.outputs["blob-url"] == f"{proxy.url}/{container}/{BLOB0}"
    vhd, md5 = download(azurite, container, BLOB0, tmp_path / "blob.vhd")
    assert md5 == hashlib.md5(vhd.read_bytes()).digest()
    assert vhd.stat().st_size == 17 * MIB + 512  # padded to a whole MiB, plus the footer
    compare = subprocess.run(
        ["qemu-img", "compare", "-f", "raw", "-F", "vpc", str(raw), str(vhd)],
        capture_output=True,
        text=True,
    )
    assert compare.returncode == 0, compare.stdout + compare.stderr
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", "-f", "vpc", str(vhd)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert info["format"] == "vpc" and info["virtual-size"] == 17 * MIB
    assert proxy.plan.page_puts > 0

    # Both generations, created in the CI gallery from that blob, in the default regions.
    versions = result.versions
    assert {(v["definition"], v["state"]) for v in versions} == {
        ("almalinux-9-gen1", "created"),
        ("almalinux-9-gen2", "created"),
    }
    for v in versions:
        assert v["gallery"] == CI and v["version"] == VERSION
        assert v["id"].endswith(f"/galleries/{CI}/images/{v['definition']}/versions/{VERSION}")
        assert v["regions"] == [
            "eastus",
            "germanywestcentral",
            "westus2",
            "southeastasia",
            "southcentralus",
        ]
        assert arm.version_state(RG, CI, v["definition"], VERSION) == "Succeeded"
    puts = [r for r in arm.requests if r.method == "PUT" and "/versions/" in r.path]
    assert len(puts) == 2
    assert all(
        r.body["properties"]["storageProfile"]["osDiskImage"]["source"]["uri"]
        == result.outputs["blob-url"]
        for r in puts
    )

    # Results document and summary.
    assert result.section["status"] == "success"
    (blob,) = result.targets("page-blob")
    assert blob["state"] == "created" and blob["resource_id"] == result.outputs["blob-url"]
    assert blob["details"]["bytes_sent"] < 5 * MIB  # only the data, never the holes
    assert base64.b64encode(bytes.fromhex(blob["details"]["content_md5"])) == base64.b64encode(
        md5 or b""
    )
    assert {t["state"] for t in result.targets("gallery-image-version")} == {"created"}
    summary = result.text
    assert "AlmaLinux OS 9.6 20250522 released to Compute Gallery" in summary
    assert f"Created: '{CI}/almalinux-9-gen1/{VERSION}'" in summary
    assert IMAGE in summary and "virtual size" in summary
    assert "Time taken" in summary and "❌" in summary
    assert re.search(r"upload .* at .*/s, .* sent: .* \(100\.0%\)", result.stdout)


def test_rerun_finds_everything_existing_and_sends_no_page(
    tmp_path, raw, azurite, arm, proxy, container
):
    env = sandbox_env(azurite, arm, proxy)
    first = run(tmp_path, env, image=str(raw), **publish_inputs(container))
    assert first.code == 0, first.stdout
    puts_before = proxy.plan.page_puts
    arm_puts_before = arm.count("PUT")

    again = run(tmp_path, env, image=str(raw), **publish_inputs(container))
    assert again.code == 0, again.stdout
    assert proxy.plan.page_puts == puts_before, "a re-run sends no Put Page"
    assert arm.count("PUT") == arm_puts_before, "a re-run creates nothing in the gallery"
    assert {t["state"] for t in again.section["targets"]} == {"existed"}
    assert {v["state"] for v in again.versions} == {"existed"}
    assert again.outputs["blob-url"] == first.outputs["blob-url"]
    assert f"Existing: '{CI}/almalinux-9-gen2/{VERSION}'" in again.text


def test_blob_of_another_source_is_left_alone_and_the_next_index_used(
    tmp_path, raw, azurite, arm, container
):
    svc = service(azurite)
    svc.create_container(container)
    foreign = svc.get_blob_client(container, BLOB0)
    foreign.create_page_blob(MIB, content_settings=ContentSettings(content_type="text/plain"))
    foreign.upload_page(b"\x01" * 512, 0, 512)

    result = run(tmp_path, sandbox_env(azurite, arm), image=str(raw), **publish_inputs(container))
    assert result.code == 0, result.stdout
    assert result.outputs["blob-url"].endswith(f"/{container}/{BLOB1}")
    assert {v["version"] for v in result.versions} == {"9.6.2025052201"}
    props = foreign.get_blob_properties()
    assert props.size == MIB and not props.metadata, "the other blob is untouched"
    assert "index 1 is used instead" in result.text
    assert "not made by imgpub" in result.text


def test_vhd_url_skips_the_upload(tmp_path, raw, azurite, arm, container):
    env = sandbox_env(azurite, arm)
    uploaded = run(tmp_path, env, image=str(raw), steps="upload", **publish_inputs(container))
    assert uploaded.code == 0, uploaded.stdout
    assert arm.count("PUT") == 0, "steps: upload touches no gallery"
    assert uploaded.versions[0]["state"] == "planned"
    blob = service(azurite).get_blob_client(container, BLOB0)
    etag = blob.get_blob_properties().etag

    result = run(tmp_path, env, vhd_url=uploaded.outputs["blob-url"], dry_run="false")
    assert result.code == 0, result.stdout
    assert "Upload" not in result.stdout
    assert blob.get_blob_properties().etag == etag, "the blob was not written again"
    assert result.outputs["blob-url"] == uploaded.outputs["blob-url"]
    assert result.targets("page-blob") == []
    assert {v["state"] for v in result.versions} == {"created"}
    body = next(r.body for r in arm.requests if r.method == "PUT" and "/versions/" in r.path)
    assert (
        body["properties"]["storageProfile"]["osDiskImage"]["source"]["uri"]
        == uploaded.outputs["blob-url"]
    )


def test_vhd_url_that_is_not_a_fixed_vhd_exits_2(tmp_path, azurite, arm, container):
    svc = service(azurite)
    svc.create_container(container)
    svc.get_blob_client(container, BLOB0).create_page_blob(MIB)  # all zeros: no footer
    url = f"{azurite.blob_endpoint}/{container}/{BLOB0}"
    result = run(tmp_path, sandbox_env(azurite, arm), vhd_url=url, dry_run="false")
    assert result.code == 2, result.stdout
    assert "input 'vhd-url'" in result.stdout
    assert arm.count("PUT") == 0


# -- dry run -----------------------------------------------------------------------------------


def test_dry_run_without_any_azure_prints_the_plan_from_the_naming_rules(tmp_path, raw):
    result = run(tmp_path, {}, image=str(raw))  # dry-run is the default; no endpoints at all
    assert result.code == 0, result.stdout
    out = result.stdout
    assert "not checked against Azure" in out
    assert f"blob https://almalinux.blob.core.windows.net/9-default/{BLOB0}: would upload" in out
    for name, gen in DEFINITIONS:
        assert f"version {CI}/{name}/{VERSION} ({gen}) → eastus x1, germanywestcentral x1" in out
    assert result.section["status"] == "planned" and result.section["dry_run"] is True
    assert {t["state"] for t in result.section["targets"]} == {"planned"}
    assert {v["state"] for v in result.versions} == {"planned"}
    assert "Not checked against Azure" in result.text


def test_dry_run_against_the_sandbox_changes_nothing(tmp_path, raw, azurite, arm, proxy, container):
    arm.reset()
    arm.add_gallery(RG, CI, "eastus")  # no definitions: the dry run says what would stop
    result = run(tmp_path, sandbox_env(azurite, arm, proxy), image=str(raw), container=container)
    assert result.code == 0, result.stdout
    assert "not checked against Azure" not in result.stdout
    assert f"definition {CI}/almalinux-9-gen1: missing, the run would stop" in result.stdout
    assert {r.method for r in arm.requests} == {"GET"}
    assert proxy.plan.page_puts == 0
    assert not service(azurite).get_container_client(container).exists()
    assert result.outputs["blob-url"] == f"{proxy.url}/{container}/{BLOB0}"


# -- failures ----------------------------------------------------------------------------------


def test_a_failed_version_is_partial_exit_3_with_azure_error_and_remedy(
    tmp_path, raw, azurite, arm, container
):
    arm.fail_version(
        RG, CI, "almalinux-9-gen1", VERSION, message="Replication failed in region westus2."
    )
    result = run(tmp_path, sandbox_env(azurite, arm), image=str(raw), **publish_inputs(container))
    assert result.code == 3, result.stdout
    states = {v["definition"]: v["state"] for v in result.versions}
    assert states == {"almalinux-9-gen1": "failed", "almalinux-9-gen2": "created"}
    assert result.section["status"] == "partial"
    (failed,) = [t for t in result.targets("gallery-image-version") if t["state"] == "failed"]
    assert "Replication failed in region westus2" in failed["error"]
    assert "az sig image-version delete" in failed["remedy"]
    assert "partly released" in result.text
    assert "Replication failed in region westus2" in result.text
    assert "What to do" in result.text


def test_missing_definitions_exit_2_naming_them_before_any_upload(
    tmp_path, raw, azurite, arm, proxy, container
):
    arm.reset()
    arm.add_gallery(RG, CI, "eastus")
    result = run(
        tmp_path, sandbox_env(azurite, arm, proxy), image=str(raw), **publish_inputs(container)
    )
    assert result.code == 2, result.stdout
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert f"{CI}/almalinux-9-gen1" in errors[0] and f"{CI}/almalinux-9-gen2" in errors[0]
    assert "create-definitions" in errors[0]
    assert (
        proxy.plan.page_puts == 0 and not service(azurite).get_container_client(container).exists()
    )
    assert {r.method for r in arm.requests} == {"GET"}


def test_create_definitions_creates_them(tmp_path, raw, azurite, arm, container):
    arm.reset()
    arm.add_gallery(RG, CI, "eastus")
    result = run(
        tmp_path,
        sandbox_env(azurite, arm),
        image=str(raw),
        create_definitions="true",
        **publish_inputs(container),
    )
    assert result.code == 0, result.stdout
    assert arm.count("PUT", "/images/almalinux-9-gen1") >= 1
    assert "Image definitions created" in result.text


def test_generations_publish_only_the_definitions_asked_for(
    tmp_path, raw, azurite, arm, proxy, container
):
    env = sandbox_env(azurite, arm, proxy)
    result = run(tmp_path, env, image=str(raw), generations="gen2", **publish_inputs(container))
    assert result.code == 0, result.stdout
    assert {(v["definition"], v["state"]) for v in result.versions} == {
        ("almalinux-9-gen2", "created")
    }
    puts = [r for r in arm.requests if r.method == "PUT" and "/versions/" in r.path]
    assert [r.path.split("/images/")[1].split("/")[0] for r in puts] == ["almalinux-9-gen2"]


def test_a_generation_that_is_not_one_exits_2_before_any_call(
    tmp_path, raw, azurite, arm, proxy, container
):
    before = storage_listing(azurite)
    result = run(
        tmp_path,
        sandbox_env(azurite, arm, proxy),
        image=str(raw),
        generations="V2, V3",
        **publish_inputs(container),
    )
    assert_nothing_changed(result, arm, proxy, azurite, before)
    assert "input 'generations'" in result.stdout and "'V3' is not a Hyper-V generation" in (
        result.stdout
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("case", "name"),
    [
        ("unparseable", "image"),
        ("region", "target-regions"),
        ("int32", "image"),
        ("unreachable", "image"),
        ("date", "end-of-life-date"),
        ("steps", "steps"),
    ],
)
def test_bad_inputs_exit_2_with_one_line_before_any_call(
    tmp_path, raw, azurite, arm, proxy, case, name
):
    inputs: dict[str, str] = {"dry_run": "false", "image": str(raw)}
    if case == "unparseable":
        inputs["image"] = str(shutil.copy(raw, tmp_path / "disk.raw"))
    elif case == "region":
        inputs["target_regions"] = "eastus, narnia"
    elif case == "int32":
        inputs["image"] = str(
            shutil.copy(raw, tmp_path / IMAGE.replace(".0.x86_64", ".99999.x86_64"))
        )
    elif case == "unreachable":
        inputs["image"] = f"http://127.0.0.1:{_closed_port()}/images/{IMAGE}"
    elif case == "date":
        inputs["end_of_life_date"] = "2030-13-01"
    elif case == "steps":
        inputs["steps"] = "upload, pubish"
    result = run(tmp_path, sandbox_env(azurite, arm, proxy), **inputs)
    assert result.code == 2, result.stdout
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, result.stdout
    assert f"input '{name}'" in errors[0]
    if case == "int32":
        assert "int32" in errors[0]
    assert arm.requests == [] and proxy.plan.page_puts == 0
    assert "Nothing was changed" in result.text


# -- secrets -----------------------------------------------------------------------------------


def test_connection_string_and_sas_are_masked_and_never_printed(
    tmp_path, raw, azurite, arm, container
):
    env = sandbox_env(azurite, arm)
    conn = env.pop("AZURE_STORAGE_CONNECTION_STRING")
    key = re.search(r"AccountKey=([^;]+)", conn).group(1)
    first = run(
        tmp_path, env, image=str(raw), storage_connection_string=conn, **publish_inputs(container)
    )
    assert first.code == 0, first.stdout
    sas_sig = "c2VjcmV0LXNpZ25hdHVyZS1mb3ItdGVzdHM"
    sas_url = f"{first.outputs['blob-url']}?sv=2025-11-05&sr=b&sp=r&sig={sas_sig}"
    second = run(
        tmp_path,
        env,
        vhd_url=sas_url,
        storage_connection_string=conn,
        dry_run="false",
    )
    assert second.code == 0, second.stdout
    for result in (first, second):
        masks = {
            line[len("::add-mask::") :]
            for line in result.stdout.splitlines()
            if line.startswith("::add-mask::")
        }
        assert key in masks
        printed = "\n".join(
            line for line in result.stdout.splitlines() if not line.startswith("::add-mask::")
        )
        for secret in (key, conn, sas_sig):
            assert secret not in printed
            assert secret not in result.text
            assert all(secret not in value for value in result.outputs.values())
        assert "?" not in result.outputs["blob-url"]
    second_masks = [line for line in second.stdout.splitlines() if line.startswith("::add-mask::")]
    assert any(sas_sig in line for line in second_masks), "the SAS of vhd-url is masked"
