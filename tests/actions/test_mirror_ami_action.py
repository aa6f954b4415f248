"""actions/mirror-ami run the way the runner runs it, against the local EC2."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness import assert_runner_hygiene, run_action

from tests.integration.mirror_helpers import release_sources

ACTION = Path(__file__).resolve().parents[2] / "actions" / "mirror-ami"


def job_env() -> dict[str, str]:
    keys = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    return {k: os.environ[k] for k in keys} | {"AWS_REGION": "us-east-1"}


def test_action_outputs_summary_and_chaining(tmp_path, aws_endpoint):
    x86, arm = release_sources()
    result = run_action(
        ACTION,
        inputs={
            "source-ami": f"{x86}\n{arm}",
            "regions": "eu-west-1, us-west-2",
            "make-public": "true",
            "tags": "Release=9.6\nTeam=cloud sig",
        },
        env=job_env(),
        root=tmp_path,
    )
    assert result.exit_code == 0, result.stdout
    assert_runner_hygiene(result)
    amis = json.loads(result.outputs["amis"])
    assert set(amis[arm]) == {"us-east-1", "eu-west-1", "us-west-2"}
    assert result.outputs["failed-regions"] == ""
    assert result.outputs["status"] == "success"
    doc = json.loads(Path(result.outputs["results-path"]).read_text())
    assert doc["stages"]["mirror-ami"]["outputs"]["amis"] == result.outputs["amis"]
    summary = result.summary
    assert "## mirror-ami: done" in summary
    assert amis[x86]["eu-west-1"] in summary and "| eu-west-1 |" in summary
    assert result.job_outputs()["amis"] == result.outputs["amis"]
    # The log is grouped by phase (run_stage's groups); the apply group says what it works on.
    assert result.log.groups[-2:] == ["Plan", "Copy, share and publish in 3 regions"]


def test_action_bad_input_is_an_error_annotation_and_exit_2(tmp_path, aws_endpoint):
    result = run_action(ACTION, inputs={"source-ami": "not-an-ami"}, env=job_env(), root=tmp_path)
    assert result.exit_code == 2
    errors = result.annotations_of("error")
    assert len(errors) == 1 and "source-ami" in errors[0].message
    assert "Nothing was changed" in result.summary
