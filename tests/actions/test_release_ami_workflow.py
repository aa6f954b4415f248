""".github/workflows/release-ami.yml's job graph run locally against the sandbox.

The jobs run in ``needs`` order through tests/harness/workflow_runner.py: the build matrix
(x86_64 and aarch64 from small sparse disks, boot-tested), mirror-ami merging the two build
documents downloaded as artifacts, marketplace-changeset, wiki-pr; every imgpub step is
the action from this checkout run as the runner runs it, the third-party steps are the
harness's stubs (artifacts in a local store, AWS credentials from the sandbox, only where
the job has ``id-token: write``). A second run of the graph — a new run, new artifacts, the
same clouds — finds everything in place.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import assert_runner_hygiene
from harness.workflow_runner import WorkflowRun, run_workflow

from imgpub.demo import create_marketplace_role, make_demo_disk
from imgpub.results import ResultsDocument
from imgpub.sandbox import Sandbox
from imgpub.sandbox.fake_client import FakeClient
from imgpub.sandbox.fake_services import SANDBOX_GITHUB_TOKEN, SANDBOX_WIKI_REPOSITORY
from tests.actions.workflow_helpers import machine_env, sandbox_with

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "release-ami.yml"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAIMGPUBHARNESS0001",
    "AWS_SECRET_ACCESS_KEY": "harness-secret",
}
REGIONS = ["us-east-1", "us-east-2", "eu-west-1"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    services = ["aws", "catalog", "github", "webhook"]
    with sandbox_with(services, tmp_path_factory.mktemp("sandbox")) as running:
        yield running


def _release(sandbox: Sandbox, tmp: Path, run: str, role: str) -> WorkflowRun:
    images = {}
    for arch in ("x86_64", "aarch64"):
        images[arch] = tmp / f"AlmaLinux-9-GenericCloud-9.6-20250522.0.{arch}.raw"
        if not images[arch].exists():
            make_demo_disk(images[arch], size_mib=16)
    return run_workflow(
        WORKFLOW,
        inputs={
            "image-x86-64": str(images["x86_64"]),
            "image-aarch64": str(images["aarch64"]),
            "aws-role-arn": "arn:aws:iam::123456789012:role/imgpub-release",
            "regions": ",".join(REGIONS[1:]),
            "ssm-parameters": "/imgpub-test/{arch}/latest",
            "marketplace-access-role-arn": role,
            "wiki-repository": SANDBOX_WIKI_REPOSITORY,
            "wiki-draft": False,
            "github-api-url": sandbox.env["GITHUB_API_URL"],
        },
        secrets={
            "WIKI_TOKEN": SANDBOX_GITHUB_TOKEN,
            "NOTIFY_WEBHOOK_URL": sandbox.env["IMGPUB_SANDBOX_WEBHOOK"],
        },
        env=machine_env(sandbox, without=CREDENTIALS),
        aws_credentials=CREDENTIALS,
        root=tmp / run,
    )


def _final_document(run: WorkflowRun) -> ResultsDocument:
    return ResultsDocument.load(run.artifacts.root / "imgpub-results" / "imgpub-results.json")


def test_release_ami_job_graph_then_a_rerun_finds_everything(sandbox, tmp_path, monkeypatch):
    role = create_marketplace_role(sandbox.env)  # the account's setup, before the release
    for key in CREDENTIALS:
        monkeypatch.delenv(key, raising=False)  # only configure-aws-credentials hands them out
    first = _release(sandbox, tmp_path, "run-1", role)
    assert first.order == ["build", "mirror", "marketplace", "wiki"]
    assert {j: r.result for j, r in first.jobs.items()} == dict.fromkeys(first.jobs, "success"), (
        first.log()[-6000:]
    )
    assert [leg["arch"] for leg in first.jobs["build"].matrix] == ["x86_64", "aarch64"]
    assert [stage for stage, _ in first.actions] == [
        "build-ami",
        "build-ami",
        "mirror-ami",
        "marketplace-changeset",
        "wiki-pr",
    ]

    # The workflow's outputs: the AMI map, the change sets and the pull request.
    amis = json.loads(first.outputs["amis"])
    assert len(amis) == 2 and all(sorted(regions) == sorted(REGIONS) for regions in amis.values())
    built = {
        r.outputs["architecture"]: r.outputs["ami-id"] for s, r in first.actions if s == "build-ami"
    }
    assert set(amis) == set(built.values()) and set(built) == {"x86_64", "arm64"}
    change_sets = json.loads(first.outputs["change-sets"])
    assert sorted(c["ami"] for c in change_sets) == sorted(built.values())
    assert all(c["change_set_id"] and c["state"] == "succeeded" for c in change_sets)
    assert first.outputs["pull-request-url"].endswith("/pull/1"), first.outputs
    assert json.loads(first.outputs["ssm-parameters"])

    # Data went by artifacts: each build leg's document, merged by the mirror job, extended
    # by each job after it; the last one holds the whole release.
    assert first.artifacts.names() == [
        "imgpub-results",
        "imgpub-results-build-aarch64",
        "imgpub-results-build-x86_64",
        "imgpub-results-marketplace",
        "imgpub-results-mirror",
    ]
    doc = _final_document(first)
    assert list(doc.stages) == ["build-ami", "mirror-ami", "marketplace-changeset", "wiki-pr"]
    build = doc.stages["build-ami"]
    assert sorted(t.resource_id or "" for t in build.targets if t.kind == "ami") == sorted(
        built.values()
    )
    assert all(s.status == "success" for s in doc.stages.values())
    messages = FakeClient(sandbox.running["webhook"].info["endpoint"]).call("messages")
    assert len(messages) == 5, "each stage posts its outcome (two builds, three stages)"
    for _stage, result in first.actions:
        assert_runner_hygiene(result)  # the webhook and the AWS secret were masked before use
    final_text = (first.artifacts.root / "imgpub-results" / "imgpub-results.json").read_text()
    assert sandbox.env["IMGPUB_SANDBOX_WEBHOOK"] not in final_text

    # A second run of the whole graph: a new run (new artifacts), the same clouds.
    second = _release(sandbox, tmp_path, "run-2", role)
    assert {j: r.result for j, r in second.jobs.items()} == dict.fromkeys(second.jobs, "success")
    assert second.outputs["amis"] == first.outputs["amis"]
    assert second.outputs["pull-request-url"] == first.outputs["pull-request-url"]
    again = _final_document(second)
    states = {(s.stage, t.key): t.state for s in again.stages.values() for t in s.targets}
    assert states and set(states.values()) == {"existed"}, states
