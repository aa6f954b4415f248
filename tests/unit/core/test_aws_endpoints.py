"""AWS endpoints come from the standard settings, service-specific first, as botocore does."""

from __future__ import annotations

from imgpub.aws.session import ClientFactory


def endpoint(factory: ClientFactory, service: str) -> str:
    return factory._client(service, "us-east-1").meta.endpoint_url


def test_process_environment_is_read_by_botocore_itself(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1111")
    monkeypatch.setenv("AWS_ENDPOINT_URL_MARKETPLACE_CATALOG", "http://127.0.0.1:2222")
    factory = ClientFactory()
    assert endpoint(factory, "ec2") == "http://127.0.0.1:1111"
    assert endpoint(factory, "marketplace-catalog") == "http://127.0.0.1:2222"


def test_a_given_mapping_is_resolved_the_same_way(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:3333",
        "AWS_ENDPOINT_URL_LICENSE_MANAGER": "http://127.0.0.1:4444",
    }
    factory = ClientFactory(environ=env)
    assert endpoint(factory, "ssm") == "http://127.0.0.1:3333"
    assert endpoint(factory, "license-manager") == "http://127.0.0.1:4444"
    ignored = ClientFactory(environ={**env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})
    assert endpoint(ignored, "ssm") == "https://ssm.us-east-1.amazonaws.com"
