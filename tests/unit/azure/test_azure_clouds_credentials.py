"""Cloud endpoints, the sandbox override, credentials selection and the quick probe."""

from __future__ import annotations

import socket
import threading

import pytest

from imgpub.azure.clouds import ARM_ENDPOINT_ENV, normalize_regions, resolve_cloud
from imgpub.azure.credentials import (
    StaticTokenCredential,
    azure_credential,
    in_sandbox,
    probe,
    resolve_subscription,
)
from imgpub.errors import ConfigError, InputError


@pytest.mark.parametrize(
    ("name", "arm", "scope", "blob"),
    [
        ("AzureCloud", "https://management.azure.com", "https://management.azure.com/.default",
         "https://sa.blob.core.windows.net"),
        ("azurechinacloud", "https://management.chinacloudapi.cn",
         "https://management.chinacloudapi.cn/.default", "https://sa.blob.core.chinacloudapi.cn"),
        ("AzureUSGovernment", "https://management.usgovcloudapi.net",
         "https://management.usgovcloudapi.net/.default", "https://sa.blob.core.usgovcloudapi.net"),
    ],
)  # fmt: skip
def test_clouds(name, arm, scope, blob):
    cloud = resolve_cloud(name, env={})
    assert (cloud.arm_endpoint, cloud.credential_scope, cloud.blob_endpoint("sa")) == (
        arm,
        scope,
        blob,
    )
    assert not cloud.is_local and not cloud.overridden


def test_unknown_cloud():
    with pytest.raises(InputError) as err:
        resolve_cloud("AzureGermanCloud", env={})
    assert err.value.name == "azure-cloud" and "AzureUSGovernment" in err.value.one_line()


def test_sandbox_override():
    cloud = resolve_cloud("AzureCloud", env={ARM_ENDPOINT_ENV: "http://127.0.0.1:9/"})
    assert (cloud.arm_endpoint, cloud.overridden, cloud.is_local) == (
        "http://127.0.0.1:9",
        True,
        True,
    )
    assert in_sandbox(cloud, {"IMGPUB_SANDBOX": "1"})
    assert not in_sandbox(cloud, {})
    assert isinstance(azure_credential(cloud, {"IMGPUB_SANDBOX": "1"}), StaticTokenCredential)
    with pytest.raises(ConfigError, match="plain http"):
        azure_credential(cloud, {})
    with pytest.raises(ConfigError):
        resolve_cloud("AzureCloud", env={ARM_ENDPOINT_ENV: "127.0.0.1:9"})


def test_regions():
    cloud = resolve_cloud("AzureCloud", env={})
    assert normalize_regions(cloud, ["East US", "eastus", " westus2 ", "+mars1"]) == (
        "eastus",
        "westus2",
        "mars1",
    )
    with pytest.raises(InputError) as err:
        normalize_regions(cloud, ["eastus", "eastsus"])
    assert err.value.name == "target-regions" and "eastsus" in err.value.one_line()
    with pytest.raises(InputError):
        normalize_regions(resolve_cloud("AzureChinaCloud", env={}), ["eastus"])
    with pytest.raises(InputError):
        normalize_regions(cloud, [" ", ""])


def test_subscription():
    assert resolve_subscription(None, {"AZURE_SUBSCRIPTION_ID": "s1"}) == "s1"
    assert resolve_subscription("s2", {"AZURE_SUBSCRIPTION_ID": "s1"}) == "s2"
    with pytest.raises(InputError):
        resolve_subscription(None, {})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_probe_unreachable():
    cloud = resolve_cloud(
        "AzureCloud", env={ARM_ENDPOINT_ENV: f"http://127.0.0.1:{_closed_port()}"}
    )
    result = probe(StaticTokenCredential(), cloud, timeout=2)
    assert not result.ok and "cannot reach 127.0.0.1" in result.reason


class _Listener:
    """A loopback socket that accepts connections (reachability) and says nothing."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __exit__(self, *exc):
        self.sock.close()


def test_probe_does_not_wait_for_a_stuck_credential():
    gate = threading.Event()

    class Stuck:
        def get_token(self, *scopes, **kwargs):
            gate.wait(30)
            raise RuntimeError("late")

    try:
        with _Listener() as url:
            cloud = resolve_cloud("AzureCloud", env={ARM_ENDPOINT_ENV: url})
            result = probe(Stuck(), cloud, timeout=0.2)
        assert not result.ok and "no Azure credential answered" in result.reason
    finally:
        gate.set()


def test_probe_reports_credential_errors_in_one_line():
    class Failing:
        def get_token(self, *scopes, **kwargs):
            raise RuntimeError("DefaultAzureCredential failed\nmore lines\nand more")

    with _Listener() as url:
        cloud = resolve_cloud("AzureCloud", env={ARM_ENDPOINT_ENV: url})
        bad = probe(Failing(), cloud, timeout=2)
        good = probe(StaticTokenCredential(), cloud, timeout=2)
    assert not bad.ok and bad.reason == "no usable Azure credential (DefaultAzureCredential failed)"
    assert good.ok
