"""The AWS JSON fake base, driven by real boto3 clients through the standard endpoint variables.

boto3 finds each fake only through ``AWS_ENDPOINT_URL_<SERVICE>`` (never an endpoint_url
argument), exactly as imgpub's clients will. The tiny fakes are in tests/fakes/aws_tiny.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from imgpub.sandbox.aws_json import AwsJsonFake, action
from tests.fakes.aws_tiny import TinyCatalog, TinyLicenseManager

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
CHANGE = {
    "ChangeType": "AddDeliveryOptions",
    "Entity": {"Type": "AmiProduct@1.0", "Identifier": "prod-1"},
    "DetailsDocument": {"Version": {"VersionTitle": "9.6"}},
}
UNVALIDATED = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, parameter_validation=False
)


@pytest.fixture
def license_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[TinyLicenseManager]:
    with TinyLicenseManager() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LICENSE_MANAGER", fake.url)
        yield fake


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch) -> Iterator[TinyCatalog]:
    with TinyCatalog() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_MARKETPLACE_CATALOG", fake.url)
        yield fake


def client(service: str, config: Config = NO_RETRIES) -> Any:
    return boto3.client(service, region_name="us-east-1", config=config)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# -- JSON 1.1 (License Manager) ---------------------------------------------------------------


def test_json11_actions_get_the_callers_params_and_answer_boto3(
    license_manager: TinyLicenseManager,
) -> None:
    lm = client("license-manager")
    arn = lm.create_license_configuration(
        Name="AlmaLinux", LicenseCountingType="vCPU", LicenseCount=8, LicenseCountHardLimit=False
    )["LicenseConfigurationArn"]
    got = lm.get_license_configuration(LicenseConfigurationArn=arn)
    assert (got["Name"], got["LicenseCountingType"], got["LicenseCount"]) == (
        "AlmaLinux",
        "vCPU",
        8,
    )
    [create, get] = license_manager.log.all()
    assert create.operation == "CreateLicenseConfiguration" and create.status == 200
    assert create.headers["X-Amz-Target"] == "AWSLicenseManager.CreateLicenseConfiguration"
    assert create.authorization  # signed by boto3; only whether, never the value, is kept
    assert create.body["LicenseCount"] == 8 and get.operation == "GetLicenseConfiguration"


def test_an_aws_error_is_the_clienterror_code(license_manager: TinyLicenseManager) -> None:
    with pytest.raises(ClientError) as err:
        client("license-manager").get_license_configuration(LicenseConfigurationArn="arn:nope")
    assert error_code(err) == "InvalidParameterValueException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "No such license configuration" in str(err.value)


def test_a_malformed_request_is_refused_by_the_model_and_changes_nothing(
    license_manager: TinyLicenseManager,
) -> None:
    lm = client("license-manager", UNVALIDATED)  # so the bad request leaves the client
    with pytest.raises(ClientError) as err:
        lm.create_license_configuration(LicenseCountingType="vCPU", LicenseCount="eight")
    assert error_code(err) == "InvalidParameterValueException"  # the fake's VALIDATION_ERROR
    message = err.value.response["Error"]["Message"]
    assert 'Missing required parameter in input: "Name"' in message
    assert "LicenseCount" in message
    assert license_manager.configurations == {}
    [seen] = license_manager.log.all()
    assert (seen.operation, seen.status) == ("CreateLicenseConfiguration", 400)


def test_unknown_and_unimplemented_actions(
    license_manager: TinyLicenseManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ClientError) as err:
        client("license-manager").list_license_configurations()  # modelled, not faked
    assert error_code(err) == "NotImplemented"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", license_manager.url)  # another JSON 1.1 service
    with pytest.raises(ClientError) as err:
        client("ssm").describe_parameters()
    assert error_code(err) == "UnknownOperationException"
    assert [r.operation for r in license_manager.log.all()] == ["ListLicenseConfigurations", None]


def test_a_throttling_fault_is_retried_by_boto3_then_succeeds(
    license_manager: TinyLicenseManager,
) -> None:
    license_manager.faults.fail("CreateLicenseConfiguration", status=429, times=1)
    lm = client("license-manager", Config(retries={"mode": "standard", "total_max_attempts": 2}))
    lm.create_license_configuration(Name="x", LicenseCountingType="Core")
    calls = license_manager.log.matching("CreateLicenseConfiguration")
    assert [c.status for c in calls] == [429, 200]
    assert len(license_manager.configurations) == 1, "the throttled attempt created nothing"
    license_manager.faults.fail(
        "GetLicenseConfiguration", status=500, code="ServerInternalException"
    )
    with pytest.raises(ClientError) as err:
        client("license-manager").get_license_configuration(LicenseConfigurationArn="a")
    assert error_code(err) == "ServerInternalException"


def test_a_fake_cannot_declare_an_action_its_service_lacks() -> None:
    with pytest.raises(
        TypeError, match=r"license-manager has no actions \['CreateLicense Configuration'\]"
    ):

        class Typo(AwsJsonFake):
            SERVICE = "license-manager"

            @action("CreateLicense Configuration")
            def create(self, params: dict[str, Any]) -> dict[str, Any]:
                return {}

    with pytest.raises(TypeError, match="speaks ec2, not JSON"):

        class NotJson(AwsJsonFake):
            SERVICE = "ec2"


# -- REST-JSON (Marketplace Catalog) ----------------------------------------------------------


def test_rest_json_routes_by_the_model_and_reads_query_and_body(catalog: TinyCatalog) -> None:
    catalog.entities["prod-1"] = {"EntityIdentifier": "prod-1@1", "EntityType": "AmiProduct@1.0"}
    mc = client("marketplace-catalog")
    described = mc.describe_entity(Catalog="AWSMarketplace", EntityId="prod-1")
    assert described["EntityIdentifier"] == "prod-1@1"
    started = mc.start_change_set(
        Catalog="AWSMarketplace",
        ChangeSet=[CHANGE],
        ClientRequestToken="token-1",
    )
    assert started["ChangeSetId"] == "cs-0000000000001"
    [change_set] = catalog.change_sets
    assert change_set["ClientRequestToken"] == "token-1"
    assert change_set["ChangeSet"][0]["DetailsDocument"] == {"Version": {"VersionTitle": "9.6"}}
    describe, start = catalog.log.all()
    assert (describe.method, describe.path, describe.operation) == (
        "GET",
        "/DescribeEntity",
        "DescribeEntity",
    )
    assert describe.query == {"catalog": "AWSMarketplace", "entityId": "prod-1"}
    assert (start.method, start.operation) == ("POST", "StartChangeSet")


def test_rest_json_errors_and_validation(catalog: TinyCatalog) -> None:
    with pytest.raises(ClientError) as err:
        client("marketplace-catalog").describe_entity(Catalog="AWSMarketplace", EntityId="nope")
    assert error_code(err) == "ResourceNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as err:
        client("marketplace-catalog", UNVALIDATED).start_change_set(Catalog="AWSMarketplace")
    assert error_code(err) == "ValidationException"
    assert 'Missing required parameter in input: "ChangeSet"' in str(err.value)
    assert catalog.change_sets == []
    catalog.faults.fail("StartChangeSet", status=429, times=2)
    with pytest.raises(ClientError) as err:
        client("marketplace-catalog").start_change_set(Catalog="AWSMarketplace", ChangeSet=[CHANGE])
    assert error_code(err) == "ThrottlingException"
    assert catalog.faults.pending()[0].times == 1
