"""A stateful fake of AWS License Manager's license checkout (moto has no backend).

The real boto3 client reaches it through ``AWS_ENDPOINT_URL_LICENSE_MANAGER``. It keeps
the licenses this account has received, per product, in the states a buyer's license can
be in — valid, expired, lacking an entitlement — and answers as License Manager does:

* ``CheckoutLicense``: the license of the product SKU whose issuer has the given key
  fingerprint; no such license is ``ResourceNotFoundException``; an expired (or not
  available) license, an entitlement the license lacks, or a limited entitlement used up
  is ``NoEntitlementsAllowedException``. A repeated ``ClientToken`` returns the first
  answer. A PROVISIONAL checkout expires after 60 minutes.
* ``ListReceivedLicenses`` with ``ProductSKU``/``Status``/``Fingerprint`` filters.
* ``CheckInLicense`` returns a checkout's entitlements early.

``ClientToken`` (``\\S+``, at most 2048) and enum values are checked like the service's
front end; botocore's validator covers required members and types.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from imgpub.sandbox.aws_json import AwsError, AwsJsonFake, action
from imgpub.sandbox.fake_http import verb

MARKETPLACE_FINGERPRINT = "aws:294406891311:AWS/Marketplace:issuer-fingerprint"
ACCOUNT = "123456789012"
_TOKEN = re.compile(r"^\S{1,2048}$")
_STATUSES = ("AVAILABLE", "PENDING_AVAILABLE", "DEACTIVATED", "SUSPENDED", "EXPIRED")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class FakeLicenseManager(AwsJsonFake):
    SERVICE = "license-manager"
    VALIDATION_ERROR = "ValidationException"

    def reset_state(self) -> None:
        self.licenses: list[dict[str, Any]] = []
        self.checkouts: dict[str, dict[str, Any]] = {}  # consumption token → checkout
        self.by_client_token: dict[str, dict[str, Any]] = {}

    # -- seeding -------------------------------------------------------------------------------

    @verb
    def add_license(
        self,
        product_sku: str,
        entitlements: list[dict[str, Any]],
        status: str = "AVAILABLE",
        valid_days: int = 365,
        fingerprint: str = MARKETPLACE_FINGERPRINT,
        product_name: str = "",
    ) -> str:
        """A license this account received; ``valid_days`` < 0 means it has ended."""
        if status not in _STATUSES:
            raise ValueError(f"status must be one of {_STATUSES}")
        now = datetime.now(UTC)
        begin = now - timedelta(days=30)
        end = now + timedelta(days=valid_days)
        if valid_days < 0:
            begin = end - timedelta(days=365)
        arn = f"arn:aws:license-manager::294406891311:license:l-{uuid.uuid4().hex}"
        self.licenses.append(
            {
                "LicenseArn": arn,
                "LicenseName": product_name or product_sku,
                "ProductName": product_name or product_sku,
                "ProductSKU": product_sku,
                "Issuer": {"Name": "AWS/Marketplace", "KeyFingerprint": fingerprint},
                "HomeRegion": "us-east-1",
                "Status": status,
                "Validity": {"Begin": _iso(begin), "End": _iso(end)},
                "Beneficiary": ACCOUNT,
                "Entitlements": [{"Unit": "None", "AllowCheckIn": True, **e} for e in entitlements],
                "ConsumptionConfiguration": {"RenewType": "None"},
                "CreateTime": _iso(begin),
                "Version": "1",
            }
        )
        return arn

    @verb
    def checked_out(self) -> list[dict[str, Any]]:
        """The checkouts not checked in (what a test inspects)."""
        return list(self.checkouts.values())

    # -- actions -------------------------------------------------------------------------------

    @action("CheckoutLicense")
    def checkout_license(self, params: dict[str, Any]) -> dict[str, Any]:
        token = params["ClientToken"]
        if not _TOKEN.match(token):
            raise AwsError("ValidationException", "ClientToken must match \\S+ (at most 2048).")
        if params["CheckoutType"] not in ("PROVISIONAL", "PERPETUAL"):
            raise AwsError("ValidationException", "CheckoutType must be PROVISIONAL or PERPETUAL.")
        earlier = self.by_client_token.get(token)
        if earlier is not None:
            return earlier
        found = [
            lic
            for lic in self.licenses
            if lic["ProductSKU"] == params["ProductSKU"]
            and lic["Issuer"]["KeyFingerprint"] == params["KeyFingerprint"]
        ]
        if not found:
            raise AwsError(
                "ResourceNotFoundException",
                f"No license found for product SKU {params['ProductSKU']}.",
            )
        lic = found[0]
        now = datetime.now(UTC)
        if lic["Status"] != "AVAILABLE" or lic["Validity"]["End"] <= _iso(now):
            raise AwsError(
                "NoEntitlementsAllowedException", "No entitlements allowed for the given license."
            )
        allowed = [self._take(lic, wanted) for wanted in params["Entitlements"]]
        consumption = f"lct-{uuid.uuid4().hex}"
        answer = {
            "CheckoutType": params["CheckoutType"],
            "LicenseConsumptionToken": consumption,
            "EntitlementsAllowed": allowed,
            "SignedToken": f"eyJfake.{uuid.uuid4().hex}.sig",
            "NodeId": params.get("NodeId", ""),
            "IssuedAt": _iso(now),
            "Expiration": _iso(now + timedelta(minutes=60)),
            "LicenseArn": lic["LicenseArn"],
        }
        self.checkouts[consumption] = {"license": lic["LicenseArn"], "entitlements": allowed}
        self.by_client_token[token] = answer
        return answer

    def _take(self, lic: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
        held = next((e for e in lic["Entitlements"] if e["Name"] == wanted["Name"]), None)
        if held is None or held.get("Unit", "None") != wanted["Unit"]:
            raise AwsError(
                "NoEntitlementsAllowedException", "No entitlements allowed for the given license."
            )
        limit = held.get("MaxCount")
        if limit is not None:
            amount = int(wanted.get("Value", "1"))
            used = sum(
                int(e.get("Value", "1"))
                for c in self.checkouts.values()
                if c["license"] == lic["LicenseArn"]
                for e in c["entitlements"]
                if e["Name"] == wanted["Name"]
            )
            if used + amount > int(limit) and not held.get("Overage"):
                raise AwsError("NoEntitlementsAllowedException", "Entitlement capacity exhausted.")
        out = {"Name": wanted["Name"], "Unit": wanted["Unit"]}
        if "Value" in wanted:
            out["Value"] = str(wanted["Value"])
        return out

    @action("CheckInLicense")
    def check_in_license(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.checkouts.pop(params["LicenseConsumptionToken"], None) is None:
            raise AwsError("ResourceNotFoundException", "No such license consumption token.")
        return {}

    @action("ListReceivedLicenses")
    def list_received_licenses(self, params: dict[str, Any]) -> dict[str, Any]:
        keys = {"ProductSKU": "ProductSKU", "Status": "Status"}
        licenses = self.licenses
        for flt in params.get("Filters", []):
            name, values = flt.get("Name"), set(flt.get("Values", []))
            if name == "Fingerprint":
                licenses = [lic for lic in licenses if lic["Issuer"]["KeyFingerprint"] in values]
            elif name in keys:
                licenses = [lic for lic in licenses if lic[keys[name]] in values]
            else:
                raise AwsError("InvalidParameterValueException", f"Unknown filter {name!r}.")
        return {"Licenses": [self._received(lic) for lic in licenses]}

    def _received(self, lic: dict[str, Any]) -> dict[str, Any]:
        status = lic["Status"]
        if status == "AVAILABLE" and lic["Validity"]["End"] <= _iso(datetime.now(UTC)):
            status = "EXPIRED"
        return {**lic, "Status": status}
