"""Fixtures for the mirror-ami integration tests.

They use the project's ``aws_endpoint`` fixture (imgpub's sandbox moto with the EC2
extensions) when tests/conftest.py provides it, else a plain moto server started here on a
free 127.0.0.1 port. Plain moto lacks block public access, deprecation and latency
injection; tests that need them skip there.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from imgpub.aws.session import CallCounter, ClientFactory
from imgpub.sandbox.seed import register_release_ami

SOURCE_REGION = "us-east-1"


@pytest.fixture(scope="session")
def _plain_moto() -> Iterator[str]:
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_url(request: pytest.FixtureRequest) -> str:
    try:
        url: str = request.getfixturevalue("aws_endpoint")
        return url
    except pytest.FixtureLookupError:
        pass
    url = request.getfixturevalue("_plain_moto")
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    return url


@dataclass
class Aws:
    url: str
    env: dict[str, str]
    counter: CallCounter

    def factory(self, observer: bool = True) -> ClientFactory:
        return ClientFactory(
            environ=self.env, max_attempts=3, observer=self.counter.observe if observer else None
        )

    def ec2(self, region: str = SOURCE_REGION) -> Any:
        return boto3.client(
            "ec2",
            region_name=region,
            endpoint_url=self.url,
            config=Config(retries={"max_attempts": 1}),
        )

    def ssm(self, region: str) -> Any:
        return boto3.client("ssm", region_name=region, endpoint_url=self.url)

    def supports(self, call: str) -> bool:
        try:
            getattr(self.ec2(), call)()
        except Exception:
            return False
        return True

    def make_source(self, name: str, arch_tag: str, version: str = "9.7.20260518") -> str:
        return register_release_ami(self.ec2(), name, version, arch_tag)


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": SOURCE_REGION,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Aws(url=moto_url, env=env, counter=CallCounter())
