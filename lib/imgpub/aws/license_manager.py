"""AWS License Manager for a Marketplace product: check a license out, explain a refusal.

CheckoutLicense answers "no" with one of a few error codes that do not say why (no
license at all, an expired one, a missing entitlement all come back as
``NoEntitlementsAllowedException`` or ``ResourceNotFoundException``). So a refusal is
followed by ``ListReceivedLicenses`` for the product, which tells the three apart from
the licenses' own status and validity — documented fields, not error message text.

Throttling (``RateLimitExceededException``) and ``ServerInternalException`` are not in
botocore's retry lists; they are retried here with the same client token, so a retried
checkout is the same checkout.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_license_manager import LicenseManagerClient

#: The key fingerprint of every AWS Marketplace license (a literal, not a placeholder).
MARKETPLACE_FINGERPRINT = "aws:294406891311:AWS/Marketplace:issuer-fingerprint"
RETRIED = frozenset(
    {"RateLimitExceededException", "ServerInternalException", "ThrottlingException"}
)
REFUSED = frozenset({"NoEntitlementsAllowedException", "ResourceNotFoundException"})
INVALID = frozenset({"ValidationException", "InvalidParameterValueException"})


class Verdict(StrEnum):
    GRANTED = "granted"
    NO_LICENSE = "no-license"
    EXPIRED = "expired"
    NOT_ENTITLED = "not-entitled"
    INVALID = "invalid"
    AWS_ERROR = "aws-error"


@dataclass(frozen=True)
class Checkout:
    """The outcome of one license check."""

    verdict: Verdict
    message: str
    license_arn: str = ""
    entitlements: tuple[dict[str, str], ...] = ()
    expiration: str = ""
    consumption_token: str = field(default="", repr=False)
    attempts: int = 1


def checkout(
    client: LicenseManagerClient,
    *,
    product_sku: str,
    entitlements: Sequence[dict[str, str]],
    client_token: str,
    checkout_type: str = "PROVISIONAL",
    fingerprint: str = MARKETPLACE_FINGERPRINT,
    max_attempts: int = 5,
    backoff: float = 0.5,
    sleep: Callable[[float], object] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Checkout:
    """Check out ``entitlements`` of ``product_sku``; a verdict, never an exception."""
    request: dict[str, Any] = {
        "ProductSKU": product_sku,
        "CheckoutType": checkout_type,
        "KeyFingerprint": fingerprint,
        "Entitlements": list(entitlements),
        "ClientToken": client_token,
    }
    for attempt in range(1, max_attempts + 1):
        try:
            answer = client.checkout_license(**request)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            message = str(exc.response.get("Error", {}).get("Message", "")) or code
            if code in RETRIED and attempt < max_attempts:
                sleep(backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
                continue
            if code in REFUSED:
                return _diagnose(client, product_sku, fingerprint, message, attempt, now())
            if code in INVALID:
                return Checkout(Verdict.INVALID, f"{code}: {message}", attempts=attempt)
            return Checkout(Verdict.AWS_ERROR, f"{code}: {message}", attempts=attempt)
        granted = tuple(
            {k: str(v) for k, v in e.items()} for e in answer.get("EntitlementsAllowed", [])
        )
        return Checkout(
            Verdict.GRANTED,
            "license checked out",
            license_arn=str(answer.get("LicenseArn", "")),
            entitlements=granted,
            expiration=str(answer.get("Expiration", "")),
            consumption_token=str(answer.get("LicenseConsumptionToken", "")),
            attempts=attempt,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _diagnose(
    client: LicenseManagerClient,
    product_sku: str,
    fingerprint: str,
    refusal: str,
    attempts: int,
    now: datetime,
) -> Checkout:
    """Why the checkout was refused, from the licenses this account received."""
    try:
        licenses = client.list_received_licenses(
            Filters=[{"Name": "ProductSKU", "Values": [product_sku]}]
        ).get("Licenses", [])
    except ClientError:  # not allowed to look: say what CheckoutLicense said
        return Checkout(Verdict.NOT_ENTITLED, refusal, attempts=attempts)
    mine = [
        lic
        for lic in licenses
        if lic.get("Issuer", {}).get("KeyFingerprint", fingerprint) == fingerprint
        and lic.get("Status") not in ("DELETED", "PENDING_DELETE")
    ]
    if not mine:
        return Checkout(
            Verdict.NO_LICENSE, f"no license for {product_sku}: {refusal}", attempts=attempts
        )
    if all(_expired(lic, now) for lic in mine):
        ends = max(str(lic.get("Validity", {}).get("End", "")) for lic in mine)
        return Checkout(
            Verdict.EXPIRED,
            f"the license for {product_sku} expired ({ends or 'status EXPIRED'})",
            license_arn=str(mine[0].get("LicenseArn", "")),
            attempts=attempts,
        )
    return Checkout(
        Verdict.NOT_ENTITLED,
        f"the license for {product_sku} does not grant this: {refusal}",
        license_arn=str(mine[0].get("LicenseArn", "")),
        attempts=attempts,
    )


def _expired(lic: Any, now: datetime) -> bool:
    if lic.get("Status") == "EXPIRED":
        return True
    end = str(lic.get("Validity", {}).get("End", ""))
    if not end:
        return False
    try:
        when = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return False
    return when.replace(tzinfo=when.tzinfo or UTC) <= now
