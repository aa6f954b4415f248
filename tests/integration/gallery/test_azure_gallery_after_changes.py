"""Errors after the first change: never exit 2, nothing half-done left behind, nothing lost.

Issue 9, finding 2 (a corrupt stream found mid-upload left a broken blob that shifted the
re-run's version), 9 (a gallery outside target-regions half-published) and 10 (regions
recorded as display names); plus the unhappy path of each step that changes something:
an upload that fails part-way (kept, resumed), a definition that cannot be created.
"""

from __future__ import annotations

import lzma

import pytest

from tests.integration.gallery_helpers import (
    BLOB0,
    CI,
    IMAGE,
    RG,
    VERSION,
    make_raw,
    publish_inputs,
    run,
    sandbox_env,
    service,
)

pytestmark = [pytest.mark.azurite]


def _corrupt_xz(raw_bytes: bytes) -> bytes:
    """A valid xz header and start, then garbage well past what the preflight reads."""
    packed = bytearray(lzma.compress(raw_bytes, preset=0))
    middle = len(packed) // 2
    assert middle > 64 * 1024, "the corruption must lie past the first 64 KiB"
    packed[middle : middle + 256] = bytes(256)
    return bytes(packed)


def test_a_corrupt_stream_found_mid_upload_deletes_its_blob_and_the_rerun_takes_index_00(
    tmp_path, azurite, arm, proxy, container
):
    good = make_raw(tmp_path / "good.raw")
    images = tmp_path / "images"
    images.mkdir()
    xz = images / f"{IMAGE}.xz"
    xz.write_bytes(_corrupt_xz(good.read_bytes()))
    env = sandbox_env(azurite, arm, proxy)

    broken = run(tmp_path, env, image=str(xz), **publish_inputs(container))
    assert broken.code == 1, "the upload had begun: a failure, never exit 2"
    assert proxy.plan.page_puts > 0, "pages were written before the corruption showed"
    (blob,) = broken.targets("page-blob")
    assert blob["state"] == "failed" and blob["details"]["deleted"] is True
    assert "xz stream" in blob["error"] and "download" in blob["remedy"]
    assert "deleted" in blob["remedy"]
    blobs = [b.name for b in service(azurite).get_container_client(container).list_blobs()]
    assert blobs == [], "the partial blob this run created is gone"
    assert {t["state"] for t in broken.targets("gallery-image-version")} == {"skipped"}
    assert arm.count("PUT") == 0, "nothing was published from a broken blob"
    assert "Nothing was changed" not in broken.text
    assert "Failures and what to do" in broken.text

    xz.write_bytes(lzma.compress(good.read_bytes(), preset=0))  # the good download
    fixed = run(tmp_path, env, image=str(xz), **publish_inputs(container))
    assert fixed.code == 0, fixed.stdout
    assert fixed.outputs["blob-url"].endswith(f"/{container}/{BLOB0}")
    assert {v["version"] for v in fixed.versions} == {VERSION}
    assert "index 1 is used instead" not in fixed.text


def test_an_upload_that_fails_part_way_keeps_its_blob_and_the_rerun_resumes_it(
    tmp_path, raw, azurite, arm, proxy, container
):
    env = sandbox_env(azurite, arm, proxy)
    proxy.plan.every, proxy.plan.kinds = 3, ("403",)  # the third Put Page: not authorized
    failed = run(tmp_path, env, image=str(raw), **publish_inputs(container))
    assert failed.code == 1, failed.stdout
    (blob,) = failed.targets("page-blob")
    assert blob["state"] == "failed" and blob["details"]["resumable"] is True
    assert blob["details"]["deleted"] is False
    assert "Storage Blob Data Contributor" in blob["remedy"]
    props = service(azurite).get_blob_client(container, BLOB0).get_blob_properties()
    assert props.content_settings.content_md5 is None, "kept, not marked complete"
    assert arm.count("PUT") == 0

    landed = proxy.plan.page_puts - proxy.plan.injected["403"]  # all but the refused ones
    assert landed > 0
    proxy.plan.every = 0
    resumed = run(tmp_path, env, image=str(raw), **publish_inputs(container))
    assert resumed.code == 0, resumed.stdout
    (blob,) = resumed.targets("page-blob")
    assert blob["state"] == "created" and blob["details"]["outcome"] == "resumed"
    reference = run(
        tmp_path, env, image=str(raw), steps="upload", dry_run="false", container=container + "r"
    )
    (whole,) = reference.targets("page-blob")
    assert blob["details"]["pages_sent"] == whole["details"]["pages_sent"] - landed
    assert blob["details"]["content_md5"] == whole["details"]["content_md5"]
    assert {v["state"] for v in resumed.versions} == {"created"}


def test_a_gallery_outside_target_regions_gets_its_region_first(
    tmp_path, raw, azurite, arm, container
):
    """Finding 9: the gallery is in westeurope; the default target regions lack it."""
    arm.reset()
    arm.add_gallery(RG, CI, "westeurope")
    arm.add_definition(RG, CI, "almalinux-9-gen1", generation="V1")
    arm.add_definition(RG, CI, "almalinux-9-gen2", generation="V2")
    dry = run(tmp_path, sandbox_env(azurite, arm), image=str(raw), container=container)
    assert dry.code == 0
    assert f"version {CI}/almalinux-9-gen1/{VERSION} (V1) → westeurope x1, eastus x1" in dry.stdout
    assert "westeurope was added first" in dry.stdout

    result = run(tmp_path, sandbox_env(azurite, arm), image=str(raw), **publish_inputs(container))
    assert result.code == 0, result.stdout
    for v in result.versions:
        assert v["regions"][0] == "westeurope" and "eastus" in v["regions"]
    puts = [r for r in arm.requests if r.method == "PUT" and "/versions/" in r.path]
    assert len(puts) == 2
    for put in puts:
        regions = [t["name"] for t in put.body["properties"]["publishingProfile"]["targetRegions"]]
        assert regions[0] == "westeurope" and put.body["location"] == "westeurope"
    assert "westeurope was added first" in result.text
    assert result.section["data"]["gallery_location"] == "westeurope"


def test_regions_are_recorded_as_api_names_created_and_existing(
    tmp_path, raw, azurite, arm, container
):
    """Finding 10: Azure answers 'East US'; the results say 'eastus' in every state."""
    env = sandbox_env(azurite, arm)
    expected = ["eastus", "germanywestcentral", "westus2", "southeastasia", "southcentralus"]
    for attempt in ("created", "existed"):
        result = run(tmp_path, env, image=str(raw), **publish_inputs(container))
        assert result.code == 0, result.stdout
        for v in result.versions:
            assert v["state"] == attempt and v["regions"] == expected
        for t in result.targets("gallery-image-version"):
            assert t["region"] == ", ".join(expected) and t["details"]["regions"] == expected
        assert "East US" not in result.summary and "East US" not in str(result.section)


def test_a_definition_that_cannot_be_created_skips_its_version_and_the_other_finishes(
    tmp_path, raw, azurite, arm, container
):
    arm.reset()
    arm.add_gallery(RG, CI, "eastus")
    arm.add_definition(RG, CI, "almalinux-9-gen1", generation="V1")
    arm.fail_next(
        "PUT", "/images/almalinux-9-gen2", 400, code="InvalidParameter", message="Bad SKU."
    )
    inputs = {"image": str(raw), "create_definitions": "true", **publish_inputs(container)}
    result = run(tmp_path, sandbox_env(azurite, arm), **inputs)
    assert result.code == 3, result.stdout
    states = {t["key"]: t["state"] for t in result.section["targets"]}
    assert states[f"definition:{CI}/almalinux-9-gen2"] == "failed"
    assert states[f"version:{CI}/almalinux-9-gen2/{VERSION}"] == "skipped"
    assert states[f"version:{CI}/almalinux-9-gen1/{VERSION}"] == "created"
    assert "(InvalidParameter) Bad SKU." in result.text
    again = run(tmp_path, sandbox_env(azurite, arm), **inputs)
    assert again.code == 0, again.stdout
    assert {v["state"] for v in again.versions} == {"created", "existed"}
