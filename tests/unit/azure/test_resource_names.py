"""Azure's name rules, applied before any call, naming the input."""

from __future__ import annotations

import pytest

from imgpub.azure.resource_names import (
    check_blob_name,
    check_container,
    check_definition_name,
    check_gallery_name,
    check_identifier_part,
    check_resource_group,
    check_storage_account,
    check_subscription_id,
)
from imgpub.errors import InputError

GOOD = [
    (check_subscription_id, "00000000-0000-0000-0000-00000000f00d"),
    (check_resource_group, "rg-alma-images"),
    (check_resource_group, "rg_(prod).2"),
    (check_resource_group, "rg-ä"),  # Unicode letters are allowed
    (check_gallery_name, "almalinux_ci"),
    (check_gallery_name, "a"),
    (check_definition_name, "almalinux-ci-10-arm64-64k-gen2"),
    (check_storage_account, "almalinux"),
    (check_container, "9-default"),
    (check_blob_name, "almalinux-9.6-x86_64.20250522-00.vhd"),
    (check_blob_name, "folder/AlmaLinux-10-Azure-10.0-20250529.0.x86_64.vhd"),
]
BAD = [
    (check_subscription_id, "not-a-guid"),
    (check_subscription_id, "00000000-0000-0000-0000-00000000f00d\n"),
    (check_resource_group, "rg/../../x"),
    (check_resource_group, "ends-with."),
    (check_resource_group, "r" * 91),
    (check_resource_group, ""),
    (check_gallery_name, "almalinux-ci"),
    (check_gallery_name, "_leading"),
    (check_gallery_name, "g" * 81),
    (check_definition_name, "bad/name"),
    (check_definition_name, "-leading"),
    (check_storage_account, "AlmaLinux"),
    (check_storage_account, "ab"),
    (check_container, "Upper"),
    (check_container, "double--hyphen"),
    (check_container, "-x-"),
    (check_blob_name, "../escape.vhd"),
    (check_blob_name, "a\nb.vhd"),
    (check_blob_name, "trailing."),
]


@pytest.mark.parametrize(("check", "value"), GOOD)
def test_names_azure_accepts(check, value):
    assert check(value) == value


@pytest.mark.parametrize(("check", "value"), BAD)
def test_names_azure_refuses_are_input_errors(check, value):
    with pytest.raises(InputError) as err:
        check(value)
    assert "\n" not in err.value.one_line()


@pytest.mark.parametrize(
    ("part", "value", "ok"),
    [
        ("publisher", "AlmaLinux", True),
        ("publisher", "p" * 128, True),
        ("publisher", "p" * 129, False),
        ("publisher", "Alma\nLinux", False),
        ("offer", "o" * 64, True),
        ("offer", "o" * 65, False),
        ("sku", "almalinux-9-gen2", True),
        ("sku", "ends.", False),
        ("sku", "with space", False),
    ],
)
def test_image_identifier_parts(part, value, ok):
    if ok:
        assert check_identifier_part(value, part, part) == value
    else:
        with pytest.raises(InputError) as err:
            check_identifier_part(value, part, part)
        assert err.value.name == part
