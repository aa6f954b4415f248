"""imgpub push: the stratosphere workflow into the fake Marketplace Catalog (pre-push asks
for Intent VALIDATE only), the online and hybrid mapping modes against the fake StArMap,
the plan of a dry run, and bad mappings and credentials (exit 2, with the JSON path)."""

from __future__ import annotations

import json
import subprocess
import sys

from imgpub.sandbox.catalog_entities import sandbox_seed
from tests.integration.build_helpers import ebs_changes
from tests.integration.marketplace_helpers import access_role, versions
from tests.integration.mirror_helpers import mutating_calls
from tests.integration.push_helpers import (
    SECRET_KEY,
    as_base64,
    as_file,
    aws_credentials,
    everything_written,
    mapping_file,
    push,
    staged,
)

PRODUCT = "3c74c2ba-21a2-4dc1-a65d-fd0ee7d79900"
MARKET_SECRET = "push-marketplace-secret-0x5EED"


def change_set_intents(catalog) -> list[str]:
    return [
        (r.body or {}).get("Intent", "APPLY")
        for r in catalog.log.all()
        if r.operation == "StartChangeSet"
    ]


def test_stratosphere_pre_push_validates_then_push_adds_the_version(
    tmp_path, aws_endpoint, catalog
):
    catalog.seed(sandbox_seed())
    creds = aws_credentials(
        "aws-na",
        AWS_MARKETPLACE_ACCESS_ID="AKIAPUSHMARKET00001",
        AWS_MARKETPLACE_SECRET_ACCESS=MARKET_SECRET,
        AWS_ACCESS_ROLE_ARN=access_role(),
    )
    flags = {
        "mapping": str(mapping_file(tmp_path)),
        "offline": "true",
        "workflow": "stratosphere",
        "credentials": as_base64(creds),
    }
    source = str(staged(tmp_path))
    code, doc, log = push(tmp_path, sources=source, pre_push="true", **flags)
    assert code == 0, log
    assert change_set_intents(catalog) == ["VALIDATE"]
    assert "9.6.20250522 x86_64" not in versions(catalog, PRODUCT)
    uploads = len(ebs_changes(aws_endpoint))
    code, doc, log = push(tmp_path, sources=source, **flags)
    assert code == 0, log
    assert change_set_intents(catalog) == ["VALIDATE", "APPLY"]
    assert "9.6.20250522 x86_64" in versions(catalog, PRODUCT)
    assert len(ebs_changes(aws_endpoint)) == uploads  # the pre-push's AMI, not a new one
    written = everything_written(tmp_path) + log
    assert SECRET_KEY not in written and MARKET_SECRET not in written
    (target,) = doc["stages"]["push"]["targets"]
    assert [r["stage"] for r in target["details"]["runs"]] == [
        "build-ami", "marketplace-changeset",
    ]  # fmt: skip


def test_online_asks_starmap_and_hybrid_asks_only_for_what_the_file_lacks(
    tmp_path, aws_endpoint, ec2_control, starmap
):
    creds = as_base64(aws_credentials())
    ec2 = staged(tmp_path)
    azure = staged(tmp_path, name="rhel-azure", image="AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw")
    url = starmap.url
    code, doc, log = push(
        tmp_path, sources=str(ec2), starmap_url=url, credentials=creds,
        workflow="community", dry_run="true",
    )  # fmt: skip
    assert code == 0, log
    assert "mapping: online" in log and "billing-products=bp-6fa54006" in log
    queries = [r.query for r in starmap.log.all() if r.operation == "Query"]
    assert queries == [{"name": "rhel-ec2", "version": "9.6.20250522"}]
    starmap.log.clear()
    azure_creds = {"marketplace_account": "azure-na", "auth": {"AZURE_API_SECRET": "s3cr3t-az"}}
    na = as_base64(aws_credentials("aws-na"))
    code, doc, log = push(
        tmp_path, sources=f"{ec2}\n{azure}", mapping=str(mapping_file(tmp_path, "rhel-azure")),
        starmap_url=url, credentials=f"{creds},{na},{as_base64(azure_creds)}", dry_run="true",
    )  # fmt: skip
    assert code == 0, log
    assert "mapping: hybrid" in log
    queries = [r.query["name"] for r in starmap.log.all() if r.operation == "Query"]
    assert queries == ["rhel-ec2"]  # rhel-azure came from the file
    chains = doc["stages"]["push"]["data"]["chains"]
    assert {(c["entity"], c["workflow"]) for c in chains} == {
        ("rhel-ec2", "community"), ("rhel-ec2", "stratosphere"), ("rhel-azure", "stratosphere"),
    }  # fmt: skip
    assert "s3cr3t-az" not in log + everything_written(tmp_path)
    # A dry run is the plan and nothing else.
    assert mutating_calls(ec2_control.stats()) == {} and ebs_changes(aws_endpoint) == []


def test_starmap_without_a_mapping_fails_that_item(tmp_path, aws_endpoint, starmap):
    other = staged(tmp_path, name="fedora-cloud", image="Fedora-40-20250101.0.x86_64.raw")
    code, doc, log = push(
        tmp_path, sources=str(other), starmap_url=starmap.url,
        credentials=as_base64(aws_credentials()), dry_run="true",
    )  # fmt: skip
    assert code == 0  # a dry run answers with its plan; failed-items names the miss
    assert "StArMap has no mapping for fedora-cloud 40.20250101" in log
    assert doc["stages"]["push"]["outputs"]["failed-items"] == "fedora-cloud-40.20250101-x86_64"


def cli(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "imgpub.cli", "push", "--results", str(tmp_path / "r.json")]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120)


def test_cli_takes_sources_positionally_and_bad_mappings_are_exit_2_with_the_path(
    tmp_path, aws_endpoint, ec2_control
):
    source = str(staged(tmp_path))
    creds = as_file(tmp_path, aws_credentials())
    good = mapping_file(tmp_path)
    done = cli(tmp_path, source, "--mapping", str(good), "--offline", "--credentials", creds,
               "--workflow", "community", "--dry-run")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RHEL-9.6.20250522-x86_64-Hourly2" in done.stdout
    (tmp_path / "r.json").unlink()  # a dry run records its plan; the bad runs below must not
    data = json.loads(good.read_text())
    data[2]["mappings"]["aws-us-storage"]["destinations"][1]["architecture"] = "sparc"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    done = cli(tmp_path, source, "--mapping", str(bad), "--offline", "--credentials", creds)
    assert done.returncode == 2
    assert (
        "$[2].mappings.aws-us-storage.destinations[1].architecture: 'sparc' is not one of"
        in done.stderr
    )
    assert "Traceback" not in done.stderr
    broken = as_base64({"marketplace_account": "aws-us-storage", "auth": {"AWS_KEY": "x"}})
    done = cli(tmp_path, source, "--mapping", str(good), "--offline", "--credentials", broken)
    assert done.returncode == 2 and "credentials[0] $.auth.AWS_KEY: unknown key" in done.stderr
    done = cli(tmp_path, source, "--mapping", str(good), "--credentials", creds, "--skip", "ship")
    assert done.returncode == 2 and "input 'skip': unknown step 'ship'" in done.stderr
    assert mutating_calls(ec2_control.stats()) == {} and ebs_changes(aws_endpoint) == []
    assert not (tmp_path / "r.json").exists()
