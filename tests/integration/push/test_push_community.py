"""imgpub push, community workflow, against the local EC2/EBS: the example mapping's
five destinations (four hourly regions, public, and us-east-1-access) from one upload."""

from __future__ import annotations

import json

from tests.integration.build_helpers import ebs_changes
from tests.integration.mirror_helpers import mutating_calls
from tests.integration.push_helpers import (
    ACCESS_ID,
    SECRET_KEY,
    as_base64,
    as_file,
    aws_credentials,
    everything_written,
    images_named,
    is_public,
    mapping_file,
    push,
    staged,
)

HOURLY = "RHEL-9.6.20250522-x86_64-Hourly2"
ACCESS = "RHEL-9.6.20250522-x86_64-Access2"
REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1")


def community(tmp_path, creds, **flags):
    return push(
        tmp_path,
        sources=str(staged(tmp_path)) if "sources" not in flags else flags.pop("sources"),
        mapping=str(mapping_file(tmp_path)),
        offline="true",
        workflow="community",
        credentials=creds,
        **flags,
    )


def test_community_push_imports_once_and_publishes_to_four_regions_with_billing(
    tmp_path, aws_endpoint, ec2_control
):
    code, doc, log = community(tmp_path, as_file(tmp_path, aws_credentials()))
    assert code == 0, log
    ebs = ebs_changes(aws_endpoint)
    assert ebs.count("StartSnapshot") == 1 and ebs.count("CompleteSnapshot") == 1
    calls = mutating_calls(ec2_control.stats())
    assert calls.get(("RegisterImage", "us-east-1")) == 2  # hourly and access, one snapshot
    assert sum(n for (op, _), n in calls.items() if op == "CopyImage") == 3
    (source,) = images_named("us-east-1", HOURLY)
    assert ec2_control.registration(source["ImageId"])["BillingProducts"] == ["bp-6fa54006"]
    for region in REGIONS:
        (image,) = images_named(region, HOURLY)
        assert is_public(region, image["ImageId"]), region
        tags = {t["Key"]: t["Value"] for t in image.get("Tags", [])}
        assert tags["billing_type"] == "Hourly2" and tags["Team"] == "release"
    (access,) = images_named("us-east-1", ACCESS)
    assert ec2_control.registration(access["ImageId"])["BillingProducts"] == ["bp-63a5400a"]
    assert not is_public("us-east-1", access["ImageId"])
    assert images_named("eu-west-1", ACCESS) == []
    rows = json.loads(doc["stages"]["push"]["outputs"]["destinations"])
    assert sorted(r["destination"] for r in rows) == sorted(
        [f"{r}-hourly" for r in REGIONS] + ["us-east-1-access"]
    )
    assert {r["state"] for r in rows} == {"created"}
    assert doc["stages"]["push"]["outputs"]["failed-items"] == ""
    # The keys were used (moto accepted them) and appear nowhere.
    written = everything_written(tmp_path) + log
    assert SECRET_KEY not in written and ACCESS_ID not in written


def test_a_rerun_changes_nothing(tmp_path, aws_endpoint, ec2_control):
    creds = as_base64(aws_credentials())
    code, _, log = community(tmp_path, creds)
    assert code == 0, log
    ec2_control.reset_stats()
    before = len(ebs_changes(aws_endpoint))
    sources = str(tmp_path / "staged-rhel-ec2")
    code, doc, log = community(tmp_path, creds, sources=sources)
    assert code == 0, log
    assert mutating_calls(ec2_control.stats()) == {}
    assert len(ebs_changes(aws_endpoint)) == before
    rows = json.loads(doc["stages"]["push"]["outputs"]["destinations"])
    assert {r["state"] for r in rows} == {"existed"}


def test_pre_push_then_full_push_reuses_everything(tmp_path, aws_endpoint, ec2_control):
    creds = as_base64(aws_credentials())
    code, _, log = community(tmp_path, creds, pre_push="true")
    assert code == 0, log
    assert "public share left out (pre-push)" in log
    (hourly,) = images_named("us-west-2", HOURLY)
    assert not is_public("us-west-2", hourly["ImageId"])  # copied, not released
    uploads = ebs_changes(aws_endpoint).count("PutSnapshotBlock")
    assert uploads > 0
    ec2_control.reset_stats()
    code, _, log = community(tmp_path, creds, sources=str(tmp_path / "staged-rhel-ec2"))
    assert code == 0, log
    calls = mutating_calls(ec2_control.stats())
    assert not [k for k in calls if k[0] in ("CopyImage", "RegisterImage", "ImportSnapshot")]
    ebs = ebs_changes(aws_endpoint)
    assert ebs.count("PutSnapshotBlock") == uploads and ebs.count("StartSnapshot") == 1
    for region in REGIONS:
        (image,) = images_named(region, HOURLY)
        assert is_public(region, image["ImageId"]), region


def test_skip_copy_and_publish_really_skip(tmp_path, aws_endpoint, ec2_control):
    creds = as_base64(aws_credentials())
    code, doc, log = community(tmp_path, creds, skip="copy, publish")
    assert code == 0, log
    calls = mutating_calls(ec2_control.stats())
    assert not [k for k in calls if k[0] == "CopyImage"]
    (hourly,) = images_named("us-east-1", HOURLY)
    assert not is_public("us-east-1", hourly["ImageId"])
    assert "mirror-ami: skipped (skip: copy)" in log
    chains = doc["stages"]["push"]["targets"]
    runs = [r for t in chains for r in t["details"]["runs"]]
    assert {(r["stage"], r["state"]) for r in runs} == {
        ("build-ami", "success"), ("mirror-ami", "skipped"),
    }  # fmt: skip


def test_skip_upload_pushes_an_ami_from_a_results_document(tmp_path, aws_endpoint, ec2_control):
    creds = as_base64(aws_credentials())
    code, _, log = community(tmp_path, creds, skip="copy")
    assert code == 0, log
    built = tmp_path / "built"
    built.mkdir()
    chain_doc = built / "results.json"  # build-ami's results document, as a later job gets it
    chain_doc.write_text(next((tmp_path / "r.push").glob("*hourly2-public.json")).read_text())
    (built / "metadata.yaml").write_text("name: rhel-ec2\n")
    uploads = len(ebs_changes(aws_endpoint))
    ec2_control.reset_stats()
    code, _, log = community(tmp_path, creds, sources=str(chain_doc), skip="upload")
    assert code == 0, log
    assert len(ebs_changes(aws_endpoint)) == uploads  # nothing uploaded
    calls = mutating_calls(ec2_control.stats())
    assert not [k for k in calls if k[0] == "RegisterImage"]
    assert sum(n for (op, _), n in calls.items() if op == "CopyImage") == 3
    assert "build-ami: skipped (skip: upload)" in log
    assert "is pushed as built: its billing products stay what it was registered with" in log


def test_offline_without_a_match_fails_that_item_only(tmp_path, aws_endpoint):
    other = staged(tmp_path, name="fedora-cloud", image="Fedora-40-20250101.0.x86_64.raw")
    sources = f"{staged(tmp_path)}\n{other}"
    code, doc, log = community(tmp_path, as_base64(aws_credentials()), sources=sources, skip="copy")
    assert code == 3, log  # partial: rhel-ec2 pushed, fedora-cloud not mapped
    section = doc["stages"]["push"]
    assert section["outputs"]["failed-items"] == "fedora-cloud-40.20250101-x86_64"
    failed = [t for t in section["targets"] if t["state"] == "failed"]
    assert len(failed) == 1 and "no mapping named 'fedora-cloud'" in failed[0]["error"]
    assert {t["state"] for t in section["targets"]} == {"failed", "created"}


def test_an_account_without_credentials_is_exit_2_naming_it_before_any_change(
    tmp_path, aws_endpoint, ec2_control
):
    code, doc, log = community(tmp_path, as_base64(aws_credentials(alias="aws-na")))
    assert code == 2, log
    assert "no credentials for account 'aws-us-storage'" in log
    assert mutating_calls(ec2_control.stats()) == {} and ebs_changes(aws_endpoint) == []
    assert doc == {}
