"""The inputs of azure-gallery read into one frozen value; secrets masked as they are read."""

from __future__ import annotations

import pytest

from imgpub.errors import InputError
from imgpub.gallery.inputs import read_inputs
from imgpub.gallery.spec import GALLERY_INPUTS
from imgpub.inputs import InputReader

IMAGE = "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw"
SUB = "00000000-0000-0000-0000-00000000f00d"


def read(env=None, **flags):
    masks: list[str] = []
    reader = InputReader(
        GALLERY_INPUTS,
        flags={k.replace("_", "-"): v for k, v in flags.items()},
        env=env or {},
        mask=masks.append,
    )
    return read_inputs(reader, env or {}, masks.append), masks


def test_defaults_and_names():
    inputs, masks = read(image=f"/images/{IMAGE}")
    assert inputs.steps == frozenset({"upload", "publish"}) and inputs.uploads
    assert inputs.names.blob_name == "almalinux-9.6-x86_64.20250522-00.vhd"
    assert inputs.names_at(3).blob_name == "almalinux-9.6-x86_64.20250522-03.vhd"
    assert inputs.storage.connection_string is None and inputs.storage.account == "almalinux"
    assert inputs.subscription is None and masks == []


def test_urls_lose_their_tokens_and_the_tokens_are_masked():
    url = f"https://h.example/{IMAGE}?sv=1&sig=SIGVALUE"
    inputs, masks = read(image=url)
    assert inputs.image == url, "the reader keeps what it needs to open the source"
    assert "SIGVALUE" in masks and "sv=1&sig=SIGVALUE" in masks
    blob = "https://a.blob.core.windows.net/c/almalinux-9.6-x86_64.20250522-00.vhd"
    vhd, masks = read(vhd_url=blob + "?sig=S2")
    assert vhd.vhd_url == blob and "S2" in masks


def test_the_subscription_is_a_guid_wherever_it_comes_from():
    assert read(image=IMAGE, subscription_id=SUB)[0].subscription == SUB
    assert read({"AZURE_SUBSCRIPTION_ID": SUB}, image=IMAGE)[0].subscription == SUB
    with pytest.raises(InputError, match="subscription-id \\(from AZURE_SUBSCRIPTION_ID\\)"):
        read({"AZURE_SUBSCRIPTION_ID": "nope"}, image=IMAGE)


def test_a_connection_string_is_checked_and_masked():
    conn = "AccountName=acct;AccountKey=S0VZ;BlobEndpoint=https://acct.blob.core.windows.net"
    inputs, masks = read(image=IMAGE, storage_connection_string=conn)
    assert inputs.storage.account == "acct" and not inputs.storage.account_given
    assert "S0VZ" in masks and conn in masks
    with pytest.raises(InputError, match="storage-connection-string"):
        read({"AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=http://[::1"}, image=IMAGE)


@pytest.mark.parametrize(
    ("flags", "name"),
    [
        ({}, "image"),
        ({"image": IMAGE, "vhd_url": "https://a/c/x.vhd"}, "vhd-url"),
        ({"image": IMAGE, "steps": "upload, pubish"}, "steps"),
        ({"image": f"ftp://host/{IMAGE}"}, "image"),
        ({"image": f"s3:///{IMAGE}"}, "image"),
        ({"vhd_url": "https://a.blob.core.windows.net/x.vhd"}, "vhd-url"),
        ({"image": IMAGE, "container": "Bad_Container"}, "container"),
        ({"image": IMAGE, "end_of_life_date": "2030-02-30"}, "end-of-life-date"),
    ],
)
def test_bad_inputs_name_the_input(flags, name):
    with pytest.raises(InputError) as err:
        read(**flags)
    assert err.value.name == name
