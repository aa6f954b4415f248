"""The plan, decided purely from the names and what discovery found."""

from __future__ import annotations

import dataclasses

import pytest

from imgpub.azure.gallery import DefinitionState, VersionSource, VersionState
from imgpub.azure.image_names import parse_image_name
from imgpub.azure.naming import load_naming_rules
from imgpub.errors import InputError
from imgpub.gallery.names import PublishOptions, plan_names
from imgpub.gallery.plan import (
    BlobAction,
    BlobFound,
    DefinitionAction,
    GalleryFound,
    VersionAction,
    build_plan,
)

X86 = "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw"
URL = "https://almalinux.blob.core.windows.net/9-default/almalinux-9.6-x86_64.20250522-00.vhd"
SOURCE = VersionSource(URL)
BOTH = frozenset({"upload", "publish"})


@pytest.fixture(scope="module")
def names():
    rules = load_naming_rules()
    return plan_names(parse_image_name(X86, rules), rules, PublishOptions())


def definitions(gen1="V1", gen2="V2", arch="x64"):
    return {
        "almalinux-9-gen1": DefinitionState("almalinux-9-gen1", gen1, arch, "Succeeded"),
        "almalinux-9-gen2": DefinitionState("almalinux-9-gen2", gen2, arch, "Succeeded"),
    }


def plan_of(names, gallery=None, blob=None, steps=BOTH, create=False):
    return build_plan(
        names,
        blob=blob or BlobFound("missing", URL),
        gallery=gallery,
        source=SOURCE,
        subscription="00000000-0000-0000-0000-00000000f00d",
        steps=steps,
        create_definitions=create,
    )


def test_a_fresh_release_uploads_and_creates_everything(names):
    plan = plan_of(names, GalleryFound("eastus", definitions(), {}))
    assert plan.blob.action is BlobAction.UPLOAD
    assert [d.action for d in plan.definitions] == [DefinitionAction.EXISTS] * 2
    assert [v.action for v in plan.versions] == [VersionAction.CREATE] * 2
    assert plan.blockers() is None and plan.changes == ()


def test_the_gallerys_region_is_added_first_when_missing(names):
    plan = plan_of(names, GalleryFound("westeurope", definitions(), {}))
    for v in plan.versions:
        assert v.target.region_names[0] == "westeurope"
        assert v.target.region_names[1:] == names.versions[0].region_names
    assert plan.names.versions[0].region_names[0] == "westeurope"
    assert "westeurope was added first" in plan.changes[0]


def test_mismatched_and_missing_definitions_block_a_real_run_with_both_values(names):
    swapped = plan_of(names, GalleryFound("eastus", definitions(gen1="V2", gen2="V1"), {}))
    error = swapped.blockers()
    assert error is not None and error.exit_code == 2
    assert "almalinux_ci/almalinux-9-gen1 has hyperVGeneration V2 (the naming rules say V1)" in (
        error.message
    )
    arm = plan_of(names, GalleryFound("eastus", definitions(arch="Arm64"), {}))
    assert "architecture Arm64 (the naming rules say x64)" in arm.blockers().message
    # Azure leaves an unset generation as V1 and an unset architecture as x64.
    unset = {"almalinux-9-gen1": DefinitionState("almalinux-9-gen1", None, None, "Succeeded")}
    unset["almalinux-9-gen2"] = definitions()["almalinux-9-gen2"]
    assert plan_of(names, GalleryFound("eastus", unset, {})).blockers() is None
    missing = plan_of(names, GalleryFound("eastus", {}, {}))
    assert "image definition(s) missing: almalinux_ci/almalinux-9-gen1, almalinux_ci/" in (
        missing.blockers().message
    )
    created = plan_of(names, GalleryFound("eastus", {}, {}), create=True)
    assert created.blockers() is None
    assert [d.action for d in created.definitions] == [DefinitionAction.CREATE] * 2


def test_existing_versions_are_reused_waited_for_or_refused(names):
    gen1, gen2 = names.versions
    versions = {
        gen1.path: VersionState("/v1", "Succeeded", URL + "?sig=x", ("eastus",)),
        gen2.path: VersionState("/v2", "Creating", URL, ("eastus",)),
    }
    plan = plan_of(names, GalleryFound("eastus", definitions(), versions))
    assert [v.action for v in plan.versions] == [VersionAction.EXISTS, VersionAction.WAIT]
    other = {gen1.path: VersionState("/v1", "Succeeded", URL.replace("-00", "-07"), ())}
    refused = plan_of(names, GalleryFound("eastus", definitions(), other))
    assert refused.versions[0].action is VersionAction.REFUSED
    assert "another blob" in refused.versions[0].error


def test_blob_decisions_follow_what_storage_holds_and_the_steps(names):
    gallery = GalleryFound("eastus", definitions(), {})
    assert plan_of(names, gallery, BlobFound("complete", URL)).blob.action is BlobAction.REUSE
    assert plan_of(names, gallery, BlobFound("interrupted", URL)).blob.action is BlobAction.RESUME
    publish_only = plan_of(names, gallery, BlobFound("interrupted", URL), frozenset({"publish"}))
    assert publish_only.blob.action is BlobAction.ABSENT
    assert "is not uploaded (interrupted)" in publish_only.blockers().message
    upload_only = plan_of(names, None, steps=frozenset({"upload"}))
    assert [v.action for v in upload_only.versions] == [VersionAction.HELD] * 2
    assert upload_only.definitions == ()


def test_unchecked_plans_and_duplicates(names):
    plan = build_plan(
        dataclasses.replace(names, versions=names.versions * 2),
        blob=BlobFound("unchecked", URL),
        gallery=None,
        source=SOURCE,
        subscription=None,
        steps=BOTH,
        create_definitions=False,
        unchecked_reason="no credential",
    )
    assert not plan.checked and plan.unchecked_reason == "no credential"
    assert len(plan.versions) == 2, "each version once, never sent twice"
    assert {v.action for v in plan.versions} == {VersionAction.UNCHECKED}
    assert {d.action for d in plan.definitions} == {DefinitionAction.UNCHECKED}
    assert plan.blob.action is BlobAction.UNCHECKED and plan.blockers() is None


def test_generations_keep_only_the_definitions_asked_for():
    rules = load_naming_rules()
    x86 = parse_image_name(X86, rules)
    gen2 = plan_names(x86, rules, PublishOptions(generations=("V2",)))
    assert [t.definition.name for t in gen2.versions] == ["almalinux-9-gen2"]
    both = plan_names(x86, rules, PublishOptions(generations=("V2", "V1")))
    assert {t.definition.name for t in both.versions} == {"almalinux-9-gen1", "almalinux-9-gen2"}
    arm = parse_image_name("AlmaLinux-9-Azure-9.6-20250522.0.aarch64.raw", rules)
    with pytest.raises(InputError) as err:
        plan_names(arm, rules, PublishOptions(generations=("V1",)))
    assert err.value.name == "generations"
    assert "only V2, not V1" in err.value.one_line()
