"""Tiny AWS fakes on the AWS JSON base: one JSON 1.1 service, one REST-JSON service."""

from __future__ import annotations

from typing import Any

from imgpub.sandbox.aws_json import AwsError, AwsJsonFake, action


class TinyLicenseManager(AwsJsonFake):
    """License Manager (JSON 1.1, ``X-Amz-Target: AWSLicenseManager.<Action>``)."""

    SERVICE = "license-manager"
    VALIDATION_ERROR = "InvalidParameterValueException"

    def reset_state(self) -> None:
        self.configurations: dict[str, dict[str, Any]] = {}

    @action("CreateLicenseConfiguration")
    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = (
            "arn:aws:license-manager:us-east-1:123456789012:license-configuration:"
            f"lic-{len(self.configurations) + 1:032x}"
        )
        self.configurations[arn] = {"LicenseConfigurationArn": arn, **params}
        return {"LicenseConfigurationArn": arn}

    @action("GetLicenseConfiguration")
    def get(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self.configurations.get(params["LicenseConfigurationArn"])
        if found is None:
            raise AwsError("InvalidParameterValueException", "No such license configuration.")
        return found


class TinyCatalog(AwsJsonFake):
    """Marketplace Catalog (REST-JSON: ``GET /DescribeEntity?catalog=&entityId=``...)."""

    SERVICE = "marketplace-catalog"

    def reset_state(self) -> None:
        self.entities: dict[str, dict[str, Any]] = {}
        self.change_sets: list[dict[str, Any]] = []

    @action("DescribeEntity")
    def describe_entity(self, params: dict[str, Any]) -> dict[str, Any]:
        entity = self.entities.get(params["EntityId"])
        if entity is None or params["Catalog"] != "AWSMarketplace":
            raise AwsError(
                "ResourceNotFoundException", f"Entity {params['EntityId']} not found.", 404
            )
        return entity

    @action("StartChangeSet")
    def start_change_set(self, params: dict[str, Any]) -> dict[str, Any]:
        change_set_id = f"cs-{len(self.change_sets) + 1:013d}"
        self.change_sets.append({"Id": change_set_id, **params})
        return {"ChangeSetId": change_set_id, "ChangeSetArn": f"arn:aws:catalog:::{change_set_id}"}
