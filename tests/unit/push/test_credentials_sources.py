"""Credentials from files and base64 (masked before use), sources and their names."""

from __future__ import annotations

import base64
import json

import pytest

from imgpub.errors import InputError
from imgpub.push.credentials import check_usable, read_credentials
from imgpub.push.sources import read_sources

AWS = {
    "marketplace_account": "aws-na",
    "auth": {
        "AWS_IMAGE_ACCESS_ID": "AKIAIMAGEKEY000001",
        "AWS_IMAGE_SECRET_ACCESS": "image-secret-0001",
        "AWS_MARKETPLACE_ACCESS_ID": "AKIAMARKETKEY0001",
        "AWS_MARKETPLACE_SECRET_ACCESS": "market-secret-0001",
        "AWS_ACCESS_ROLE_ARN": "arn:aws:iam::111122223333:role/ingest",
        "AWS_SNAPSHOT_ACCOUNTS": ["444455556666"],
        "AWS_GROUPS": ["all"],
        "AWS_REGION": "us-east-1",
    },
}
AZURE = {
    "marketplace_account": "azure-na",
    "auth": {
        "AZURE_TENANT_ID": "tenant-0001",
        "AZURE_CLIENT_ID": "client-0001",
        "AZURE_API_SECRET": "azure-secret-0001",
        "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountKey=k0001",
    },
}


def b64(doc) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def test_file_and_base64_both_work_and_every_secret_is_masked_first(tmp_path):
    path = tmp_path / "aws.json"
    path.write_text(json.dumps(AWS))
    masked: list[str] = []
    creds = read_credentials(f"{path}, {b64(AZURE)}", masked.append)
    assert set(creds) == {"aws-na", "azure-na"}
    assert creds["aws-na"].text("AWS_IMAGE_SECRET_ACCESS") == "image-secret-0001"
    assert creds["aws-na"].items("AWS_SNAPSHOT_ACCOUNTS") == ["444455556666"]
    for secret in (
        "AKIAIMAGEKEY000001", "image-secret-0001", "market-secret-0001", "444455556666",
        "arn:aws:iam::111122223333:role/ingest", "azure-secret-0001", "tenant-0001",
        "DefaultEndpointsProtocol=https;AccountKey=k0001", b64(AZURE),
    ):  # fmt: skip
        assert secret in masked, secret
    assert "us-east-1" not in masked and "all" not in masked


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ({"auth": {}}, "credentials[0] $.marketplace_account: missing"),
        ({"marketplace_account": "aws-na", "auth": []}, "credentials[0] $.auth: must be an object"),
        ({"marketplace_account": "aws-na", "auth": {"AWS_IMAGE_ACESS_ID": "x"}},
         "credentials[0] $.auth.AWS_IMAGE_ACESS_ID: unknown key"),
        ({"marketplace_account": "aws-na", "auth": {"AWS_IMAGE_ACCESS_ID": "x"}},
         "credentials[0] $.auth.AWS_IMAGE_SECRET_ACCESS: missing"),
        ({"marketplace_account": "aws-na", "auth": {"AWS_REGION": 5}},
         "credentials[0] $.auth.AWS_REGION: must be a string"),
    ],
)  # fmt: skip
def test_bad_credentials_name_the_json_path(doc, says):
    with pytest.raises(InputError) as err:
        read_credentials(b64(doc), lambda _: None)
    assert err.value.name == "credentials" and says in err.value.message


def test_not_a_file_nor_base64_and_not_json(tmp_path):
    with pytest.raises(InputError, match="neither a readable file nor base64"):
        read_credentials("no such file!", lambda _: None)
    bad = tmp_path / "c.json"
    bad.write_text("{nope")
    with pytest.raises(InputError, match=r"credentials\[0\] \(file .*\) is not JSON"):
        read_credentials(str(bad), lambda _: None)
    with pytest.raises(InputError, match="given twice"):
        read_credentials(f"{b64(AWS)},{b64(AWS)}", lambda _: None)


def test_an_account_needs_keys_or_a_role_for_its_cloud():
    creds = read_credentials(b64({"marketplace_account": "a", "auth": {"AWS_REGION": "x"}}), print)
    with pytest.raises(InputError, match="neither AWS_IMAGE_ACCESS_ID nor AWS_ROLE_ARN"):
        check_usable(creds["a"], "aws")
    role = {"marketplace_account": "r", "auth": {"AWS_ROLE_ARN": "arn:aws:iam::1:role/x"}}
    check_usable(read_credentials(b64(role), lambda _: None)["r"], "aws")
    with pytest.raises(InputError, match="AZURE_STORAGE_CONNECTION_STRING"):
        check_usable(creds["a"], "azure")


def test_sources_from_names_metadata_and_beta(tmp_path):
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "AlmaLinux-9-GenericCloud-9.6-20250522.0.x86_64.raw").write_bytes(b"x")
    (staged / "AlmaLinux-9-GenericCloud-9.6-20250522.0.aarch64.raw.xz").write_bytes(b"x")
    (staged / "README.txt").write_text("not an image")
    items = read_sources([str(staged)])
    assert [(i.name, i.version, i.architecture) for i in items] == [
        ("AlmaLinux-9-GenericCloud", "9.6.20250522", "aarch64"),
        ("AlmaLinux-9-GenericCloud", "9.6.20250522", "x86_64"),
    ]
    (staged / "metadata.yaml").write_text("name: rhel-ec2\nrelease_type: beta\nboot_mode: uefi\n")
    items = read_sources([str(staged)])
    assert {i.name for i in items} == {"rhel-ec2"} and {i.release_type for i in items} == {"beta"}
    url = read_sources(["https://example.invalid/x/Foo-10.1-20251120.0.x86_64.raw?sig=1"])
    assert (url[0].name, url[0].version) == ("Foo", "10.1.20251120")
    (staged / "metadata.yaml").unlink()
    assert {i.release_type for i in read_sources([str(staged)], beta=True)} == {"beta"}


def _folder_with_metadata(root, text: str) -> str:
    (root / "m").mkdir()
    (root / "m" / "x-1-20250101.x86_64.raw").touch()
    (root / "m" / "metadata.yaml").write_text(text)
    return str(root / "m")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: str(p / "missing"), "does not exist"),
        (lambda p: str(p), "holds no disk image"),
        (lambda p: _folder_with_metadata(p, "colour: red\n"), "unknown key 'colour'"),
        (lambda p: _folder_with_metadata(p, "release_type: rc\n"), "release_type 'rc'"),
        (lambda p: (p / "noname.raw").touch() or str(p / "noname.raw"), "architecture"),
    ],
)  # fmt: skip
def test_bad_sources_are_exit_2_naming_the_source(tmp_path, make, says):
    with pytest.raises(InputError) as err:
        read_sources([make(tmp_path)])
    assert err.value.name == "sources" and says in err.value.message
