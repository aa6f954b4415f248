""".github/workflows/ecr-mirror.yml run locally: a two-platform image and a Helm chart
mirrored into the sandbox's ECR, the outputs and the results artifact, then a re-run."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import assert_runner_hygiene
from harness.workflow_runner import WorkflowRun, run_workflow

from imgpub.results import ResultsDocument
from imgpub.sandbox import Sandbox
from imgpub.sandbox.oci_seed import chart_archive, seed_chart, seed_image
from tests.actions.workflow_helpers import machine_env, sandbox_with

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "ecr-mirror.yml"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAIMGPUBHARNESS0002", "AWS_SECRET_ACCESS_KEY": "harness-2"}
pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    services = ["aws", "registry", "ecr", "license-manager"]
    with sandbox_with(services, tmp_path_factory.mktemp("sandbox")) as running:
        yield running


def _mirror(sandbox: Sandbox, tmp: Path, run: str, images: str, chart: str) -> WorkflowRun:
    ecr = sandbox.env["IMGPUB_ECR_REGISTRY"]
    return run_workflow(
        WORKFLOW,
        inputs={
            "images": images,
            "registry": ecr,
            "chart": chart,
            "chart-repository": "zeebe-chart",
            "rewrite-values": True,
            "product-sku": "prod-imgpubtest01",
            "entitlements": "ReadOnlyUsers",
            "license-check-image": f"{ecr}/imgpub-license-check:0.1.0",
            "tls-verify": False,
            "aws-role-arn": "arn:aws:iam::123456789012:role/imgpub-ecr",
        },
        env=machine_env(sandbox, without=CREDENTIALS),
        aws_credentials=CREDENTIALS,
        root=tmp / run,
    )


def test_ecr_mirror_workflow_image_and_chart_then_a_rerun(sandbox, tmp_path, monkeypatch):
    source = sandbox.env["IMGPUB_REGISTRY"]
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    seed_image(source, "camunda/zeebe:8.3.4", seed="imgpub-workflow")
    values = f"image:\n  registry: {source}\n  repository: camunda/zeebe\n  tag: 8.3.4\n"
    chart = seed_chart(source, "charts/zeebe", chart_archive("zeebe", "1.0.0", values))
    for key in CREDENTIALS:
        monkeypatch.delenv(key, raising=False)
    images = f"{source}/camunda/zeebe:8.3.4"

    first = _mirror(sandbox, tmp_path, "run-1", images, chart)
    assert first.jobs["mirror"].result == "success", first.log()[-5000:]
    for _stage, result in first.actions:
        assert_runner_hygiene(result)
    [image] = json.loads(first.outputs["images"])
    assert image["state"] == "created" and image["digest"].startswith("sha256:")
    assert len(image["platforms"]) == 2
    assert json.loads(first.outputs["chart"])["state"] == "created"
    assert first.outputs["helm-chart-uri"].startswith(sandbox.env["IMGPUB_ECR_REGISTRY"] + "/")
    assert first.artifacts.names() == ["imgpub-results-ecr-mirror"]

    second = _mirror(sandbox, tmp_path, "run-2", images, chart)
    assert second.jobs["mirror"].result == "success", second.log()[-5000:]
    assert second.outputs["helm-chart-uri"] == first.outputs["helm-chart-uri"]
    doc = ResultsDocument.load(
        second.artifacts.root / "imgpub-results-ecr-mirror" / "imgpub-results.json"
    )
    states = {t.key: t.state for t in doc.stages["ecr-mirror"].targets}
    assert states and set(states.values()) == {"existed"}, states
    assert os.environ.get("AWS_ACCESS_KEY_ID") is None
