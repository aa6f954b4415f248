"""actions/ecr-mirror run the way the runner runs it, against moto's ECR and two registries."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from harness import assert_runner_hygiene, run_action

from tests.integration.oci_helpers import head_digest, push_image, unique

ACTION = Path(__file__).resolve().parents[2] / "actions" / "ecr-mirror"
pytestmark = pytest.mark.registry


def job_env() -> dict[str, str]:
    keys = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    return {k: os.environ[k] for k in keys} | {
        "AWS_REGION": "us-east-1",
        "PATH": os.environ["PATH"],
    }


def test_action_outputs_summary_masks_and_chaining(tmp_path, registry, ecr_registry, aws_endpoint):
    name = unique("zeebe")
    built = push_image(tmp_path, registry, f"camunda/{name}:8.3.4")
    ecr_host = ecr_registry.info["host"]
    result = run_action(
        ACTION,
        inputs={
            "images": f"{registry}/camunda/{name}:8.3.4 -> {name}:8.3.4",
            "registry": ecr_host,
            "tls-verify": "false",
            "source-credentials": f"{registry}=robot:source-pass-123",
        },
        env=job_env(),
        root=tmp_path / "runner",
    )
    assert result.exit_code == 0, result.stdout
    assert_runner_hygiene(result)
    assert "source-pass-123" in result.mask_values
    [image] = json.loads(result.outputs["images"])
    assert image["digest"] == built.digest and image["state"] == "created"
    assert head_digest(ecr_host, name, "8.3.4") == built.digest
    assert result.outputs["status"] == "success" and result.outputs["chart"] == ""
    assert "## ecr-mirror: done" in result.summary and name in result.summary
    assert result.job_outputs()["images"] == result.outputs["images"]
    assert "Apply: ecr-mirror" in result.log.groups
    doc = Path(result.outputs["results-path"]).read_text()
    assert "source-pass-123" not in doc and "123456789012-auth-token" not in doc


def test_action_bad_input_is_one_error_annotation_and_exit_2(tmp_path, aws_endpoint):
    result = run_action(
        ACTION, inputs={"images": "docker.io/camunda/zeebe"}, env=job_env(), root=tmp_path
    )
    assert result.exit_code == 2
    errors = result.annotations_of("error")
    assert len(errors) == 1 and "images" in errors[0].message
    assert "Nothing was changed" in result.summary
