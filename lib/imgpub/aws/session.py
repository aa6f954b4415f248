"""boto3 clients, one Session per thread, adaptive retries, the sandbox endpoint honoured.

boto3 Sessions are not thread-safe (boto3 #1592, #2750: ``KeyError: 'credential_provider'``
when threads share the default session), and building a client costs ~10 ms plus ~200 ms
for the first one of a Session. So each worker thread gets its own Session on first use and
keeps its clients for the whole run; the engine pins each region to one worker, so a region's
client is built once.

Endpoints are botocore's business: it reads ``AWS_ENDPOINT_URL_<SERVICE>`` and
``AWS_ENDPOINT_URL`` (and ``endpoint_url`` in the config file) itself, so imgpub passes no
endpoint of its own and a service-specific setting (the sandbox's Marketplace Catalog next
to moto, say) wins as documented. Only when a caller hands in an environment other than
the process's do we resolve those two variables from it the same way.

Every client uses botocore's ``adaptive`` retry mode: exponential backoff with jitter for
throttling and transient errors, plus a client-side rate limiter that slows down when EC2
answers ``RequestLimitExceeded``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_ebs import EBSClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_license_manager import LicenseManagerClient
    from mypy_boto3_marketplace_catalog import MarketplaceCatalogClient
    from mypy_boto3_ssm import SSMClient

DEFAULT_MAX_ATTEMPTS = 10

#: Called once per API call (not per retry): (service, operation, region).
CallObserver = Callable[[str, str, str], None]


class AwsClients(Protocol):
    """What stages need from :class:`ClientFactory`: a client per region, on this thread."""

    def ec2(self, region: str) -> EC2Client: ...
    def ssm(self, region: str) -> SSMClient: ...


class ClientFactory:
    """Clients per (thread, service, region); safe to share between threads."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        observer: CallObserver | None = None,
        connect_timeout: float = 10,
        read_timeout: float = 60,
    ) -> None:
        self._environ = None if environ is None or environ is os.environ else environ
        self._observer = observer
        self._config = Config(
            retries={"mode": "adaptive", "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=4,
        )
        self._local = threading.local()
        # Sessions are per thread, but the parsed service models need not be: sharing the
        # loader cuts a new Session's first client from ~200 ms to ~30 ms.
        self._loader = botocore.loaders.create_loader()

    def _clients(self) -> dict[tuple[str, str], Any]:
        cache: dict[tuple[str, str], Any] | None = getattr(self._local, "clients", None)
        if cache is None:
            cache = {}
            self._local.clients = cache
            core = botocore.session.Session()
            core.register_component("data_loader", self._loader)
            self._local.session = boto3.session.Session(botocore_session=core)
        return cache

    def _client(self, service: str, region: str) -> Any:
        cache = self._clients()
        key = (service, region)
        client = cache.get(key)
        if client is None:
            session: boto3.session.Session = self._local.session
            client = session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=self._endpoint_from_mapping(service),
                config=self._config,
            )
            if self._observer is not None:
                observer = self._observer

                def count(event_name: str, **_: Any) -> None:
                    # event_name = "provide-client-params.<service>.<Operation>": once per call.
                    observer(service, event_name.rsplit(".", 1)[-1], region)

                client.meta.events.register(f"provide-client-params.{service}", count)
            cache[key] = client
        return client

    def _endpoint_from_mapping(self, service: str) -> str | None:
        """botocore's environment lookup, for a mapping that is not ``os.environ``."""
        env = self._environ
        if env is None or env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
            return None
        core: botocore.session.Session = self._local.session._session
        service_id = str(core.get_service_model(service).service_id)
        specific = "AWS_ENDPOINT_URL_" + service_id.upper().replace(" ", "_")
        return env.get(specific) or env.get("AWS_ENDPOINT_URL") or None

    def ec2(self, region: str) -> EC2Client:
        client: EC2Client = self._client("ec2", region)
        return client

    def ssm(self, region: str) -> SSMClient:
        client: SSMClient = self._client("ssm", region)
        return client

    def s3(self, region: str) -> Any:
        """An S3 client (azure-gallery reads s3:// images with it)."""
        return self._client("s3", region)

    def ecr(self, region: str) -> ECRClient:
        client: ECRClient = self._client("ecr", region)
        return client

    def license_manager(self, region: str) -> LicenseManagerClient:
        client: LicenseManagerClient = self._client("license-manager", region)
        return client

    def marketplace_catalog(self, region: str = "us-east-1") -> MarketplaceCatalogClient:
        """The Catalog API is served from us-east-1 only."""
        client: MarketplaceCatalogClient = self._client("marketplace-catalog", region)
        return client

    def ebs(self, region: str) -> EBSClient:
        """An EBS direct APIs client (build-ami writes snapshots block by block with it)."""
        client: EBSClient = self._client("ebs", region)
        return client


class CallCounter:
    """Counts API calls by (service, operation, region); pass ``counter.observe``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: dict[tuple[str, str, str], int] = {}

    def observe(self, service: str, operation: str, region: str) -> None:
        with self._lock:
            key = (service, operation, region)
            self.calls[key] = self.calls.get(key, 0) + 1

    def total(self, service: str | None = None, operation: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (svc, op, _), n in self.calls.items()
                if (service is None or svc == service) and (operation is None or op == operation)
            )

    def by_operation(self, service: str) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for (svc, op, _), n in self.calls.items():
                if svc == service:
                    out[op] = out.get(op, 0) + n
            return dict(sorted(out.items()))
