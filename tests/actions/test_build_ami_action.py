"""actions/build-ami run the way the runner runs it, against the local EC2 and EBS."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from harness import StubCall, assert_runner_hygiene, run_action

from tests.integration.build_helpers import make_image

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "actions" / "build-ami"


def job_env() -> dict[str, str]:
    keys = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    return {k: os.environ[k] for k in keys} | {"AWS_REGION": "us-east-1"}


def setup_packer_stub(call: StubCall) -> None:
    """hashicorp/setup-packer: the machine's Packer is already on PATH; record the call."""
    call.outputs["version"] = call.with_.get("version", "")
    call.exported_env["IMGPUB_TEST_PACKER_SET_UP"] = "1"


def test_action_outputs_summary_and_a_passed_boot_test(tmp_path, aws_endpoint, ec2_control):
    image = make_image(tmp_path)
    packages = tmp_path / "packages.txt"
    calls: list[str] = []

    def stub(call: StubCall) -> None:
        calls.append(call.uses)

    result = run_action(
        ACTION,
        inputs={
            "image": str(image),
            "test": "true",
            "share-accounts": "383541928683",
            "package-list": str(packages),
        },
        env=job_env(),
        root=tmp_path / "runner",
        stubs={"hashicorp/setup-packer": stub},
    )
    assert result.exit_code == 0, result.stdout
    assert_runner_hygiene(result)
    assert calls == [] and packer_step(result) == "skipped"  # no Packer for a raw disk
    outputs = result.outputs
    assert outputs["ami-id"].startswith("ami-") and outputs["snapshot-id"].startswith("snap-")
    assert outputs["ami-name"] == "AlmaLinux OS 9.6.20250522 x86_64"
    assert outputs["architecture"] == "x86_64" and outputs["test-result"] == "passed"
    assert outputs["status"] == "success"
    doc = json.loads(Path(outputs["results-path"]).read_text())
    ami = next(t for t in doc["stages"]["build-ami"]["targets"] if t["kind"] == "ami")
    assert ami["resource_id"] == outputs["ami-id"]
    summary = result.summary
    assert "## build-ami: done" in summary and outputs["ami-id"] in summary
    assert "| passed |" in summary and "zero blocks skipped" in summary
    assert result.job_outputs()["ami-id"] == outputs["ami-id"]
    assert "dnf" in packages.read_text()


def test_action_bad_input_is_exit_2_and_a_failed_test_exit_1(tmp_path, aws_endpoint, ec2_control):
    result = run_action(ACTION, inputs={}, env=job_env(), root=tmp_path / "a")
    assert result.exit_code == 2
    errors = result.annotations_of("error")
    assert len(errors) == 1 and "image" in errors[0].message
    assert "Nothing was changed" in result.summary
    ec2_control.configure(boot_test_outcome="fail")
    result = run_action(
        ACTION,
        inputs={"image": str(make_image(tmp_path)), "test": "true"},
        env=job_env(),
        root=tmp_path / "b",
    )
    assert result.exit_code == 1, result.stdout
    assert_runner_hygiene(result)
    assert result.outputs["test-result"] == "failed" and result.outputs["status"] == "failed"
    assert "boot test failed" in result.summary


@pytest.mark.skipif(shutil.which("packer") is None, reason="packer is not installed")
def test_action_sets_up_packer_only_for_a_template(tmp_path, aws_endpoint, ec2_control):
    result = run_action(
        ACTION,
        inputs={
            "packer-template": str(ROOT / "packer" / "almalinux-ebssurrogate.pkr.hcl"),
            "source-ami-name": "AlmaLinux OS 8*",
        },
        env=job_env(),
        root=tmp_path,
        stubs={"hashicorp/setup-packer": setup_packer_stub},
    )
    assert result.exit_code == 2, result.stdout  # no base AMI matches: exit 2
    assert "source-ami-name" in result.annotations_of("error")[0].message
    assert packer_step(result) == "success"  # set up before imgpub ran
    assert result.env.get("IMGPUB_TEST_PACKER_SET_UP") == "1"


def packer_step(result) -> str:
    (step,) = [s for s in result.steps if s.name == "Set up Packer"]
    return step.outcome
