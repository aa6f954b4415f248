"""The example mappings resolve to the expected plan; meta precedence; schema errors by path."""

from __future__ import annotations

import copy
import json

import pytest

from imgpub.errors import InputError
from imgpub.push.billing import billing_for, community_target
from imgpub.push.examples import example_mappings
from imgpub.push.mapping import load_mapping_text, parse_entities
from imgpub.push.meta import merge_meta, render_text
from imgpub.push.model import PushItem
from imgpub.push.skip import SKIPS, parse_skip
from imgpub.push.workflows import PushOptions, plan_entity

ITEM = PushItem("rhel-ec2", "9.6.20250522", "x86_64", "staged", image="staged/rhel.raw")


def entities(name: str, workflow: str | None = None):
    found = parse_entities(example_mappings(), origin="examples")
    return [e for e in found if e.name == name and workflow in (None, e.workflow)]


def plan(item: PushItem, name: str, workflow: str, **opts):
    (entity,) = entities(name, workflow)
    return plan_entity(item, entity, PushOptions(**opts), {"aws-us-storage": "us-east-1"})


def test_community_entry_plans_one_build_per_billing_type_and_four_hourly_regions():
    hourly, access = plan(ITEM, "rhel-ec2", "community")
    assert hourly.destinations == (
        "us-east-1-hourly", "us-east-2-hourly", "us-west-2-hourly", "eu-west-1-hourly",
    )  # fmt: skip
    build, mirror = hourly.runs
    assert build.stage == "build-ami" and not build.skipped
    assert build.flags["ami-name"] == "RHEL-9.6.20250522-x86_64-Hourly2"
    assert build.flags["billing-products"] == "bp-6fa54006"
    assert build.flags["region"] == "us-east-1"
    assert build.flags["tags"].splitlines() == ["Team=release", "billing_type=Hourly2"]
    assert mirror.stage == "mirror-ami"
    assert mirror.flags["regions"] == "eu-west-1,us-east-2,us-west-2"
    assert mirror.flags["make-public"] == "true"
    assert mirror.flags["source-ami"] == ""  # the chain's build-ami, from its document
    assert access.destinations == ("us-east-1-access",)
    assert access.runs[0].flags["billing-products"] == "bp-63a5400a"
    assert access.runs[0].flags["ami-name"].endswith("-Access2")
    assert access.runs[1].flags["make-public"] == "false"  # destination meta wins


def test_community_beta_takes_the_beta_billing_rule():
    beta = PushItem(**{**ITEM.__dict__, "release_type": "beta"})
    hourly, _ = plan(beta, "rhel-ec2", "community")
    assert hourly.runs[0].flags["billing-products"] == "bp-6fa54009"
    assert hourly.runs[0].flags["ami-name"].endswith("-Hourly2-Beta")


def test_stratosphere_entry_meta_precedence_and_marketplace_inputs():
    (chain,) = plan(ITEM, "rhel-ec2", "stratosphere")
    build, add = chain.runs
    assert build.flags["region"] == "us-east-1"
    assert add.stage == "marketplace-changeset"
    assert add.flags["product-id"] == "3c74c2ba-21a2-4dc1-a65d-fd0ee7d79900"
    # entity t3.large < mapping m6i.large < destination m7i.large
    assert add.flags["instance-type"] == "m7i.large"
    # entity cloud-user < mapping ec2-user (the destination says nothing)
    assert add.flags["user-name"] == "ec2-user"
    assert add.flags["security-groups"] == "tcp 22 0.0.0.0/0"
    assert add.flags["version-title"] == "9.6.20250522 x86_64"
    assert add.flags["release-notes"] == (
        "Red Hat Enterprise Linux 9.6: see https://example.invalid/rhel/9/9.6"
    )
    assert add.flags["keep-versions"] == "2" and add.flags["dry-run"] == "false"


def test_stratosphere_pre_push_validates_only():
    (chain,) = plan(ITEM, "rhel-ec2", "stratosphere", pre_push=True)
    assert chain.runs[1].flags["dry-run"] == "true"
    assert any("VALIDATE" in n for n in chain.notes)


def test_architecture_filter_picks_the_arm_product():
    arm = PushItem("rhel-ec2", "9.6.20250522", "aarch64", "staged", image="x.raw")
    (chain,) = plan(arm, "rhel-ec2", "stratosphere")
    assert chain.destinations == ("2d219cc1-aa44-4a1e-b6fe-258d4ebd3cdb",)
    assert chain.runs[0].flags["architecture"] == "arm64"
    assert chain.runs[1].flags["instance-type"] == "m7g.large"


def test_azure_entry_goes_to_the_gallery_with_merged_meta():
    item = PushItem("rhel-azure", "9.6.20250522", "x86_64", "s", image="a.raw")
    (chain,) = plan(item, "rhel-azure", "stratosphere", container_prefix="rhel")
    (run,) = chain.runs
    assert run.stage == "azure-gallery"
    assert run.flags["offer"] == "rhel-byos"
    assert run.flags["steps"] == "upload,publish"
    assert run.flags["container"] == "rhel-9"
    assert run.flags["target-regions"] == "eastus,westeurope"  # from the mapping's meta
    assert chain.meta["generation"] == "V2"  # mapping V2 over the entity's V1
    assert run.flags["generations"] == "V2"  # only the Gen2 definition is published
    assert chain.meta["release_notes"] == "RHEL {major_minor} BYOS, generation 2"
    assert any("Partner Center" in n for n in chain.notes)
    (pre,) = plan(item, "rhel-azure", "stratosphere", pre_push=True)
    assert pre.runs[0].flags["steps"] == "upload"


def test_meta_precedence_and_placeholders():
    assert merge_meta({"a": 1, "b": 1, "c": 1}, {"b": 2, "c": 2}, {"c": 3, "a": None}) == {
        "a": 1, "b": 2, "c": 3,
    }  # fmt: skip
    item = PushItem("x", "10.1.20251120", "x86_64", "s")
    assert render_text("{major_version}|{minor_version}|{major_minor}|{other}", item) == (
        "10|1|10.1|{other}"
    )


@pytest.mark.parametrize(
    ("change", "path", "says"),
    [
        (lambda d: d[1]["mappings"]["aws-na"]["destinations"][1].update(architecture="ppc"),
         "$[1].mappings.aws-na.destinations[1].architecture", "'ppc' is not one of"),
        (lambda d: d[0].update(cloud="gcp"), "$[0].cloud", "'gcp' is not one of aws, azure"),
        (lambda d: d[2].pop("workflow"), "$[2]", "workflow is a required property"),
        (lambda d: d[2]["billing-code-config"]["rhel-access"].update(codes=["bad code"]),
         "$[2].billing-code-config.rhel-access.codes[0]", "does not match"),
        (lambda d: d[1]["mappings"]["aws-na"]["destinations"][0].update(restrict_version=-1),
         "$[1].mappings.aws-na.destinations[0].restrict_version", "minimum"),
    ],
)  # fmt: skip
def test_bad_mapping_names_the_json_path(change, path, says):
    data = copy.deepcopy(example_mappings())
    change(data)
    with pytest.raises(InputError) as err:
        parse_entities(data, origin="m.json")
    assert err.value.name == "mapping"
    assert f"m.json {path}:" in err.value.message and says in err.value.message


def test_mapping_text_is_json_or_yaml_and_one_entity_alone_is_a_list():
    one = example_mappings()[0]
    assert load_mapping_text(json.dumps(one), origin="x") == [one]
    with pytest.raises(InputError, match="not valid JSON or YAML"):
        load_mapping_text("[{", origin="x")


def test_a_bad_community_destination_is_found_when_the_mapping_is_read():
    data = copy.deepcopy(example_mappings())
    data[2]["mappings"]["aws-us-storage"]["destinations"][3]["destination"] = "eu-west-1"
    with pytest.raises(InputError) as err:
        parse_entities(data, origin="m.json")
    assert (
        "m.json $[2].mappings.aws-us-storage.destinations[3].destination: community "
        "destination 'eu-west-1' is not <region>-<type>" in err.value.message
    )


def test_community_destination_must_be_region_and_type():
    assert community_target("us-east-1-access", "w").region == "us-east-1"
    with pytest.raises(InputError, match="not <region>-<type>"):
        community_target("us-east-1", "w")
    with pytest.raises(InputError, match="not <region>-<type>"):
        community_target("us-east-1-spot", "w")


def test_billing_rules_match_on_image_name_and_type_else_default_suffix():
    (entity,) = entities("rhel-ec2", "community")
    other = PushItem("fedora", "40.1", "x86_64", "s")
    assert billing_for(entity.billing, ITEM, "access").codes == ("bp-63a5400a",)
    default = billing_for(entity.billing, other, "hourly")
    assert default.codes == () and default.suffix == "Hourly2" and default.rule == ""


def test_skip_names_are_known_or_exit_2():
    assert parse_skip(["upload", "publish"]) == {"upload", "publish"}
    with pytest.raises(InputError) as err:
        parse_skip(["uplaod"])
    assert err.value.name == "skip" and "'uplaod'" in err.value.message
    assert set(SKIPS) >= {"upload", "import", "share", "publish", "marketplace"}


@pytest.mark.parametrize("name", sorted(SKIPS))
def test_each_skip_changes_exactly_what_it_names(name):
    before = plan(ITEM, "rhel-ec2", "community") + plan(ITEM, "rhel-ec2", "stratosphere")
    after = plan(ITEM, "rhel-ec2", "community", skip=frozenset({name})) + plan(
        ITEM, "rhel-ec2", "stratosphere", skip=frozenset({name})
    )
    changed = set()
    for old, new in zip(before, after, strict=True):
        for a, b in zip(old.runs, new.runs, strict=True):
            if a.skipped != b.skipped:
                changed.add((b.stage, "skipped"))
            for key in a.flags:
                if a.flags[key] != b.flags[key]:
                    changed.add((b.stage, key))
    expected = {
        "upload": {("build-ami", "skipped"), ("mirror-ami", "skipped"),
                   ("marketplace-changeset", "skipped")},
        "import": {("build-ami", "skipped"), ("mirror-ami", "skipped"),
                   ("marketplace-changeset", "skipped")},
        "copy": {("mirror-ami", "skipped")},
        "share": set(),  # the examples share with no account; see the credentials test
        "publish": {("mirror-ami", "make-public")},
        "marketplace": {("marketplace-changeset", "skipped")},
    }[name]  # fmt: skip
    assert changed == expected


def test_skip_share_drops_the_mapping_accounts():
    data = copy.deepcopy(example_mappings())
    data[2]["meta"]["sharing_accounts"] = ["111122223333"]
    entity = parse_entities(data, origin="x")[2]
    (shared, _) = plan_entity(ITEM, entity, PushOptions(), {})
    (unshared, _) = plan_entity(ITEM, entity, PushOptions(skip=frozenset({"share"})), {})
    assert shared.runs[0].flags["share-accounts"] == "111122223333"
    assert shared.runs[1].flags["share-accounts"] == "111122223333"
    assert unshared.runs[0].flags["share-accounts"] == ""
    assert unshared.runs[1].flags["share-accounts"] == ""
