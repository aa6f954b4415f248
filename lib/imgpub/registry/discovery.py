"""Discovery (read-only): the ECR token, the repositories, and every digest involved.

Everything here only reads, so every problem found here is exit 2 with nothing changed:
credentials the registry refuses, a Marketplace repository that does not exist (it is
created in the seller portal, never by imgpub), a private one that may not be created.
A source that is missing or unreadable is that image's failed target; the others go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from botocore.exceptions import ClientError

from imgpub.aws.ecr import Ecr, EcrToken
from imgpub.aws.errors import error_code, sdk_setup_errors
from imgpub.cancel import NEVER, Cancellation
from imgpub.errors import CloudError, ConfigError, InputError
from imgpub.fanout import Failed, NotDone, fan_out
from imgpub.oci.client import Credentials, OciClients, RegistryError
from imgpub.oci.media import platform_name
from imgpub.oci.reference import Reference
from imgpub.registry.chart_discovery import destination_digest, plan_chart
from imgpub.registry.chart_plan import ChartAction
from imgpub.registry.model import EcrInputs, ImageJob, RegistryTarget
from imgpub.registry.plan import (
    ImageAction,
    ImagePlan,
    MirrorPlan,
    RepositoryPlan,
    decide_image,
    source_problem,
)
from imgpub.registry.spec import MARKETPLACE_REGISTRY

ClientsFactory = Callable[[Mapping[str, Credentials], frozenset[str]], OciClients]


@dataclass
class Discovery:
    """Discovery over injected clients: the ECR API and a registry-clients factory."""

    ecr: Ecr
    make_clients: ClientsFactory
    cancel: Cancellation = NEVER
    on_image: Callable[[ImagePlan], None] | None = None
    mask: Callable[[str], None] = lambda _: None

    def plan(self, inputs: EcrInputs) -> tuple[MirrorPlan, OciClients]:
        token = self._token()
        self.mask(token.credentials.password)  # before its first use
        registry = _target_registry(inputs, token)
        credentials = {**inputs.source_credentials, registry.host: token.credentials}
        hosts = {registry.host, *(j.source.api_host for j in inputs.images)}
        if inputs.chart is not None and inputs.chart.oci is not None:
            hosts.add(inputs.chart.oci.api_host)
        insecure = frozenset() if inputs.tls_verify else frozenset(hosts)
        clients = self.make_clients(credentials, insecure)
        self._check_registry(clients, registry)
        images = self._images(inputs, clients, registry)
        chart = None
        if inputs.chart is not None:
            mirrored = {
                p.job.source: p.destination for p in images if p.action is not ImageAction.MISSING
            }
            chart = plan_chart(
                inputs.chart, registry, clients, mirrored, marketplace=inputs.marketplace
            )
        # Only repositories something will be pushed to: a refused image needs none.
        wanted = {p.destination.repository for p in images if p.action is ImageAction.COPY}
        if chart is not None and chart.action is ChartAction.PUSH:
            wanted.add(chart.destination.repository)
        repositories = self._repositories(inputs, clients, registry, wanted)
        plan = MirrorPlan(
            region=inputs.region,
            registry=registry,
            marketplace=inputs.marketplace,
            repositories=repositories,
            images=images,
            chart=chart,
            tls_verify=inputs.tls_verify,
            max_concurrency=inputs.max_concurrency,
            credentials=credentials,
            insecure_hosts=insecure,
        )
        return plan, clients

    def _token(self) -> EcrToken:
        try:
            with sdk_setup_errors("region"):
                return self.ecr.token()
        except ClientError as exc:
            raise ConfigError(
                f"ECR GetAuthorizationToken failed: {error_code(exc)}: {exc}",
                remedy="grant the role ecr:GetAuthorizationToken",
            ) from None

    def _check_registry(self, clients: OciClients, registry: RegistryTarget) -> None:
        try:
            clients.for_host(registry.host).ping()
        except RegistryError as exc:
            remedy = (
                "the ECR token was refused: check the region and the role's ecr:* permissions"
                if exc.unauthorized
                else "check the registry input and the network"
            )
            raise ConfigError(
                f"cannot use registry {registry.host}: {exc}", remedy=remedy
            ) from None

    def _repositories(
        self, inputs: EcrInputs, clients: OciClients, registry: RegistryTarget, names: set[str]
    ) -> tuple[RepositoryPlan, ...]:
        out: list[RepositoryPlan] = []
        for full in sorted(names):
            if inputs.marketplace:
                out.append(self._marketplace_repository(clients, registry, full))
                continue
            try:
                found = self.ecr.repository(full)
            except ClientError as exc:
                raise ConfigError(
                    f"ECR DescribeRepositories {full} failed: {error_code(exc)}",
                    remedy="grant the role ecr:DescribeRepositories",
                ) from None
            if found is not None:
                out.append(RepositoryPlan(full, create=False, uri=found.uri))
            elif inputs.create_repositories:
                out.append(RepositoryPlan(full, create=True))
            else:
                raise InputError(
                    "create-repositories",
                    f"repository {full} does not exist in ECR ({inputs.region})",
                    "set create-repositories: true, or create it first",
                )
        return tuple(out)

    def _marketplace_repository(
        self, clients: OciClients, registry: RegistryTarget, full: str
    ) -> RepositoryPlan:
        ref = Reference(registry.host, full)
        try:
            exists = clients.for_host(registry.host).repository_exists(ref)
        except RegistryError as exc:
            raise ConfigError(
                f"cannot read {ref.name}: {exc}",
                remedy="check the seller account's ECR permissions",
            ) from None
        if not exists:
            raise InputError(
                "marketplace-seller",
                f"repository {full} does not exist in the Marketplace registry",
                "add it to the product in the seller portal (AddRepositories), then re-run; "
                "imgpub never creates Marketplace repositories",
            )
        return RepositoryPlan(full, create=False, uri=ref.name)

    def _images(
        self, inputs: EcrInputs, clients: OciClients, registry: RegistryTarget
    ) -> tuple[ImagePlan, ...]:
        def one(job: ImageJob) -> ImagePlan:
            return self._image(job, clients, registry, inputs.marketplace)

        found = fan_out(
            inputs.images,
            one,
            max_workers=inputs.max_concurrency,
            cancel=self.cancel,
            thread_name="imgpub-discover",
            on_done=self._done,
        )
        plans: list[ImagePlan] = []
        for job, outcome in found.outcomes.items():
            dest = registry.reference(job.repository, job.tag)
            if isinstance(outcome, NotDone):
                raise CloudError(
                    f"discovery stopped: {outcome.reason}", remedy="re-run the same command"
                )
            if isinstance(outcome, Failed):
                raise CloudError(
                    f"reading {job.source} or {dest} failed: {outcome.message}",
                    remedy="re-run; report it if it persists",
                )
            plans.append(outcome)
        return tuple(plans)

    def _done(self, _job: ImageJob, outcome: ImagePlan | Failed | NotDone) -> None:
        if self.on_image is not None and isinstance(outcome, ImagePlan):
            self.on_image(outcome)

    def _image(
        self, job: ImageJob, clients: OciClients, registry: RegistryTarget, marketplace: bool
    ) -> ImagePlan:
        dest = registry.reference(job.repository, job.tag)
        try:
            found = clients(job.source).manifest(job.source)
        except RegistryError as exc:
            return source_problem(
                job, dest, ImageAction.UNREADABLE, f"cannot read {job.source}: {exc}"
            )
        if found is None:
            return source_problem(job, dest, ImageAction.MISSING, f"{job.source} does not exist")
        info, _ = found
        platforms = info.platforms
        if not info.is_index and info.config_digest:
            platforms = self._platform_of(clients, job.source, info.config_digest)
        existing = destination_digest(clients, dest)
        return decide_image(
            job,
            dest,
            digest=info.digest,
            platforms=platforms,
            media_type=info.media_type,
            existing=existing,
            marketplace=marketplace,
        )

    @staticmethod
    def _platform_of(clients: OciClients, source: Reference, config_digest: str) -> tuple[str, ...]:
        try:
            config = json.loads(clients(source).blob(source, config_digest))
        except (RegistryError, ValueError):
            return ()
        name = platform_name(config) if isinstance(config, dict) else ""
        return (name,) if name else ()


def _target_registry(inputs: EcrInputs, token: EcrToken) -> RegistryTarget:
    if inputs.registry is not None:
        if inputs.marketplace and not inputs.registry.namespace:
            return RegistryTarget(inputs.registry.host, inputs.marketplace_seller)
        return inputs.registry
    if inputs.marketplace:
        return RegistryTarget(MARKETPLACE_REGISTRY, inputs.marketplace_seller)
    return RegistryTarget(token.registry_host)
