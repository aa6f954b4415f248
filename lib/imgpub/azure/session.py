"""One Azure session per run: the credential, the compute client and the blob service, once each.

Building a ``DefaultAzureCredential`` walks a chain of providers (environment, workload
identity, managed identity, Azure CLI) and can take seconds; resolving the subscription
and building clients repeats work and, worse, can give two parts of a run two different
answers. So a run builds one :class:`AzureSession` from its inputs, and everything that
talks to Azure gets its clients from it, lazily: a dry run that never needs storage never
builds a blob client, and a run without ``publish`` never asks for a token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from imgpub.azure.clouds import AzureCloud
from imgpub.azure.credentials import (
    Probe,
    azure_credential,
    compute_client,
    in_sandbox,
    probe,
    resolve_subscription,
)
from imgpub.azure.gallery import GalleryAdapter
from imgpub.azure.storage import StorageAccess, storage_access

if TYPE_CHECKING:
    from azure.mgmt.compute import ComputeManagementClient

SANDBOX_WAIT_SECONDS = 0.2
"""Between reads of a version another run is creating: the fake ARM answers at once."""


@dataclass(frozen=True)
class StorageLogin:
    """How to reach blob storage: a connection string (and where it came from), or Entra ID."""

    connection_string: str | None
    origin: str
    account: str
    """The storage account to use with Entra ID, or to match the connection string's."""
    account_given: bool
    """Whether ``account`` was an input (then a connection string must be for it)."""


class AzureSession:
    """Clients for one run, each built on first use and then reused."""

    def __init__(
        self,
        cloud: AzureCloud,
        env: Mapping[str, str],
        *,
        subscription: str | None,
        storage: StorageLogin,
        mask: Callable[[str], None],
        log: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.cloud = cloud
        self.env = env
        self._subscription = subscription
        self._storage = storage
        self._mask = mask
        self._log = log

    @property
    def sandbox(self) -> bool:
        return in_sandbox(self.cloud, self.env)

    @property
    def has_subscription(self) -> bool:
        return bool(self._subscription)

    @cached_property
    def credential(self) -> Any:
        return azure_credential(self.cloud, self.env)

    @cached_property
    def subscription_id(self) -> str:
        return resolve_subscription(self._subscription, self.env)

    @cached_property
    def compute(self) -> ComputeManagementClient:
        return compute_client(self.cloud, self.subscription_id, self.credential, env=self.env)

    @cached_property
    def gallery(self) -> GalleryAdapter:
        wait = SANDBOX_WAIT_SECONDS if self.sandbox else GalleryAdapter.wait_interval
        return GalleryAdapter(self.compute, wait_interval=wait, log=self._log)

    @cached_property
    def storage(self) -> StorageAccess:
        login = self._storage
        return storage_access(
            connection_string=login.connection_string,
            origin=login.origin,
            account=login.account if (login.account_given or not login.connection_string) else "",
            cloud=self.cloud,
            credential=lambda: self.credential,
            mask=self._mask,
            sandbox=self.sandbox,
        )

    @property
    def can_reach_storage_without_arm(self) -> bool:
        """A connection string reaches storage with no Entra ID token."""
        return bool(self._storage.connection_string)

    def probe(self, timeout: float) -> Probe:
        """Whether ARM answers and a token can be had within ``timeout`` (dry runs)."""
        return probe(self.credential, self.cloud, timeout=timeout)
