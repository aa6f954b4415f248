"""The fake Marketplace Catalog through the real boto3 client, as the sandbox runs it.

boto3 reaches it only through AWS_ENDPOINT_URL_MARKETPLACE_CATALOG (the ``catalog``
fixture sets it); its AMI and role checks look into the local AWS (moto), like the real
ingestion looks into the seller's account.
"""

from __future__ import annotations

import copy

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.integration.marketplace_helpers import DEV_PRODUCT, access_role, release

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def client(**config):
    return boto3.client(
        "marketplace-catalog", region_name="us-east-1", config=NO_RETRIES.merge(Config(**config))
    )


def add_version(ami: str, role: str, title: str, instance_type: str = "t3.small") -> dict:
    return {
        "ChangeType": "AddDeliveryOptions",
        "Entity": {"Type": "AmiProduct@1.0", "Identifier": DEV_PRODUCT},
        "DetailsDocument": {
            "Version": {"VersionTitle": title, "ReleaseNotes": f"{title} release."},
            "DeliveryOptions": [
                {
                    "Details": {
                        "AmiDeliveryOptionDetails": {
                            "AmiSource": {
                                "AmiId": ami,
                                "AccessRoleArn": role,
                                "UserName": "ec2-user",
                                "OperatingSystemName": "OTHERLINUX",
                                "OperatingSystemVersion": "9.6",
                                "ScanningPort": 22,
                            },
                            "UsageInstructions": "ssh ec2-user@host",
                            "RecommendedInstanceType": instance_type,
                            "SecurityGroups": [
                                {
                                    "IpProtocol": "tcp",
                                    "FromPort": 22,
                                    "ToPort": 22,
                                    "IpRanges": ["0.0.0.0/0"],
                                }
                            ],
                        }
                    }
                }
            ],
        },
    }


def start(mc, change, **kwargs):
    return mc.start_change_set(Catalog="AWSMarketplace", ChangeSet=[change], **kwargs)


def describe(mc, change_set_id):
    return mc.describe_change_set(Catalog="AWSMarketplace", ChangeSetId=change_set_id)


def code(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = err.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_change_set_prepares_applies_and_adds_the_version(catalog):
    x86, _, role = release(catalog)
    catalog.call("set_timing", preparing_seconds=60, applying_seconds=60)
    mc = client()
    ids = start(mc, add_version(x86, role, "9.6.20250522 x86_64"), ChangeSetName="Release 9.6")
    assert ids["ChangeSetArn"].endswith(f":AWSMarketplace/ChangeSet/{ids['ChangeSetId']}")
    assert describe(mc, ids["ChangeSetId"])["Status"] == "PREPARING"
    catalog.call("advance", seconds=61)
    assert describe(mc, ids["ChangeSetId"])["Status"] == "APPLYING"
    assert "9.6.20250522 x86_64" not in _titles(mc)
    catalog.call("advance", seconds=60)
    done = describe(mc, ids["ChangeSetId"])
    assert done["Status"] == "SUCCEEDED" and done["EndTime"].endswith("Z")
    assert done["ChangeSet"][0]["ErrorDetailList"] == []
    entity = mc.describe_entity(Catalog="AWSMarketplace", EntityId=DEV_PRODUCT)
    assert entity["EntityIdentifier"] == f"{DEV_PRODUCT}@2"  # a new revision
    [new] = [
        v for v in entity["DetailsDocument"]["Versions"] if v["VersionTitle"].startswith("9.6")
    ]
    assert new["Sources"][0]["Image"] == x86 and new["Sources"][0]["Architecture"] == "x86_64"
    option = new["DeliveryOptions"][0]
    assert option["Visibility"] == "Limited"  # like the (dev) product
    assert option["Recommendations"]["SecurityGroups"][0]["CidrIps"] == ["0.0.0.0/0"]


def test_an_open_change_set_locks_the_entity_and_a_token_returns_the_first(catalog):
    x86, arm, role = release(catalog)
    catalog.call("set_timing", preparing_seconds=60, applying_seconds=60)
    mc = client()
    first = start(mc, add_version(x86, role, "a"), ClientRequestToken="tok-1")
    again = start(mc, add_version(x86, role, "a"), ClientRequestToken="tok-1")
    assert again["ChangeSetId"] == first["ChangeSetId"]
    with pytest.raises(ClientError) as err:
        start(mc, add_version(arm, role, "b", "t4g.small"), ClientRequestToken="tok-2")
    assert code(err) == ("ResourceInUseException", 423)
    with pytest.raises(ClientError) as err:
        start(mc, add_version(arm, role, "b", "t4g.small"), ClientRequestToken="tok-1")
    assert code(err) == ("ValidationException", 422)  # same token, another request
    # VALIDATE neither locks nor is locked out
    validating = start(mc, add_version(arm, role, "b", "t4g.small"), Intent="VALIDATE")
    catalog.call("advance", seconds=61)
    assert describe(mc, validating["ChangeSetId"])["Status"] == "SUCCEEDED"
    assert "b" not in _titles(mc)
    listed = mc.list_change_sets(
        Catalog="AWSMarketplace",
        FilterList=[
            {"Name": "EntityId", "ValueList": [DEV_PRODUCT]},
            {"Name": "Status", "ValueList": ["PREPARING", "APPLYING"]},
        ],
    )["ChangeSetSummaryList"]
    assert [c["ChangeSetId"] for c in listed] == [first["ChangeSetId"]]
    assert listed[0]["EntityIdList"] == [DEV_PRODUCT]


def test_preparing_finds_every_problem_and_fails_the_set_with_an_error_list(catalog):
    x86, arm, role = release(catalog)
    west = boto3.client("ec2", region_name="us-west-2")
    elsewhere = west.register_image(Name="west", RootDeviceName="/dev/sda1")["ImageId"]
    untrusting = access_role("ec2-only", trusted=False)
    mc = client()
    cases = {
        "ASSET_NOT_FOUND": add_version(elsewhere, role, "x"),
        "DUPLICATE_VERSION_TITLE": add_version(x86, role, "0.1.20240101 x86_64"),
        "INCOMPATIBLE_AMI": add_version(arm, role, "y"),  # arm64 AMI, t3.small
        "RECOMMENDED_INSTANCE_TYPE_NOT_AVAILABLE": add_version(x86, role, "z", "x1e.32xlarge"),
    }
    no_role = add_version(x86, "arn:aws:iam::123456789012:role/missing", "w")
    not_trusted = add_version(x86, untrusting, "v")
    results = {}
    for expected, change in {**cases, "gone": no_role, "untrusted": not_trusted}.items():
        cid = start(mc, change)["ChangeSetId"]
        catalog.call("advance", seconds=1)
        results[expected] = describe(mc, cid)
    for expected in cases:
        answer = results[expected]
        assert answer["Status"] == "FAILED" and answer["FailureCode"] == "CLIENT_ERROR"
        codes = [e["ErrorCode"] for e in answer["ChangeSet"][0]["ErrorDetailList"]]
        assert expected in codes, (expected, codes)
    for case in ("gone", "untrusted"):
        errors = results[case]["ChangeSet"][0]["ErrorDetailList"]
        assert [e["ErrorCode"] for e in errors] == ["ASSET_ACCESS_EXCEPTION"], case
    several = add_version(x86, "arn:aws:iam::123456789012:role/missing", "0.1.20240101 x86_64")
    catalog.call("add_scan_findings", ami_id=x86, findings=[{"ErrorCode": "SCAN_ERROR",
                 "ErrorMessage": "CVE-2026-0001 in openssl"}])  # fmt: skip
    cid = start(mc, several)["ChangeSetId"]
    catalog.call("advance", seconds=1)
    codes = [e["ErrorCode"] for e in describe(mc, cid)["ChangeSet"][0]["ErrorDetailList"]]
    assert codes == ["DUPLICATE_VERSION_TITLE", "ASSET_ACCESS_EXCEPTION", "SCAN_ERROR"]


def test_the_request_is_validated_like_aws_validates_it(catalog):
    x86, _, role = release(catalog)
    loose = client(parameter_validation=False)  # let the malformed request reach the fake
    change = add_version(x86, role, "x")
    bad = [
        {"Catalog": "AWSMarketplace", "ChangeSet": []},  # botocore model: min 1
        {"Catalog": "AWSMarketplace", "ChangeSet": [{"ChangeType": "AddDeliveryOptions"}]},
        {"Catalog": "AWSMarketplace", "ChangeSet": [change], "ChangeSetName": "bad/name"},
        {"Catalog": "AWSMarketplace", "ChangeSet": [change], "Intent": "MAYBE"},
        {"Catalog": "AWSMarketplace", "ChangeSet": [{**change, "Details": "{}"}]},  # both
    ]
    for params in bad:
        with pytest.raises(ClientError) as err:
            loose.start_change_set(**params)
        assert code(err) == ("ValidationException", 422), params
    missing = copy.deepcopy(change)
    missing["Entity"]["Identifier"] = "prod-doesnotexist"
    with pytest.raises(ClientError) as err:
        start(client(), missing)
    assert code(err) == ("ResourceNotFoundException", 404)
    assert catalog.call("entity", product_id=DEV_PRODUCT)["Versions"][0]["VersionTitle"] != "x"


def test_restricting_keeps_the_last_public_version_and_cancel_only_before_applying(catalog):
    x86, _, role = release(catalog)
    product = "3c74c2ba-21a2-4dc1-a65d-fd0ee7d79900"
    mc = client()
    [only] = catalog.call("entity", product_id=product)["Versions"]
    restrict = {
        "ChangeType": "RestrictDeliveryOptions",
        "Entity": {"Type": "AmiProduct@1.0", "Identifier": product},
        "DetailsDocument": {"DeliveryOptionIds": [only["DeliveryOptions"][0]["Id"]]},
    }
    cid = start(mc, restrict)["ChangeSetId"]
    catalog.call("advance", seconds=2)
    failed = describe(mc, cid)
    assert failed["Status"] == "FAILED"
    assert failed["ChangeSet"][0]["ErrorDetailList"][0]["ErrorCode"] == "INVALID_DELIVERY_OPTIONS"

    catalog.call("set_timing", preparing_seconds=60, applying_seconds=60)
    cid = start(mc, add_version(x86, role, "9.6"))["ChangeSetId"]
    mc.cancel_change_set(Catalog="AWSMarketplace", ChangeSetId=cid)
    assert describe(mc, cid)["Status"] == "CANCELLED"
    cid = start(mc, add_version(x86, role, "9.6"))["ChangeSetId"]
    catalog.call("advance", seconds=61)
    with pytest.raises(ClientError) as err:
        mc.cancel_change_set(Catalog="AWSMarketplace", ChangeSetId=cid)
    assert code(err) == ("ResourceInUseException", 423)


def test_list_change_sets_pages_and_filters_by_name(catalog):
    x86, _, role = release(catalog)
    mc = client()
    for i in range(5):
        start(mc, add_version(x86, role, f"t{i}"), ChangeSetName=f"Release {i % 2}",
              Intent="VALIDATE")  # fmt: skip
    pages = mc.get_paginator("list_change_sets").paginate(
        Catalog="AWSMarketplace", PaginationConfig={"PageSize": 2}
    )
    seen = [c["ChangeSetId"] for page in pages for c in page["ChangeSetSummaryList"]]
    assert len(seen) == len(set(seen)) == 5
    named = mc.list_change_sets(
        Catalog="AWSMarketplace", FilterList=[{"Name": "ChangeSetName", "ValueList": ["Release 1"]}]
    )["ChangeSetSummaryList"]
    assert len(named) == 2
    summaries = mc.list_entities(Catalog="AWSMarketplace", EntityType="AmiProduct")
    assert DEV_PRODUCT in {e["EntityId"] for e in summaries["EntitySummaryList"]}


def _titles(mc) -> list[str]:
    entity = mc.describe_entity(Catalog="AWSMarketplace", EntityId=DEV_PRODUCT)
    return [v["VersionTitle"] for v in entity["DetailsDocument"]["Versions"]]
