"""Bad input is exit 2, one error line naming the input, and not one mutating call.

Issue 9, findings 3 (empty and too small images), 5 (Azure names that would reach ARM
unvalidated), 6 (bad paths, URLs and connection strings reported as bugs) and 11 (a
definition whose generation or architecture disagrees with the naming rules). Every case
runs the real stage against Azurite (through a proxy that counts PUT/POST/DELETE) and the
fake ARM (whose request log shows every non-GET), and lists Azurite before and after.
"""

from __future__ import annotations

import gzip
import lzma
import os
from pathlib import Path

import pytest

from tests.integration.gallery_helpers import (
    CI,
    IMAGE,
    RG,
    assert_nothing_changed,
    connection_string,
    publish_inputs,
    run,
    sandbox_env,
    storage_listing,
)

pytestmark = [pytest.mark.azurite]


def _image(tmp_path: Path, content: bytes, suffix: str = "") -> str:
    path = tmp_path / "images" / (IMAGE + suffix)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    return str(path)


def _error_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("::error")]


# -- finding 3: empty and too small images ------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("empty raw", "is empty (0 bytes)"),
        ("raw smaller than a sector", "smaller than one 512-byte sector"),
        ("empty xz file", "is empty (0 bytes)"),
        ("xz of nothing", "decompresses to 0 bytes"),
        ("gz of 100 bytes", "decompresses to 100 bytes"),
        ("not xz at all", "is not a valid xz stream"),
    ],
)
def test_empty_and_too_small_images_exit_2_before_any_upload(
    tmp_path, azurite, arm, proxy, container, case, problem
):
    image = {
        "empty raw": lambda: _image(tmp_path, b""),
        "raw smaller than a sector": lambda: _image(tmp_path, b"\x01" * 100),
        "empty xz file": lambda: _image(tmp_path, b"", ".xz"),
        "xz of nothing": lambda: _image(tmp_path, lzma.compress(b""), ".xz"),
        "gz of 100 bytes": lambda: _image(tmp_path, gzip.compress(b"\x01" * 100), ".gz"),
        "not xz at all": lambda: _image(tmp_path, os.urandom(3000), ".xz"),
    }[case]()
    before = storage_listing(azurite)
    result = run(
        tmp_path, sandbox_env(azurite, arm, proxy), image=image, **publish_inputs(container)
    )
    assert_nothing_changed(result, arm, proxy, azurite, before)
    [error] = _error_lines(result.stdout)
    assert "input 'image'" in error and problem in error
    assert arm.requests == [], "the image is checked before Azure is asked anything"


# -- finding 5: Azure names by Azure's rules ----------------------------------------------------


def _naming_with_definition(tmp_path: Path, name: str) -> str:
    path = tmp_path / "naming.yml"
    path.write_text(
        "releases:\n"
        "  - key: '9'\n"
        "    match: {major: 9}\n"
        "    container: '9-{image_type}'\n"
        "    blob: 'almalinux-{version}-{arch_legacy}.{date}-{index:02d}.vhd'\n"
        "    gallery_version: '{major}.{minor}.{date}{index:02d}'\n"
        "    images:\n"
        "      default:\n"
        "        definitions:\n"
        f"          - {{name: '{name}', generation: V1}}\n"
    )
    return str(path)


@pytest.mark.parametrize(
    ("case", "name"),
    [
        ("resource group with a path", "resource-group"),
        ("gallery with a dash", "gallery"),
        ("publisher with a newline", "publisher"),
        ("offer too long", "offer"),
        ("subscription not a GUID", "subscription-id"),
        ("subscription from the environment not a GUID", "subscription-id"),
        ("storage account with capitals", "storage-account"),
        ("definition name with a slash", "naming"),
    ],
)
def test_azure_names_are_checked_by_azures_rules(
    tmp_path, raw, azurite, arm, proxy, container, case, name
):
    env = sandbox_env(azurite, arm, proxy)
    inputs = {"image": str(raw), "create_definitions": "true", **publish_inputs(container)}
    if case == "resource group with a path":
        inputs["resource_group"] = "rg/../../x"
    elif case == "gallery with a dash":
        inputs["gallery"] = "almalinux-ci"
    elif case == "publisher with a newline":
        inputs["publisher"] = "Alma\nLinux"
    elif case == "offer too long":
        inputs["offer"] = "o" * 65
    elif case == "subscription not a GUID":
        inputs["subscription_id"] = "not-a-guid"
    elif case == "subscription from the environment not a GUID":
        env["AZURE_SUBSCRIPTION_ID"] = "not-a-guid"
    elif case == "storage account with capitals":
        inputs["storage_account"] = "AlmaLinux"
    else:
        inputs["naming"] = _naming_with_definition(tmp_path, "almalinux/../gen1")
    before = storage_listing(azurite)
    result = run(tmp_path, env, **inputs)
    assert_nothing_changed(result, arm, proxy, azurite, before)
    [error] = _error_lines(result.stdout)
    assert f"input '{name}" in error, error
    assert "breaks Azure's rules" in error
    assert arm.requests == [], "no name reaches Resource Manager before it is checked"


# -- finding 6: paths, URLs and connection strings ----------------------------------------------


@pytest.mark.parametrize(
    ("case", "name", "problem"),
    [
        ("image is a directory", "image", "is a directory"),
        ("image is a symlink loop", "image", "cannot open"),
        ("image is missing", "image", "cannot open"),
        ("image URL does not parse", "image", "the URL does not parse"),
        ("image URL has no host", "image", "names no host and file"),
        ("vhd-url does not parse", "vhd-url", "the URL does not parse"),
        ("connection string with a broken endpoint", "storage-connection-string", "BlobEndpoint"),
        ("connection string without a key", "storage-connection-string", "AccountKey"),
    ],
)
def test_bad_paths_urls_and_connection_strings_exit_2_naming_the_input(
    tmp_path, azurite, arm, proxy, container, case, name, problem
):
    env = sandbox_env(azurite, arm, proxy)
    inputs: dict[str, str] = {**publish_inputs(container)}
    images = tmp_path / "images"
    images.mkdir()
    if case == "image is a directory":
        (images / IMAGE).mkdir()
        inputs["image"] = str(images / IMAGE)
    elif case == "image is a symlink loop":
        (images / IMAGE).symlink_to(images / IMAGE)
        inputs["image"] = str(images / IMAGE)
    elif case == "image is missing":
        inputs["image"] = str(images / IMAGE)
    elif case == "image URL does not parse":
        inputs["image"] = f"https://[::1/images/{IMAGE}"
    elif case == "image URL has no host":
        inputs["image"] = f"https:///images/{IMAGE}"
    elif case == "vhd-url does not parse":
        inputs["vhd_url"] = "https://[::1/c/almalinux-9.6-x86_64.20250522-00.vhd?sig=x"
    else:
        inputs["image"] = _image(tmp_path, b"\x01" * 4096)
        parts = [p for p in connection_string(azurite).split(";") if p]
        if "broken endpoint" in case:
            parts = [p if not p.startswith("BlobEndpoint=") else "BlobEndpoint=http://[::1"
                     for p in parts]  # fmt: skip
        else:
            parts = [p for p in parts if not p.startswith("AccountKey=")]
        env["AZURE_STORAGE_CONNECTION_STRING"] = ";".join(parts)
    before = storage_listing(azurite)
    result = run(tmp_path, env, **inputs)
    assert_nothing_changed(result, arm, proxy, azurite, before)
    [error] = _error_lines(result.stdout)
    assert f"input '{name}'" in error and problem in error, error
    assert "unexpected error" not in result.stdout and "bug in imgpub" not in result.text


# -- finding 11: the definitions' generation and architecture -----------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "generations swapped",
            [
                f"image definition {CI}/almalinux-9-gen1 has hyperVGeneration V2"
                " (the naming rules say V1)",
                f"image definition {CI}/almalinux-9-gen2 has hyperVGeneration V1"
                " (the naming rules say V2)",
            ],
        ),
        (
            "architecture",
            [
                f"image definition {CI}/almalinux-9-gen1 has architecture Arm64 (the naming rules say x64)"
            ],
        ),
    ],
)
def test_a_definition_that_disagrees_with_the_naming_rules_is_exit_2(
    tmp_path, raw, azurite, arm, proxy, container, case, expected
):
    arm.reset()
    arm.add_gallery(RG, CI, "eastus")
    if case == "generations swapped":
        arm.add_definition(RG, CI, "almalinux-9-gen1", generation="V2")
        arm.add_definition(RG, CI, "almalinux-9-gen2", generation="V1")
    else:
        arm.add_definition(RG, CI, "almalinux-9-gen1", generation="V1", architecture="Arm64")
        arm.add_definition(RG, CI, "almalinux-9-gen2", generation="V2")
    before = storage_listing(azurite)
    result = run(
        tmp_path, sandbox_env(azurite, arm, proxy), image=str(raw), **publish_inputs(container)
    )
    assert_nothing_changed(result, arm, proxy, azurite, before)
    [error] = _error_lines(result.stdout)
    for text in expected:
        assert text in error
    # The dry run says the same, as the plan's answer, and changes nothing either.
    dry = run(tmp_path, sandbox_env(azurite, arm, proxy), image=str(raw), container=container)
    assert dry.code == 0
    assert f"definition {CI}/almalinux-9-gen1: {expected[0]}; the run would stop" in dry.stdout
    assert arm_mutations_free(arm) and storage_listing(azurite) == before


def arm_mutations_free(arm) -> bool:
    return all(r.method == "GET" for r in arm.requests)


def test_publish_only_without_the_blob_is_exit_2(tmp_path, raw, azurite, arm, proxy, container):
    before = storage_listing(azurite)
    result = run(
        tmp_path,
        sandbox_env(azurite, arm, proxy),
        image=str(raw),
        steps="publish",
        **publish_inputs(container),
    )
    assert_nothing_changed(result, arm, proxy, azurite, before)
    [error] = _error_lines(result.stdout)
    assert "is not uploaded (missing)" in error and "steps: upload, publish" in error
