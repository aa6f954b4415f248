"""The unhappy paths of marketplace-changeset, each followed by the re-run that finishes it:
a product already busy, a run killed after StartChangeSet, the deadline, a FAILED verdict,
a signal mid-wait, transient API errors and wait: false."""

from __future__ import annotations

import json
import os
import signal
import time

import boto3
import pytest

from tests.integration.marketplace_helpers import (
    DEV_PRODUCT,
    PRODUCT_9_X86,
    access_role,
    by_kind,
    imgpub,
    release,
    section,
    started,
    versions,
)
from tests.integration.test_fake_catalog import add_version


def wait_for_start(catalog, proc, count=1, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if started(catalog) >= count:
            return
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.1)
    raise AssertionError("imgpub did not start a change set")


def polls_of(catalog, change_set_id: str) -> list:
    return [
        r
        for r in catalog.log.matching("DescribeChangeSet")
        if r.query.get("changeSetId") == change_set_id
    ]


def change_sets_for(catalog, ami: str) -> list[dict]:
    found = []
    for request in catalog.log.matching("StartChangeSet"):
        if ami in json.dumps(request.body) and request.body.get("Intent", "APPLY") == "APPLY":
            found.append(request.body.get("ClientRequestToken"))
    return found


def open_by_hand(catalog, role: str, preparing: float, applying: float) -> str:
    """A change set someone else started on the dev product (another AMI), lasting this long."""
    other = boto3.client("ec2", region_name="us-east-1").register_image(
        Name="AlmaLinux OS 9.5.20241120 x86_64", RootDeviceName="/dev/sda1", Architecture="x86_64"
    )["ImageId"]
    catalog.call("set_timing", preparing_seconds=preparing, applying_seconds=applying)
    foreign = boto3.client("marketplace-catalog", region_name="us-east-1").start_change_set(
        Catalog="AWSMarketplace",
        ChangeSet=[add_version(other, role, "9.5.20241120 x86_64", "t3.small")],
        ChangeSetName="Release by hand",
    )["ChangeSetId"]
    catalog.call("set_timing", preparing_seconds=0.5, applying_seconds=0.5)
    return str(foreign)


def test_a_change_set_already_open_on_the_product_is_waited_for(tmp_path, catalog):
    x86, _, role = release(catalog)
    foreign = open_by_hand(catalog, role, preparing=1.0, applying=1.5)
    mc = boto3.client("marketplace-catalog", region_name="us-east-1")
    proc = imgpub(tmp_path, "--ami-id", x86, "--access-role-arn", role)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"waiting for change set {foreign}" in proc.stdout
    assert mc.describe_change_set(Catalog="AWSMarketplace", ChangeSetId=foreign)["Status"] == (
        "SUCCEEDED"
    )
    assert versions(catalog, DEV_PRODUCT)[-2:] == ["9.5.20241120 x86_64", "9.6.20250522 x86_64"]
    assert started(catalog) == 2  # the foreign one and imgpub's; no retry into the lock


def test_a_product_still_locked_at_the_deadline_is_not_touched(tmp_path, catalog):
    x86, _, role = release(catalog)
    foreign = open_by_hand(catalog, role, preparing=600, applying=600)
    proc = imgpub(tmp_path, "--ami-id", x86, "--access-role-arn", role, "--timeout", "2s")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [version] = by_kind(section(tmp_path), "marketplace-version")
    assert version["state"] == "cancelled" and foreign in version["error"]
    assert by_kind(section(tmp_path), "marketplace-change-set") == []
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning")]
    assert len(warnings) == 1 and foreign in warnings[0]
    assert started(catalog) == 1  # only the foreign one


def test_a_run_killed_after_start_change_set_is_adopted_by_the_rerun(tmp_path, catalog):
    x86, arm, role = release(catalog)
    catalog.call("set_timing", preparing_seconds=30, applying_seconds=30)
    args = ["--ami-id", f"{x86},{arm}", "--access-role-arn", role]
    proc = imgpub(tmp_path, *args, wait=False)
    try:
        wait_for_start(catalog, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    catalog.call("finish_on_describe", describes=2)  # in flight when the re-run finds it
    catalog.call("set_timing", preparing_seconds=0.5, applying_seconds=0.5)
    second = imgpub(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(change_sets_for(catalog, x86)) == 1, "the re-run started a second change set"
    assert len(change_sets_for(catalog, arm)) == 1
    sec = section(tmp_path)
    cs = {t["source"]: t["state"] for t in by_kind(sec, "marketplace-change-set")}
    assert cs == {x86: "existed", arm: "created"}  # the first was adopted
    assert {t["state"] for t in by_kind(sec, "marketplace-version")} == {"created"}
    assert versions(catalog, DEV_PRODUCT).count("9.6.20250522 x86_64") == 1


def test_the_deadline_is_exit_3_with_the_pending_id_and_the_rerun_adopts_it(tmp_path, catalog):
    x86, _, role = release(catalog)
    catalog.call("set_timing", preparing_seconds=600, applying_seconds=600)
    args = ["--ami-id", x86, "--access-role-arn", role]
    first = imgpub(tmp_path, *args, "--timeout", "2s")
    assert first.returncode == 3, first.stdout + first.stderr
    sec = section(tmp_path)
    assert sec["status"] == "partial"
    [cs] = json.loads(sec["outputs"]["change-sets"])
    assert cs["state"] == "pending" and cs["status"] == "PREPARING" and cs["change_set_id"]
    assert sec["data"]["pending"] == [cs["change_set_id"]]
    [version] = by_kind(sec, "marketplace-version")
    assert version["state"] == "cancelled" and "deadline" in version["error"]
    assert "re-run" in version["remedy"]
    assert by_kind(sec, "marketplace-change-set")[0]["state"] == "created"

    # the re-run finds the change set still running, adopts it and waits for its verdict
    catalog.log.clear()
    second = imgpub(tmp_path, *args, wait=False)
    try:
        deadline = time.monotonic() + 60
        while len(polls_of(catalog, cs["change_set_id"])) < 2:  # discovery, then waiting
            assert time.monotonic() < deadline and second.poll() is None
            time.sleep(0.1)
        catalog.call("advance", seconds=1200)
        out, _ = second.communicate(timeout=60)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, out
    assert started(catalog) == 0
    [again] = json.loads(section(tmp_path)["outputs"]["change-sets"])
    assert again["change_set_id"] == cs["change_set_id"] and again["state"] == "succeeded"
    assert by_kind(section(tmp_path), "marketplace-change-set")[0]["state"] == "existed"
    assert "9.6.20250522 x86_64" in versions(catalog, DEV_PRODUCT)

    # and once it is done, the next run names the change set that made the version
    third = imgpub(tmp_path, *args)
    assert third.returncode == 0, third.stdout + third.stderr
    [done] = json.loads(section(tmp_path)["outputs"]["change-sets"])
    assert (done["change_set_id"], done["state"]) == (cs["change_set_id"], "existed")


def test_a_failed_verdict_is_exit_1_with_every_error_then_a_fixed_rerun_succeeds(tmp_path, catalog):
    x86, _, _ = release(catalog)
    role = "arn:aws:iam::123456789012:role/mp-later"
    catalog.call(
        "add_scan_findings",
        ami_id=x86,
        findings=[{"ErrorCode": "SCAN_ERROR", "ErrorMessage": "CVE-2026-1234 in glibc"}],
    )
    args = ["--ami-id", x86, "--access-role-arn", role]
    first = imgpub(tmp_path, *args)
    assert first.returncode == 1, first.stdout + first.stderr
    out = first.stdout
    for code in ("ASSET_ACCESS_EXCEPTION", "SCAN_ERROR"):
        assert code in out, code
        assert sum(code in ln for ln in first.stderr.splitlines() if ln.startswith("error")) == 1
    assert "trusts assets.marketplace.amazonaws.com" in out  # the remedy of the role error
    assert "CVE-2026-1234" in out
    sec = section(tmp_path)
    assert sec["status"] == "failed"
    [version] = by_kind(sec, "marketplace-version")
    assert [e["code"] for e in version["details"]["errors"]] == [
        "ASSET_ACCESS_EXCEPTION",
        "SCAN_ERROR",
    ]
    assert by_kind(sec, "marketplace-change-set")[0]["state"] == "failed"

    access_role("mp-later")
    catalog.call("add_scan_findings", ami_id=x86, findings=[])
    second = imgpub(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    tokens = change_sets_for(catalog, x86)
    assert len(tokens) == 2 and tokens[0] != tokens[1], "a fixed re-run needs a fresh request"


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_a_signal_while_waiting_saves_the_change_set_and_the_rerun_adopts_it(
    tmp_path, catalog, signame
):
    x86, arm, role = release(catalog)
    catalog.call("set_timing", preparing_seconds=600, applying_seconds=600)
    args = ["--ami-id", f"{x86},{arm}", "--access-role-arn", role]
    proc = imgpub(tmp_path, *args, wait=False)
    try:
        wait_for_start(catalog, proc)
        time.sleep(0.3)
        proc.send_signal(getattr(signal, signame))
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, out
    sec = section(tmp_path)
    change_set = by_kind(sec, "marketplace-change-set")
    assert [(t["source"], t["state"]) for t in change_set] == [(x86, "created")]
    states = {t["source"]: t["state"] for t in by_kind(sec, "marketplace-version")}
    assert states == {x86: "cancelled", arm: "cancelled"}
    assert "change sets still running" in out
    assert sec["data"]["pending"] == [change_set[0]["resource_id"]]

    catalog.call("advance", seconds=1199)
    catalog.call("set_timing", preparing_seconds=0.5, applying_seconds=0.5)
    again = imgpub(tmp_path, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(change_sets_for(catalog, x86)) == 1 and len(change_sets_for(catalog, arm)) == 1


def test_transient_api_errors_are_retried_without_a_second_change_set(tmp_path, catalog):
    x86, _, role = release(catalog)
    catalog.faults.fail("StartChangeSet", status=423, code="ResourceInUseException", times=1)
    catalog.faults.fail("DescribeChangeSet", status=429, code="ThrottlingException", times=2)
    catalog.faults.fail("StartChangeSet", status=500, code="InternalServiceException", times=1)
    proc = imgpub(tmp_path, "--ami-id", x86, "--access-role-arn", role)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ok = [r for r in catalog.log.matching("StartChangeSet") if r.status == 200]
    assert len(ok) == 1 and len(catalog.call("entity", product_id=DEV_PRODUCT)["Versions"]) == 2
    assert "locked by another request" in proc.stdout


def test_wait_false_starts_and_finishes_and_the_next_run_collects_the_verdict(tmp_path, catalog):
    x86, _, role = release(catalog)
    catalog.call("set_timing", preparing_seconds=60, applying_seconds=60)
    args = ["--ami-id", x86, "--public-product", "true", "--access-role-arn", role]
    first = imgpub(tmp_path, *args, "--wait", "false")
    assert first.returncode == 0, first.stdout + first.stderr
    [cs] = json.loads(section(tmp_path)["outputs"]["change-sets"])
    assert cs["state"] == "started" and cs["status"] == "PREPARING"
    assert by_kind(section(tmp_path), "marketplace-version")[0]["state"] == "skipped"
    catalog.call("finish_on_describe", describes=2)  # in flight when the next run finds it
    second = imgpub(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert started(catalog) == 1
    assert json.loads(section(tmp_path)["outputs"]["change-sets"])[0]["state"] == "succeeded"
    assert "9.6.20250522" in versions(catalog, PRODUCT_9_X86)
