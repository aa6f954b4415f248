"""Shared fixtures: the sandbox's real local services, one per session, reset per test.

The fixtures use the same launchers as ``imgpub sandbox``, so the tests exercise exactly
what users rehearse with. A service that is not installed skips its tests locally, but
fails them in CI (``CI=true`` or ``IMGPUB_REQUIRE_SERVICES=1``), so a missing install step can never
turn the suite green by skipping.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from imgpub.sandbox.fake_services import (
    FAKE_ARM,
    FAKE_GITHUB,
    FAKE_LICENSE_MANAGER,
    FAKE_STARMAP,
    FAKE_WEBHOOK,
    start_fake,
    start_fake_catalog,
)
from imgpub.sandbox.services import (
    RunningService,
    ServiceUnavailable,
    start_azurite,
    start_ecr_registry,
    start_moto,
    start_registry,
)

REQUIRE_SERVICES = (
    os.environ.get("IMGPUB_REQUIRE_SERVICES") == "1" or os.environ.get("CI", "").lower() == "true"
)


def _unavailable(exc: ServiceUnavailable) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"required service {exc.service} is unavailable: {exc.reason}")
    pytest.skip(f"{exc.service} unavailable: {exc.reason}")


@pytest.fixture(autouse=True)
def _no_real_clouds(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real cloud or a developer's credentials."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "AZURE_", "GITHUB_", "INPUT_", "IMGPUB_", "RUNNER_")) and (
            key != "IMGPUB_REQUIRE_SERVICES"
        ):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


# -- AWS (moto + imgpub's EC2 extensions) -----------------------------------------------------


@pytest.fixture(scope="session")
def moto_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    svc = start_moto(tmp_path_factory.mktemp("moto"))
    yield svc
    svc.process.stop()


def _reset_aws(endpoint: str) -> None:
    try:
        from imgpub.sandbox.control import Ec2Control
    except ImportError:  # pragma: no cover - the control API ships with the sandbox
        req = urllib.request.Request(endpoint + "/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=10).close()
        return
    Ec2Control(endpoint).reset()


@pytest.fixture
def aws_endpoint(moto_service: RunningService, monkeypatch: pytest.MonkeyPatch) -> str:
    """The local AWS endpoint, freshly reset, with the environment pointing at it."""
    endpoint = moto_service.info["endpoint"]
    _reset_aws(endpoint)
    for key, value in moto_service.env.items():
        monkeypatch.setenv(key, value)
    return endpoint


@pytest.fixture
def ec2_control(aws_endpoint: str) -> object:
    from imgpub.sandbox.control import Ec2Control

    return Ec2Control(aws_endpoint)


# -- Azure ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AzuriteInfo:
    connection_string: str
    blob_endpoint: str


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteInfo]:
    try:
        svc = start_azurite(tmp_path_factory.mktemp("azurite"))
    except ServiceUnavailable as exc:
        _unavailable(exc)
        raise  # unreachable: _unavailable skips or fails
    yield AzuriteInfo(svc.env["AZURE_STORAGE_CONNECTION_STRING"], svc.info["blob_endpoint"])
    svc.process.stop()


@pytest.fixture(scope="session")
def fake_arm_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    svc = start_fake(FAKE_ARM, tmp_path_factory.mktemp("arm"))
    yield svc
    svc.process.stop()


# -- AWS Marketplace Catalog (imgpub's fake, checking AMIs and roles in the local AWS) -------


@pytest.fixture(scope="session")
def catalog_service(
    moto_service: RunningService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    svc = start_fake_catalog(
        tmp_path_factory.mktemp("catalog"), aws_endpoint=moto_service.info["endpoint"]
    )
    yield svc
    svc.process.stop()


@pytest.fixture
def catalog(catalog_service: RunningService, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    """The fake Marketplace Catalog emptied (no products) and fast (0.5 s per phase), with
    AWS_ENDPOINT_URL_MARKETPLACE_CATALOG pointing at it; a FakeClient of its control API."""
    from imgpub.sandbox.fake_client import FakeClient

    client = FakeClient(catalog_service.info["endpoint"])
    client.reset()
    client.call("set_timing", preparing_seconds=0.5, applying_seconds=0.5)
    for key, value in catalog_service.env.items():
        monkeypatch.setenv(key, value)
    return client


# -- GitHub and webhooks (the wiki-pr stage and notifications) -------------------------------


@pytest.fixture(scope="session")
def fake_github_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The sandbox's fake GitHub as a child process (seeded with almalinux/wiki and a token);
    drive it with ``FakeClient(svc.info["endpoint"])`` and reset it between tests."""
    svc = start_fake(FAKE_GITHUB, tmp_path_factory.mktemp("github"))
    yield svc
    svc.process.stop()


@pytest.fixture(scope="session")
def fake_webhook_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The sandbox's webhook receiver as a child process (hook ``imgpub-sandbox``)."""
    svc = start_fake(FAKE_WEBHOOK, tmp_path_factory.mktemp("webhook"))
    yield svc
    svc.process.stop()


# -- OCI registry ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        svc = start_registry(tmp_path_factory.mktemp("registry"))
    except ServiceUnavailable as exc:
        _unavailable(exc)
        raise
    yield svc.info["host"]
    svc.process.stop()


@pytest.fixture(scope="session")
def ecr_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The ECR stand-in: docker-registry with basic auth for moto's token, access-logged."""
    try:
        svc = start_ecr_registry(tmp_path_factory.mktemp("ecr"))
    except ServiceUnavailable as exc:
        _unavailable(exc)
        raise
    yield svc
    svc.process.stop()


@pytest.fixture(scope="session")
def license_manager_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The fake License Manager as the sandbox runs it (a child process, seeded)."""
    svc = start_fake(FAKE_LICENSE_MANAGER, tmp_path_factory.mktemp("license-manager"))
    yield svc
    svc.process.stop()


# -- StArMap (imgpub push) ------------------------------------------------------------------


@pytest.fixture(scope="session")
def starmap_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The fake StArMap as the sandbox runs it (a child process, seeded with the examples)."""
    svc = start_fake(FAKE_STARMAP, tmp_path_factory.mktemp("starmap"))
    yield svc
    svc.process.stop()


@pytest.fixture
def starmap(starmap_service: RunningService):
    """The fake StArMap, reset to the example mappings with an empty request log; a
    FakeClient of its control API (``.url`` is the query base URL)."""
    from imgpub.sandbox.fake_client import FakeClient
    from imgpub.sandbox.fake_services import FAKE_STARMAP

    client = FakeClient(starmap_service.info["endpoint"])
    client.reset()
    client.seed(FAKE_STARMAP.seed)
    return client


# -- helpers -----------------------------------------------------------------------------------


def read_json(path: Path) -> object:
    return json.loads(path.read_text("utf-8"))
