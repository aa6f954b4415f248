"""``imgpub license-check`` (the hook's command) against the fake License Manager.

The real boto3 client reaches the fake only through AWS_ENDPOINT_URL_LICENSE_MANAGER.
Each license state a buyer can be in gives its own exit code; the command line is the
one the injected hook Job runs, taken from the rendered template itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from imgpub.registry.chart_inputs import HookValues
from imgpub.registry.hook import HOOK_FILE, neutralised, render_hook
from imgpub.sandbox.fake_client import FakeClient
from imgpub.sandbox.fake_license_manager import FakeLicenseManager


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    with FakeLicenseManager() as lm:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LICENSE_MANAGER", lm.url)
        lm.add_license(
            "prod-valid1234",
            [{"Name": "ReadOnlyUsers"}, {"Name": "Seats", "Unit": "Count", "MaxCount": 2}],
        )
        lm.add_license("prod-expired12", [{"Name": "ReadOnlyUsers"}], valid_days=-2)
        lm.add_license("prod-other1234", [{"Name": "AdminUsers"}])
        yield lm


def hook_args(sku: str, entitlement: str = "ReadOnlyUsers") -> list[str]:
    values = HookValues(sku, (entitlement,), "r.example/lc:1", "sa", "us-east-1", "admin")
    job = neutralised(render_hook(values)[HOOK_FILE])
    return job["spec"]["template"]["spec"]["containers"][0]["args"]


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgpub.cli", "license-check", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )


@pytest.mark.parametrize(
    ("sku", "entitlement", "code", "word"),
    [
        ("prod-valid1234", "ReadOnlyUsers", 0, "granted"),
        ("prod-none12345", "ReadOnlyUsers", 10, "no-license"),
        ("prod-expired12", "ReadOnlyUsers", 11, "expired"),
        ("prod-other1234", "ReadOnlyUsers", 12, "not-entitled"),
    ],
)
def test_each_license_state_has_its_exit_code(fake, sku, entitlement, code, word):
    proc = check(*hook_args(sku, entitlement))
    assert proc.returncode == code, proc.stdout + proc.stderr
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and word in lines[0] and "Traceback" not in lines[0], lines
    [checkout] = fake.log.matching("CheckoutLicense")
    body = checkout.body
    assert body["ProductSKU"] == sku and body["CheckoutType"] == "PROVISIONAL"
    assert body["KeyFingerprint"] == "aws:294406891311:AWS/Marketplace:issuer-fingerprint"
    assert body["Entitlements"] == [{"Name": entitlement, "Unit": "None"}]
    assert body["ClientToken"] and checkout.authorization


def test_granted_prints_the_license_and_entitlement_as_json(fake):
    proc = check("--product-sku", "prod-valid1234", "--entitlement", "ReadOnlyUsers", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[0])
    assert result["verdict"] == "granted" and result["license_arn"].startswith(
        "arn:aws:license-manager::"
    )
    assert result["entitlements"] == [{"Name": "ReadOnlyUsers", "Unit": "None"}]
    assert "SignedToken" not in proc.stdout and "lct-" not in proc.stdout


def test_capacity_used_up_is_not_entitled(fake):
    args = ("--product-sku", "prod-valid1234", "--entitlement", "Seats=2:Count")
    assert check(*args).returncode == 0
    assert check(*args).returncode == 12, "two seats of two are taken"


def test_throttling_is_retried_with_the_same_client_token(fake):
    fake.faults.fail("CheckoutLicense", status=400, code="RateLimitExceededException", times=2)
    proc = check(
        "--product-sku",
        "prod-valid1234",
        "--entitlement",
        "ReadOnlyUsers",
        "--client-token",
        "tok-1",
    )
    assert proc.returncode == 0, proc.stderr
    tokens = [r.body["ClientToken"] for r in fake.log.matching("CheckoutLicense")]
    assert tokens == ["tok-1"] * 3


def test_aws_errors_and_bad_arguments(fake):
    fake.faults.fail("CheckoutLicense", status=400, code="AccessDeniedException", times=None)
    proc = check("--product-sku", "prod-valid1234", "--entitlement", "ReadOnlyUsers")
    assert proc.returncode == 13 and "license-manager:CheckoutLicense" in proc.stderr
    fake.faults.clear()
    assert check("--product-sku", "prod-valid1234", "--entitlement", "bad name!").returncode == 2
    assert check("--entitlement", "x").returncode == 2  # no product


def test_the_sandbox_service_is_seeded_with_a_valid_and_an_expired_license(
    license_manager_service, monkeypatch
):
    endpoint = license_manager_service.info["endpoint"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_LICENSE_MANAGER", endpoint)
    assert check(*hook_args("prod-imgpubdemo1")).returncode == 0
    assert check(*hook_args("prod-imgpubexpired")).returncode == 11
    assert FakeClient(endpoint).health()["fake"] == "FakeLicenseManager"
