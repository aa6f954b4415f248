""".github/workflows/azure-gallery.yml run locally: the sparse RAW image uploaded to Azurite
as a VHD page blob and published as gallery versions in the fake ARM, then a re-run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import assert_runner_hygiene
from harness.workflow_runner import WorkflowRun, run_workflow

from imgpub.demo import DEMO_IMAGE_NAME, make_demo_disk
from imgpub.results import ResultsDocument
from imgpub.sandbox import Sandbox
from imgpub.sandbox.fake_client import FakeClient
from tests.actions.workflow_helpers import machine_env, sandbox_with

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "azure-gallery.yml"
pytestmark = pytest.mark.azurite


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    services = ["aws", "arm", "azure"]
    with sandbox_with(services, tmp_path_factory.mktemp("sandbox")) as running:
        # Image definitions exist before a release (AlmaLinux's do): the CI gallery's two.
        arm = FakeClient(running.running["arm"].info["endpoint"])
        for name, generation in (("almalinux-9-gen1", "V1"), ("almalinux-9-gen2", "V2")):
            arm.call(
                "add_definition",
                resource_group="rg-alma-images",
                gallery="almalinux_ci",
                name=name,
                generation=generation,
            )
        yield running


def _publish(sandbox: Sandbox, tmp: Path, run: str, image: Path) -> WorkflowRun:
    return run_workflow(
        WORKFLOW,
        inputs={
            "image": str(image),
            "dry-run": False,
            "target-regions": "eastus, westeurope",
            "azure-client-id": "00000000-0000-0000-0000-0000000000c1",
            "azure-tenant-id": "00000000-0000-0000-0000-0000000000d1",
            "azure-subscription-id": sandbox.env["AZURE_SUBSCRIPTION_ID"],
        },
        env=machine_env(sandbox),
        root=tmp / run,
    )


def test_azure_gallery_workflow_publishes_then_a_rerun_finds_everything(sandbox, tmp_path):
    image = tmp_path / DEMO_IMAGE_NAME
    make_demo_disk(image, size_mib=16)
    first = _publish(sandbox, tmp_path, "run-1", image)
    assert first.jobs["publish"].result == "success", first.log()[-5000:]
    for _stage, result in first.actions:
        assert_runner_hygiene(result)
    versions = json.loads(first.outputs["image-versions"])
    assert [(v["definition"], v["state"]) for v in versions] == [
        ("almalinux-9-gen1", "created"),
        ("almalinux-9-gen2", "created"),
    ]
    assert first.outputs["blob-url"].endswith(".vhd") and "sig=" not in first.outputs["blob-url"]
    assert first.artifacts.names() == ["imgpub-results-azure-gallery"]

    second = _publish(sandbox, tmp_path, "run-2", image)
    assert second.jobs["publish"].result == "success", second.log()[-5000:]
    assert second.outputs["image-versions"].count('"existed"') == 2
    doc = ResultsDocument.load(
        second.artifacts.root / "imgpub-results-azure-gallery" / "imgpub-results.json"
    )
    states = {t.key: t.state for t in doc.stages["azure-gallery"].targets}
    assert states and set(states.values()) == {"existed"}, states
