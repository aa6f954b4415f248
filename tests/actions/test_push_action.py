"""actions/push run the way the runner runs it, against the local EC2/EBS."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness import assert_runner_hygiene, masked_leaks, run_action

from tests.integration.push_helpers import (
    ACCESS_ID,
    SECRET_KEY,
    as_base64,
    aws_credentials,
    mapping_file,
    staged,
)

ACTION = Path(__file__).resolve().parents[2] / "actions" / "push"


def job_env() -> dict[str, str]:
    keys = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    return {k: os.environ[k] for k in keys} | {"AWS_REGION": "us-east-1"}


def test_action_pushes_from_multi_line_sources_and_never_shows_a_secret(tmp_path, aws_endpoint):
    other = staged(tmp_path, name="fedora-cloud", image="Fedora-40-20250101.0.x86_64.raw")
    result = run_action(
        ACTION,
        inputs={
            "sources": f"{staged(tmp_path)}\n{other}",
            "mapping": str(mapping_file(tmp_path)),
            "offline": "true",
            "workflow": "community",
            "credentials": as_base64(aws_credentials()),
            "skip": "copy",
        },
        env=job_env(),
        root=tmp_path / "runner",
    )
    assert result.exit_code == 3, result.stdout  # fedora-cloud has no mapping: partial
    assert_runner_hygiene(result)
    assert masked_leaks(result) == []
    assert result.outputs["failed-items"] == "fedora-cloud-40.20250101-x86_64"
    rows = json.loads(result.outputs["destinations"])
    assert {r["destination"] for r in rows} >= {"us-east-1-hourly", "us-east-1-access"}
    assert {r["state"] for r in rows} == {"created"}
    assert "## imgpub push" in result.summary
    assert "| rhel-ec2-9.6.20250522-x86\\_64 | aws-us-storage |" in result.summary
    written = "".join(p.read_text() for p in (tmp_path / "runner").rglob("*.json"))
    for secret in (SECRET_KEY, ACCESS_ID):
        assert secret in {m.value for m in result.masks}
        assert secret not in written and secret not in result.summary
        assert all(secret not in v for v in result.outputs.values())
    # Only push's outputs are step outputs; its stages' stay in their documents.
    assert "ami-id" not in result.outputs


def test_action_missing_account_is_one_error_and_exit_2(tmp_path, aws_endpoint):
    result = run_action(
        ACTION,
        inputs={
            "sources": str(staged(tmp_path)),
            "mapping": str(mapping_file(tmp_path)),
            "credentials": as_base64(aws_credentials("aws-emea")),
        },
        env=job_env(),
        root=tmp_path / "runner",
    )
    assert result.exit_code == 2
    errors = result.annotations_of("error")
    assert len(errors) == 1 and "no credentials for account" in errors[0].message
    assert "Nothing was changed" in result.summary
