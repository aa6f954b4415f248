"""Azure credentials and the Resource Manager client built from them.

Normally ``DefaultAzureCredential``: in a workflow after ``azure/login`` with OIDC it picks up
the federated token (environment or Azure CLI), and on a workstation ``az login``. Inside
the sandbox (``IMGPUB_SANDBOX=1`` with a plain-http loopback ARM endpoint) a static fake
token is used instead, and the SDK's bearer policy, which refuses non-TLS URLs, is replaced
by one that adds the fake header without that check (cloud-apis.md §3.4).

A dry run must work without Azure, yet ``DefaultAzureCredential`` can spend many seconds
trying managed identity and CLI time-outs. :func:`probe` answers "can we talk to Azure?"
within a short deadline so that the plan can be printed from the naming rules alone.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

from imgpub.azure.clouds import AzureCloud
from imgpub.errors import ConfigError, InputError
from imgpub.text import first_line

if TYPE_CHECKING:
    from azure.mgmt.compute import ComputeManagementClient

SANDBOX_TOKEN = "imgpub-sandbox-token"  # noqa: S105 - a fake token for the local fake ARM


class StaticTokenCredential:
    """A credential that always returns the same fake token (sandbox and tests only)."""

    def __init__(self, token: str = SANDBOX_TOKEN) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the fake token, valid for an hour."""
        return AccessToken(self._token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        """Return the fake token (the newer credential protocol)."""
        return AccessTokenInfo(self._token, int(time.time()) + 3600)

    def close(self) -> None:
        """Nothing to release."""


class _FakeBearerPolicy(SansIOHTTPPolicy[Any, Any]):
    """Adds ``Authorization: Bearer <fake>`` on plain http, where the SDK's policy refuses."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.http_request.headers["Authorization"] = f"Bearer {self._token}"


def in_sandbox(cloud: AzureCloud, env: Mapping[str, str] | None = None) -> bool:
    """The sandbox relaxes auth only for a loopback http ARM and ``IMGPUB_SANDBOX=1``."""
    environ = os.environ if env is None else env
    return environ.get("IMGPUB_SANDBOX") == "1" and cloud.is_local


def azure_credential(cloud: AzureCloud, env: Mapping[str, str] | None = None) -> Any:
    """The credential for this cloud: a static fake in the sandbox, else the default chain."""
    if in_sandbox(cloud, env):
        return StaticTokenCredential()
    if cloud.is_local:
        raise ConfigError(
            f"the ARM endpoint {cloud.arm_endpoint} is plain http but IMGPUB_SANDBOX is not 1",
            remedy="run inside `imgpub sandbox` or unset IMGPUB_AZURE_ARM_ENDPOINT",
        )
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=cloud.authority_host)


def resolve_subscription(explicit: str | None, env: Mapping[str, str] | None = None) -> str:
    """The subscription: the given value, else ``AZURE_SUBSCRIPTION_ID``."""
    environ = os.environ if env is None else env
    value = (explicit or environ.get("AZURE_SUBSCRIPTION_ID", "")).strip()
    if not value:
        raise InputError(
            "subscription-id",
            "no Azure subscription given",
            "pass subscription-id or set AZURE_SUBSCRIPTION_ID (azure/login's subscription-id)",
        )
    return value


def compute_client(
    cloud: AzureCloud,
    subscription_id: str,
    credential: Any,
    *,
    polling_interval: float | None = None,
    env: Mapping[str, str] | None = None,
) -> ComputeManagementClient:
    """Build the ``ComputeManagementClient`` for a cloud (the one place that does).

    Against a local fake it sends a fake bearer header over http and polls without delay;
    otherwise it keeps the SDK's own authentication and ``Retry-After`` handling.
    """
    from azure.mgmt.compute import ComputeManagementClient

    kwargs: dict[str, Any] = {
        "base_url": cloud.arm_endpoint,
        "credential_scopes": [cloud.credential_scope],
    }
    if in_sandbox(cloud, env):
        kwargs["authentication_policy"] = _FakeBearerPolicy(SANDBOX_TOKEN)
        kwargs["polling_interval"] = 0 if polling_interval is None else polling_interval
    elif polling_interval is not None:
        kwargs["polling_interval"] = polling_interval
    return ComputeManagementClient(credential, subscription_id, **kwargs)


@dataclass(frozen=True)
class Probe:
    """Whether Azure answered; ``reason`` says why not, in one line, for the dry-run plan."""

    ok: bool
    reason: str = ""


def probe(credential: Any, cloud: AzureCloud, *, timeout: float = 5.0) -> Probe:
    """Check within ``timeout`` seconds that ARM is reachable and a token can be had.

    The token is fetched in a daemon thread so that a credential chain stuck on its own
    time-outs cannot hold up a dry run; the thread is abandoned, never waited for.
    """
    parts = urlsplit(cloud.arm_endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return Probe(False, f"cannot reach {host}:{port} ({exc.strerror or exc})")
    outcome: list[BaseException | None] = []

    def fetch() -> None:
        try:
            credential.get_token(cloud.credential_scope)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=fetch, name="azure-credential-probe", daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0.1))
    if not outcome:
        return Probe(False, f"no Azure credential answered within {timeout:g} s")
    error = outcome[0]
    if error is not None:
        return Probe(False, f"no usable Azure credential ({first_line(error)})")
    return Probe(True)
