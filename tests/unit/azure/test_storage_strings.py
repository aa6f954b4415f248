"""Connection strings and blob URLs: validated without I/O, secrets found for masking."""

from __future__ import annotations

import pytest

from imgpub.azure.clouds import resolve_cloud
from imgpub.azure.storage import (
    account_of,
    check_connection_string,
    connection_string_secrets,
    planned_blob_endpoint,
    url_secrets,
)
from imgpub.errors import InputError

KEY = "a2V5LWZvci10ZXN0cw=="
AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
CLOUD = resolve_cloud("AzureCloud", env={})


def test_a_good_connection_string_passes():
    assert check_connection_string(AZURITE, "storage-connection-string")["accountname"] == (
        "devstoreaccount1"
    )
    assert check_connection_string("UseDevelopmentStorage=true", "x")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (AZURITE.replace("http://127.0.0.1:10000/devstoreaccount1", "http://[::1"), "invalid"),
        (AZURITE.replace("http://127.0.0.1", "ftp://127.0.0.1"), "not an http(s) URL"),
        (f"AccountKey={KEY}", "neither AccountName nor BlobEndpoint"),
        ("AccountName=a;BlobEndpoint=https://a.blob.core.windows.net", "neither AccountKey"),
    ],
)
def test_a_malformed_connection_string_names_the_input(text, problem):
    with pytest.raises(InputError) as err:
        check_connection_string(text, "AZURE_STORAGE_CONNECTION_STRING")
    assert err.value.name == "storage-connection-string"
    assert problem in err.value.message and "AZURE_STORAGE_CONNECTION_STRING" in err.value.message
    assert KEY not in err.value.one_line()


def test_secrets_of_connection_strings_and_urls():
    assert KEY in connection_string_secrets(AZURITE)
    presigned = (
        "https://b.s3.amazonaws.com/k.raw?X-Amz-Credential=AKIDX%2F1&X-Amz-Security-Token=TOK"
        "&X-Amz-Signature=SIG&X-Amz-Expires=60"
    )
    secrets = url_secrets(presigned)
    assert {"AKIDX/1", "TOK", "SIG"} <= set(secrets)
    assert "60" not in secrets
    assert url_secrets("https://[::1/x?sig=1") == [], "an unparseable URL is refused elsewhere"


def test_blob_endpoints_and_accounts_without_a_client():
    assert planned_blob_endpoint(AZURITE, CLOUD, "x") == "http://127.0.0.1:10000/devstoreaccount1"
    assert planned_blob_endpoint(None, CLOUD, "almalinux") == (
        "https://almalinux.blob.core.windows.net"
    )
    assert planned_blob_endpoint(f"AccountName=acct;AccountKey={KEY}", CLOUD, "x") == (
        "https://acct.blob.core.windows.net"
    )
    assert account_of("https://almalinux.blob.core.windows.net/c/b.vhd", CLOUD) == "almalinux"
    assert account_of("http://127.0.0.1:10000/devstoreaccount1/c/b.vhd", CLOUD) == (
        "devstoreaccount1"
    )
    assert account_of("https://example.org/c/b.vhd", CLOUD) is None
