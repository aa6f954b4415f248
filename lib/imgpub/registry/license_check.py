"""``imgpub license-check``: the command a Helm pre-install hook Job runs.

The Job's exit code decides whether ``helm install`` goes on, so the command must fail
exactly when the buyer may not run the product, and say why in one line that ends up in
``kubectl logs``. Each reason has its own exit code, so a wrapper (or a human reading the
Job status) can tell a missing subscription from an AWS outage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import uuid
from collections.abc import Mapping

from imgpub.gha import Gha

EXIT_GRANTED = 0
EXIT_USAGE = 2
EXIT_NO_LICENSE = 10
EXIT_EXPIRED = 11
EXIT_NOT_ENTITLED = 12
EXIT_AWS_ERROR = 13

_EXIT = {
    "granted": EXIT_GRANTED,
    "no-license": EXIT_NO_LICENSE,
    "expired": EXIT_EXPIRED,
    "not-entitled": EXIT_NOT_ENTITLED,
    "invalid": EXIT_NOT_ENTITLED,
    "aws-error": EXIT_AWS_ERROR,
}
_REMEDY = {
    "no-license": "subscribe to the product in AWS Marketplace (or accept the private offer)",
    "expired": "renew the contract in AWS Marketplace",
    "not-entitled": "buy the entitlement named, or install the tier you are entitled to",
    "invalid": "the chart's license check is misconfigured: tell the seller",
    "aws-error": "check the service account's role (license-manager:CheckoutLicense, "
    "license-manager:ListReceivedLicenses) and the network, then retry",
}
_ENTITLEMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})(?:=([0-9]+):([A-Za-z/]+))?$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--product-sku", required=True, help="Marketplace product ID, prod-….")
    parser.add_argument(
        "--entitlement",
        action="append",
        required=True,
        metavar="NAME[=VALUE:UNIT]",
        help="An entitlement to check out (repeatable); NAME alone means Unit None.",
    )
    parser.add_argument(
        "--region",
        default=None,
        help="License Manager region (default: AWS_REGION, else us-east-1).",
    )
    parser.add_argument(
        "--checkout-type", choices=("PROVISIONAL", "PERPETUAL"), default="PROVISIONAL"
    )
    parser.add_argument(
        "--client-token", default=None, help="Idempotency token (default: a new UUID)."
    )
    parser.add_argument("--max-attempts", type=int, default=5, help="Attempts when throttled.")
    parser.add_argument("--json", action="store_true", help="Print the outcome as JSON.")


def entitlement_data(texts: list[str]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for text in texts:
        for item in (t.strip() for t in text.split(",")):
            found = _ENTITLEMENT.match(item)
            if not found:
                raise ValueError(f"--entitlement {item!r}: write NAME or NAME=VALUE:UNIT")
            name, value, unit = found.groups()
            entry = {"Name": name, "Unit": unit or "None"}
            if value is not None:
                entry["Value"] = value
            out.append(entry)
    return out


def run(args: argparse.Namespace, gha: Gha, env: Mapping[str, str] | None = None) -> int:
    """Check the license out; print one line (or JSON); return the verdict's exit code."""
    env = os.environ if env is None else env
    try:
        entitlements = entitlement_data(args.entitlement)
    except ValueError as exc:
        gha.error(f"license-check: {exc}")
        return EXIT_USAGE
    try:
        from botocore.exceptions import BotoCoreError

        from imgpub.aws.license_manager import checkout
        from imgpub.aws.session import ClientFactory
    except ModuleNotFoundError as exc:
        gha.error(f"license-check needs boto3 ({exc.name}) — pip install 'imgpub[aws]'")
        return EXIT_USAGE

    region = args.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    try:
        client = ClientFactory(environ=env, max_attempts=3).license_manager(region)
        outcome = checkout(
            client,
            product_sku=args.product_sku,
            entitlements=entitlements,
            client_token=args.client_token or uuid.uuid4().hex,
            checkout_type=args.checkout_type,
            max_attempts=max(1, args.max_attempts),
        )
    except BotoCoreError as exc:  # no credentials, endpoint unreachable, ...
        gha.error(f"license-check: aws-error: {exc} — {_REMEDY['aws-error']}")
        return EXIT_AWS_ERROR
    verdict = str(outcome.verdict)
    if args.json:
        print(
            json.dumps(
                {
                    "verdict": verdict,
                    "message": outcome.message,
                    "product_sku": args.product_sku,
                    "license_arn": outcome.license_arn,
                    "entitlements": list(outcome.entitlements),
                    "expiration": outcome.expiration,
                    "region": region,
                },
                sort_keys=True,
            ),
            flush=True,
        )
    if verdict == "granted":
        names = ", ".join(e.get("Name", "") for e in outcome.entitlements) or "none listed"
        gha.info(
            f"license-check: granted {args.product_sku} in {region}: {outcome.license_arn} "
            f"(entitlements: {names}; checkout expires {outcome.expiration or 'unknown'})"
        )
    else:
        gha.error(f"license-check: {verdict}: {outcome.message} — {_REMEDY[verdict]}")
    return _EXIT[verdict]
