"""actions/marketplace-changeset run the way the runner runs it, against the sandbox."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness import assert_runner_hygiene, run_action

from tests.integration.marketplace_helpers import DEV_PRODUCT, release, versions

ACTION = Path(__file__).resolve().parents[2] / "actions" / "marketplace-changeset"


def job_env() -> dict[str, str]:
    keys = (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_MARKETPLACE_CATALOG",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
    )
    return {k: os.environ[k] for k in keys} | {"AWS_REGION": "us-east-1"}


def test_action_outputs_summary_links_and_chaining(tmp_path, catalog):
    x86, arm, role = release(catalog)
    result = run_action(
        ACTION,
        inputs={"ami-id": f"{x86}\n{arm}", "access-role-arn": role},
        env=job_env(),
        root=tmp_path,
    )
    assert result.exit_code == 0, result.stdout
    assert_runner_hygiene(result)
    change_sets = json.loads(result.outputs["change-sets"])
    assert [c["state"] for c in change_sets] == ["succeeded", "succeeded"]
    assert {c["product_id"] for c in change_sets} == {DEV_PRODUCT}
    assert result.outputs["status"] == "success"
    doc = json.loads(Path(result.outputs["results-path"]).read_text())
    assert (
        doc["stages"]["marketplace-changeset"]["outputs"]["change-sets"]
        == (result.outputs["change-sets"])
    )
    summary = result.summary
    assert "## marketplace-changeset: done" in summary
    for c in change_sets:
        url = f"https://aws.amazon.com/marketplace/management/requests/{c['change_set_id']}"
        assert url in summary  # GitHub links a bare URL in a table cell
    assert "| AlmaLinux OS 9.6.20250522 aarch64 |" in summary
    assert result.job_outputs()["change-sets"] == result.outputs["change-sets"]
    assert any(g.startswith("Apply: marketplace-changeset") for g in result.log.groups)
    assert {"9.6.20250522 x86_64", "9.6.20250522 arm64"} <= set(versions(catalog, DEV_PRODUCT))


def test_action_failed_verdict_annotates_every_error_and_exits_1(tmp_path, catalog):
    x86, _, _ = release(catalog)
    catalog.call(
        "add_scan_findings",
        ami_id=x86,
        findings=[{"ErrorCode": "SCAN_ERROR", "ErrorMessage": "CVE-2026-1234 in glibc"}],
    )
    result = run_action(
        ACTION,
        inputs={"ami-id": x86, "access-role-arn": "arn:aws:iam::123456789012:role/absent"},
        env=job_env(),
        root=tmp_path,
    )
    assert result.exit_code == 1, result.stdout
    assert_runner_hygiene(result)
    errors = [a.message for a in result.annotations_of("error")]
    assert len([e for e in errors if "ASSET_ACCESS_EXCEPTION" in e]) == 1
    assert len([e for e in errors if "SCAN_ERROR" in e]) == 1
    assert "Errors and what to do" in result.summary
    assert result.outputs["status"] == "failed"
    [cs] = json.loads(result.outputs["change-sets"])
    assert cs["state"] == "failed" and cs["status"] == "FAILED"


def test_action_bad_input_is_an_error_annotation_and_exit_2(tmp_path, catalog):
    result = run_action(
        ACTION,
        inputs={"ami-id": "ami-nope", "access-role-arn": "arn:aws:iam::123456789012:role/r"},
        env=job_env(),
        root=tmp_path,
    )
    assert result.exit_code == 2
    errors = result.annotations_of("error")
    assert len(errors) == 1 and "ami-id" in errors[0].message
    assert "Nothing was changed" in result.summary
    assert result.outputs["results-path"] == ""  # nothing was written
