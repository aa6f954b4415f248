"""The pure half of azure-gallery: names, request bodies, classification of existing versions."""

from __future__ import annotations

import datetime as dt

import pytest

from imgpub.azure.gallery import (
    VersionSource,
    VersionState,
    definition_body,
    same_source,
    storage_account_id,
    version_body,
)
from imgpub.azure.image_names import parse_image_name
from imgpub.azure.naming import load_naming_rules
from imgpub.errors import InputError
from imgpub.gallery.names import DEFAULT_REGIONS, PublishOptions, plan_names
from imgpub.gallery.plan import GalleryFound, VersionAction, build_plan, classify


@pytest.fixture(scope="module")
def rules():
    return load_naming_rules()


def plan(rules, filename, **options):
    return plan_names(parse_image_name(filename, rules), rules, PublishOptions(**options))


def test_x86_plan_is_gen1_and_gen2_in_the_ci_gallery(rules):
    p = plan(rules, "AlmaLinux-9-Azure-9.6-20250522.1.x86_64.raw.xz", replica_count=2)
    assert (p.gallery, p.public, p.resource_group) == ("almalinux_ci", False, "rg-alma-images")
    assert (p.storage_account, p.container) == ("almalinux", "9-default")
    assert p.blob_name == "almalinux-9.6-x86_64.20250522-01.vhd"
    assert [t.path for t in p.versions] == [
        "almalinux_ci/almalinux-9-gen1/9.6.2025052201",
        "almalinux_ci/almalinux-9-gen2/9.6.2025052201",
    ]
    for t in p.versions:
        assert [(r.name, r.replicas, r.storage_account_type) for r in t.regions] == [
            (name, 2, "Standard_LRS") for name in DEFAULT_REGIONS
        ]
    lines = p.lines()
    assert lines[1] == "blob: almalinux/9-default/almalinux-9.6-x86_64.20250522-01.vhd"
    assert any("almalinux-9-gen1/9.6.2025052201 (V1, x64)" in line for line in lines)
    assert "eastus x2" in lines[2]


def test_public_routing(rules):
    nine = plan(rules, "AlmaLinux-9-Azure-9.6-20250522.1.aarch64.raw", public=True)
    assert (nine.gallery, nine.public, nine.notes) == ("almalinux", True, ())
    for filename in (
        "AlmaLinux-10-Azure-10.1-20251215.0.x86_64.raw",
        "AlmaLinux-Kitten-Azure-10-20250904.0.x86_64.raw",
        "AlmaLinux-9-Azure-9.6-20250522.1-64k.aarch64.raw",
    ):
        p = plan(rules, filename, public=True)
        assert (p.gallery, p.public) == ("almalinux_ci", False), filename
        assert "do not allow the public gallery" in p.notes[0]


def test_options_override_names(rules):
    p = plan(
        rules,
        "AlmaLinux-9-Azure-9.6-20250522.1.x86_64.raw",
        public=True,
        public_gallery="other.public",
        resource_group="rg-x",
        storage_account="sa1",
        container="c1",
        index=4,
        regions=("westeurope", "westeurope"),
        publisher="Me",
        security_type="TrustedLaunch",
        exclude_from_latest=True,
    )
    assert (p.gallery, p.resource_group, p.storage_account, p.container) == (
        "other.public",
        "rg-x",
        "sa1",
        "c1",
    )
    assert p.versions[0].version == "9.6.2025052204"
    assert [r.name for r in p.versions[0].regions] == ["westeurope"]  # deduplicated
    gen1, gen2 = (t.definition for t in p.versions)
    assert (gen1.publisher, gen1.security_type) == ("Me", None)  # TL never on Gen1
    assert (gen2.publisher, gen2.security_type) == ("Me", "TrustedLaunch")
    assert all(t.exclude_from_latest for t in p.versions)


@pytest.mark.parametrize(
    ("options", "input_name"),
    [
        ({"replica_count": 0}, "replica-count"),
        ({"replica_count": 101}, "replica-count"),
        ({"storage_account_type": "Standard_GRS"}, "storage-account-type"),
        ({"regions": ()}, "target-regions"),
        ({"gallery": "my-gallery"}, "gallery"),
        ({"public_gallery": "pub-lic"}, "public-gallery"),
        ({"end_of_life_date": dt.date(2000, 1, 1)}, "end-of-life-date"),
    ],
)
def test_bad_options(rules, options, input_name):
    with pytest.raises(InputError) as err:
        plan(rules, "AlmaLinux-9-Azure-9.6-20250522.1.x86_64.raw", **options)
    assert err.value.name == input_name


def test_version_body_is_the_rest_shape(rules):
    p = plan(
        rules,
        "AlmaLinux-10-Azure-10.1-20251215.0.aarch64.raw",
        regions=("eastus", "westus2"),
        replica_count=3,
        storage_account_type="Standard_ZRS",
        exclude_from_latest=True,
        end_of_life_date=dt.date(2099, 1, 2),
    )
    sa = storage_account_id("sub", "rg-alma-images", "almalinux")
    body = version_body(p.versions[0], VersionSource("https://a/b.vhd", sa), "eastus")
    assert body == {
        "location": "eastus",
        "properties": {
            "publishingProfile": {
                "targetRegions": [
                    {
                        "name": name,
                        "regionalReplicaCount": 3,
                        "storageAccountType": "Standard_ZRS",
                        "excludeFromLatest": True,
                    }
                    for name in ("eastus", "westus2")
                ],
                "replicaCount": 3,
                "excludeFromLatest": True,
                "storageAccountType": "Standard_ZRS",
                "endOfLifeDate": "2099-01-02T00:00:00Z",
            },
            "storageProfile": {
                "osDiskImage": {
                    "hostCaching": "ReadOnly",
                    "source": {
                        "uri": "https://a/b.vhd",
                        "storageAccountId": "/subscriptions/sub/resourceGroups/rg-alma-images"
                        "/providers/Microsoft.Storage/storageAccounts/almalinux",
                    },
                }
            },
        },
    }


def test_definition_body(rules):
    gen1, gen2 = plan(rules, "AlmaLinux-10-Azure-10.1-20251215.0.x86_64.raw").versions
    b1 = definition_body(gen1.definition, "eastus")["properties"]
    b2 = definition_body(gen2.definition, "eastus")["properties"]
    assert (b1["hyperVGeneration"], b1["architecture"], "features" in b1) == ("V1", "x64", False)
    assert b2["features"] == [{"name": "SecurityType", "value": "TrustedLaunchSupported"}]
    assert b2["identifier"] == {
        "publisher": "AlmaLinux",
        "offer": "AlmaLinux",
        "sku": "almalinux-10-gen2",
    }
    assert (b1["osType"], b1["osState"]) == ("Linux", "Generalized")


def test_same_source_ignores_sas_and_host_case():
    assert same_source(
        "https://SA.blob.core.windows.net/c/x.vhd?sig=1", "https://sa.blob.core.windows.net/c/x.vhd"
    )
    assert not same_source(
        "https://sa.blob.core.windows.net/c/x.vhd", "https://sa.blob.core.windows.net/c/y.vhd"
    )
    assert not same_source(None, "https://sa/c/x.vhd")


def test_classify_existing_versions(rules):
    names = plan(rules, "AlmaLinux-9-Azure-9.6-20250522.1.aarch64.raw")
    target = names.versions[0]
    src = VersionSource("https://sa.blob.core.windows.net/c/x.vhd")
    nothing = GalleryFound("eastus", {}, {})
    fresh = build_plan(
        names, blob=None, gallery=nothing, source=src, subscription=None,
        steps=frozenset({"publish"}), create_definitions=True,
    )  # fmt: skip
    assert fresh.versions[0].action is VersionAction.CREATE  # no version yet: create it

    def state(provisioning, uri="https://sa.blob.core.windows.net/c/x.vhd"):
        return VersionState("/id", provisioning, uri, ("eastus",))

    assert classify(target, state("Succeeded"), src) == (VersionAction.EXISTS, None, None)

    action, error, remedy = classify(
        target, state("Succeeded", "https://sa.blob.core.windows.net/c/z.vhd"), src
    )
    assert action is VersionAction.REFUSED and "c/z.vhd" in error and "next index" in remedy

    action, error, remedy = classify(target, state("Failed"), src)
    assert action is VersionAction.REFUSED and "Failed" in error
    assert "az sig image-version delete -g rg-alma-images -r almalinux_ci" in remedy

    # Busy: waited for (another run is creating it); any other state: refused until it ends.
    assert classify(target, state("Creating"), src)[0] is VersionAction.WAIT
    action, error, remedy = classify(target, state("Deleting"), src)
    assert action is VersionAction.REFUSED and "Deleting" in error and "wait" in remedy


def test_duplicate_definitions_are_planned_once(tmp_path):
    """The anchor sent 10.x's create twice into one definition; the plan holds it once."""
    path = tmp_path / "n.yml"
    path.write_text(
        "releases:\n"
        "  - key: '10'\n"
        "    match: {major: 10}\n"
        "    container: almalinux-10\n"
        "    blob: 'x-{index}.vhd'\n"
        "    gallery_version: '{major}.{minor}.{date}{index}'\n"
        "    images:\n"
        "      default:\n"
        "        definitions:\n"
        "          - {name: almalinux-10, generation: V2}\n"
        "          - {name: ALMALINUX-10, generation: V2}\n"
    )
    custom = load_naming_rules(path)
    p = plan(custom, "AlmaLinux-10-Azure-10.1-20251215.0.x86_64.raw")
    assert [t.definition.name for t in p.versions] == ["almalinux-10"]
