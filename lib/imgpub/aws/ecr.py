"""Amazon ECR's control plane, narrowed to what ecr-mirror needs: a token and repositories.

The data plane (blobs and manifests) is a registry like any other (``imgpub.oci``);
ECR's API gives the credentials for it and owns the repositories. A token from
``GetAuthorizationToken`` (no ``registryIds``) works for every ECR registry the principal
may push to in the token's region — the Marketplace registry 709825985650 included.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from imgpub.aws.errors import error_code
from imgpub.oci.client import Credentials

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient


@dataclass(frozen=True)
class EcrToken:
    """Basic-auth credentials for ECR registries (user ``AWS``), valid until ``expires_at``."""

    credentials: Credentials
    registry_host: str  # the caller's own registry, from proxyEndpoint
    expires_at: datetime | None


@dataclass(frozen=True)
class RepositoryInfo:
    name: str
    uri: str
    immutable: bool
    scan_on_push: bool


class Ecr:
    """One region's ECR API (the client is injected)."""

    def __init__(self, client: ECRClient) -> None:
        self.client = client

    def token(self) -> EcrToken:
        data = self.client.get_authorization_token()["authorizationData"][0]
        decoded = base64.b64decode(data["authorizationToken"]).decode("utf-8")
        user, _, password = decoded.partition(":")
        host = str(data.get("proxyEndpoint", "")).split("://", 1)[-1].rstrip("/")
        return EcrToken(Credentials(user, password), host, data.get("expiresAt"))

    def repository(self, name: str) -> RepositoryInfo | None:
        """The repository, or None when it does not exist (one read-only call)."""
        try:
            found = self.client.describe_repositories(repositoryNames=[name])["repositories"]
        except ClientError as exc:
            if error_code(exc) == "RepositoryNotFoundException":
                return None
            raise
        repo = found[0]
        return RepositoryInfo(
            repo["repositoryName"],
            repo["repositoryUri"],
            repo.get("imageTagMutability") == "IMMUTABLE",
            bool(repo.get("imageScanningConfiguration", {}).get("scanOnPush")),
        )

    def create_repository(self, name: str) -> tuple[RepositoryInfo, bool]:
        """Create it immutable and scanned on push; (info, False) if it appeared meanwhile."""
        try:
            repo = self.client.create_repository(
                repositoryName=name,
                imageTagMutability="IMMUTABLE",
                imageScanningConfiguration={"scanOnPush": True},
                encryptionConfiguration={"encryptionType": "AES256"},
                tags=[{"Key": "ManagedBy", "Value": "imgpub"}],
            )["repository"]
        except ClientError as exc:
            if error_code(exc) != "RepositoryAlreadyExistsException":
                raise
            existing = self.repository(name)
            assert existing is not None, f"{name} exists and does not"
            return existing, False
        info = RepositoryInfo(repo["repositoryName"], repo["repositoryUri"], True, True)
        return info, True
