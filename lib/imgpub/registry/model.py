"""ecr-mirror's inputs, validated once: every problem is an InputError naming the input.

Exit 2 promises that nothing changed, so everything that can be checked without a cloud
call is checked here: references and tags as registries accept them, destinations that
would collide, Marketplace rules that would only fail after the push (``latest`` tags),
credentials' syntax, TLS only ever off for registries on this machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imgpub.errors import InputError
from imgpub.inputs import InputReader
from imgpub.oci.client import Credentials
from imgpub.oci.reference import (
    DOCKER_HUB,
    DOCKER_HUB_API,
    HOST,
    Reference,
    ReferenceError,
    check_repository,
    check_tag,
    is_loopback,
    parse_reference,
)
from imgpub.registry.chart_inputs import ChartInputs, parse_chart_inputs
from imgpub.registry.spec import MARKETPLACE_REGION

_SELLER = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$")
_IMAGE_KEYS = frozenset({"source", "repository", "tag", "platforms"})
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]$")


@dataclass(frozen=True)
class ImageJob:
    """One image to mirror: a source and where it goes (relative to the registry)."""

    source: Reference
    repository: str
    tag: str
    platforms: tuple[str, ...] = ()  # platforms the source must provide

    @property
    def key(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class RegistryTarget:
    """``HOST[/NAMESPACE]``: where repositories are pushed."""

    host: str
    namespace: str = ""

    def repository(self, name: str) -> str:
        return f"{self.namespace}/{name}" if self.namespace else name

    def reference(self, name: str, tag: str) -> Reference:
        return Reference(self.host, self.repository(name), tag)

    def __str__(self) -> str:
        return f"{self.host}/{self.namespace}" if self.namespace else self.host


@dataclass(frozen=True)
class EcrInputs:
    images: tuple[ImageJob, ...]
    chart: ChartInputs | None
    registry: RegistryTarget | None  # None: from GetAuthorizationToken
    marketplace_seller: str
    region: str
    create_repositories: bool
    source_credentials: Mapping[str, Credentials]
    tls_verify: bool
    max_concurrency: int

    @property
    def marketplace(self) -> bool:
        return bool(self.marketplace_seller)


def parse_ecr_inputs(
    reader: InputReader, env: Mapping[str, str], mask: Callable[[str], None]
) -> EcrInputs:
    seller = reader.text("marketplace-seller")
    if seller and not _SELLER.match(seller):
        raise InputError(
            "marketplace-seller",
            f"{seller!r} is not a seller prefix",
            "give it as in the seller portal, e.g. acme",
        )
    region = _region(reader, env, marketplace=bool(seller))
    images = _images(reader, marketplace=bool(seller))
    chart = parse_chart_inputs(reader, marketplace=bool(seller))
    if not images and chart is None:
        raise InputError("images", "nothing to mirror", "give images (one per line) or a chart")
    registry = _registry(reader.text("registry"))
    credentials = _credentials(reader.secret("source-credentials"), mask)
    tls_verify = reader.boolean("tls-verify")
    if not tls_verify:
        _check_all_local(images, chart, registry)
    return EcrInputs(
        images=images,
        chart=chart,
        registry=registry,
        marketplace_seller=seller,
        region=region,
        create_repositories=reader.boolean("create-repositories"),
        source_credentials=credentials,
        tls_verify=tls_verify,
        max_concurrency=reader.integer("max-concurrency", minimum=1, maximum=32),
    )


def _region(reader: InputReader, env: Mapping[str, str], *, marketplace: bool) -> str:
    given = reader.text("region")
    if given and not _REGION.match(given):
        raise InputError("region", f"{given!r} is not an AWS region", "use e.g. us-east-1")
    if marketplace:
        if given and given != MARKETPLACE_REGION:
            raise InputError(
                "region",
                f"the Marketplace registry is in {MARKETPLACE_REGION}, not {given}",
                f"leave region empty or set {MARKETPLACE_REGION}",
            )
        return MARKETPLACE_REGION
    return given or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"


def _registry(text: str) -> RegistryTarget | None:
    if not text:
        return None
    if "://" in text:
        raise InputError(
            "registry", f"{text!r} has a scheme", "give HOST[/NAMESPACE] without https://"
        )
    host, _, namespace = text.strip("/").partition("/")
    if not HOST.match(host):
        raise InputError(
            "registry",
            f"{host!r} is not a registry host",
            "give e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com",
        )
    if namespace:
        try:
            check_repository(namespace)
        except ReferenceError as exc:
            raise InputError(
                "registry", f"namespace: {exc}", "fix the path after the host"
            ) from None
    return RegistryTarget(host, namespace)


def _images(reader: InputReader, *, marketplace: bool) -> tuple[ImageJob, ...]:
    lines = reader.lines("images")
    items: list[Any]
    if len(lines) == 1 and _is_file_name(lines[0]):
        items = _image_file(Path(lines[0]))
    else:
        items = list(lines)
    jobs = [_image(item, marketplace=marketplace) for item in items]
    seen: dict[str, ImageJob] = {}
    for job in jobs:
        other = seen.get(job.key)
        if other is not None:
            raise InputError(
                "images",
                f"{other.source} and {job.source} both go to {job.key}",
                "give each a different -> REPOSITORY:TAG",
            )
        seen[job.key] = job
    return tuple(jobs)


def _is_file_name(line: str) -> bool:
    last = line.rsplit("/", 1)[-1]
    return line.endswith((".yml", ".yaml")) and ":" not in last and "->" not in line


def _image_file(path: Path) -> list[Any]:
    try:
        doc = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise InputError(
            "images", f"cannot read {path}: {exc.strerror}", "check the path"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(
            "images", f"{path} is not valid YAML: {str(exc).splitlines()[0]}", "fix the YAML"
        ) from None
    items = doc.get("images") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise InputError(
            "images", f"{path} has no 'images' list", "write images: [- SOURCE -> REPO:TAG, ...]"
        )
    return items


def _image(item: Any, *, marketplace: bool) -> ImageJob:
    if isinstance(item, str):
        source_text, arrow, target = item.partition("->")
        options: dict[str, Any] = {"source": source_text.strip()}
        if arrow:
            repo, _, tag = target.strip().partition(":")
            if not repo:
                raise InputError(
                    "images", f"{item!r}: nothing after ->", "write SOURCE -> REPOSITORY[:TAG]"
                )
            options["repository"] = repo
            if tag:
                options["tag"] = tag
    elif isinstance(item, dict):
        unknown = sorted(set(map(str, item)) - _IMAGE_KEYS)
        if unknown:
            raise InputError(
                "images", f"unknown image options {unknown}", f"use {sorted(_IMAGE_KEYS)}"
            )
        options = {str(k): v for k, v in item.items()}
    else:
        raise InputError(
            "images", f"{item!r} is not an image line or mapping", "write SOURCE -> REPO:TAG"
        )
    return _job(options, marketplace=marketplace)


def _job(options: dict[str, Any], *, marketplace: bool) -> ImageJob:
    text = str(options.get("source") or "")
    try:
        source = parse_reference(text, default_tag=None)
    except ReferenceError as exc:
        raise InputError("images", str(exc), "write e.g. docker.io/camunda/zeebe:8.3.4") from None
    tag = str(options.get("tag") or source.tag or "")
    if not tag:
        raise InputError(
            "images",
            f"{text!r} has neither a tag nor a destination tag",
            f"name the version: {text}:1.2.3, or {text} -> REPOSITORY:TAG",
        )
    repository = str(options.get("repository") or source.repository.rsplit("/", 1)[-1])
    try:
        check_tag(tag)
        check_repository(repository)
    except ReferenceError as exc:
        raise InputError("images", f"{text!r}: {exc}", "fix the destination after ->") from None
    if marketplace and tag == "latest":
        raise InputError(
            "images",
            f"{text!r} would be pushed as 'latest'",
            "Marketplace refuses 'latest' (and a tag there can never change): use a version",
        )
    return ImageJob(source, repository, tag, _platforms(options.get("platforms"), text))


def _platforms(value: Any, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = tuple(str(p) for p in items)
    for platform in out:
        if not _PLATFORM.match(platform):
            raise InputError(
                "images",
                f"{source}: platform {platform!r} is not os/arch[/variant]",
                "write e.g. linux/arm64",
            )
    return out


def _credentials(text: str, mask: Callable[[str], None]) -> dict[str, Credentials]:
    out: dict[str, Credentials] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        host, eq, pair = line.partition("=")
        user, colon, password = pair.partition(":")
        host = host.strip()
        if not eq or not colon or not user or not password or not HOST.match(host):
            raise InputError(
                "source-credentials",
                f"line {number} is not HOST=USER:PASSWORD",
                "write one registry per line, e.g. docker.io=me:dckr_pat_…",
            )
        mask(password)
        api = DOCKER_HUB_API if host in (DOCKER_HUB, "index.docker.io") else host
        out[api] = Credentials(user, password)
    return out


def _check_all_local(
    images: tuple[ImageJob, ...], chart: ChartInputs | None, registry: RegistryTarget | None
) -> None:
    hosts = [j.source.registry for j in images]
    if chart is not None:
        hosts.append(chart.host)
    hosts.append(registry.host if registry else "the account's ECR registry")
    remote = [h for h in hosts if not is_loopback(h)]
    if remote:
        raise InputError(
            "tls-verify",
            f"false is allowed only for registries on this machine, not {remote[0]}",
            "leave tls-verify true; only the sandbox's registries run without TLS",
        )
