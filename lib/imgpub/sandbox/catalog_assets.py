"""Where the fake catalog's ingestion finds the seller's AMIs and access roles.

The real AMI ingestion assumes the access role and reads the AMI in us-east-1 of the
seller's account; in the sandbox that account is the local AWS (moto), so the fake looks
there with its own boto3 clients — the service's side of the wire, not imgpub's, which is
why it names the endpoint itself. Without a local AWS every AMI and role counts as found.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from imgpub.sandbox.catalog_checks import ROLE_ARN, Image, Role

MARKETPLACE_PRINCIPAL = "assets.marketplace.amazonaws.com"


def ingestion_trust_policy(principal: str = MARKETPLACE_PRINCIPAL) -> dict[str, Any]:
    """The trust policy of an AMI ingestion role (the sandbox creates one for the demo)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}
        ],
    }


class AwsAssets:
    """AMIs and roles as the local AWS at ``endpoint`` has them."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._local = threading.local()

    def _client(self, service: str) -> Any:
        clients: dict[str, Any] = self._local.__dict__.setdefault("clients", {})
        if service not in clients:
            clients[service] = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                region_name="us-east-1",
                endpoint_url=self.endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - the local AWS's dummy key
                config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
            )
        return clients[service]

    def image(self, image_id: str) -> Image | None:
        try:
            images = self._client("ec2").describe_images(
                Owners=["self"], Filters=[{"Name": "image-id", "Values": [image_id]}]
            )["Images"]
        except (ClientError, BotoCoreError):
            return None
        if not images:
            return None
        found = images[0]
        # moto keeps no Architecture from RegisterImage; the build's tag says it (aarch64).
        tags = {t["Key"]: t["Value"] for t in found.get("Tags", [])}
        arch = str(found.get("Architecture") or tags.get("Architecture", ""))
        return Image(
            image_id=image_id,
            state=str(found.get("State", "")),
            architecture="arm64" if arch == "aarch64" else arch,
            virtualization=str(found.get("VirtualizationType", "hvm")),
        )

    def role(self, arn: str) -> Role | None:
        match = ROLE_ARN.match(arn)
        if match is None:
            return None
        name = arn.rsplit("/", 1)[-1]
        try:
            role = self._client("iam").get_role(RoleName=name)["Role"]
        except (ClientError, BotoCoreError):
            return None
        if role.get("Arn") != arn:
            return None  # a role of that name in another account or path
        policy = role.get("AssumeRolePolicyDocument", {})
        text = policy if isinstance(policy, str) else json.dumps(policy)
        return Role(arn=arn, trusts_marketplace=MARKETPLACE_PRINCIPAL in text)


class OpenAssets:
    """No seller account to look into: every well-formed AMI and role is found (of an
    unknown architecture, so no instance type is refused for it)."""

    def image(self, image_id: str) -> Image | None:
        return Image(image_id=image_id, state="available", architecture="")

    def role(self, arn: str) -> Role | None:
        return Role(arn=arn, trusts_marketplace=True)


__all__ = ["MARKETPLACE_PRINCIPAL", "AwsAssets", "OpenAssets", "ingestion_trust_policy"]
