"""Each stage's action.yml is exactly what its stage module declares (no drift, no extras)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imgpub.actionyml import action_path, env_name, render
from imgpub.cli import available_stages
from imgpub.inputs import COMMON_OUTPUTS, with_common_inputs

ROOT = Path(__file__).resolve().parents[2]
STAGES = available_stages()


@pytest.mark.parametrize("name", sorted(STAGES))
def test_committed_action_is_the_generated_one(name):
    path = action_path(ROOT, name)
    assert path.exists(), f"{path} missing: run python -m imgpub.actionyml --write"
    assert path.read_text("utf-8") == render(STAGES[name]), (
        f"{path} is stale: run python -m imgpub.actionyml --write"
    )


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_input_reaches_the_cli_and_every_output_is_mapped(name):
    module = STAGES[name]
    doc = yaml.safe_load(render(module))
    specs = with_common_inputs(module.INPUTS)
    assert list(doc["inputs"]) == [s.name for s in specs]
    run_step = doc["runs"]["steps"][-1]
    assert run_step["run"] == f'"$IMGPUB_VENV/bin/imgpub" {name}'
    for spec in specs:
        assert run_step["env"][env_name(spec.name)] == f"${{{{ inputs.{spec.name} }}}}"
        if not spec.required:
            assert doc["inputs"][spec.name]["default"] == (spec.default or "")
    assert list(doc["outputs"]) == [o.name for o in (*module.OUTPUTS, *COMMON_OUTPUTS)]


def test_every_stage_has_an_action_folder_and_no_orphans():
    folders = {p.parent.name for p in (ROOT / "actions").glob("*/action.yml")}
    assert folders == set(STAGES), "action folders and stage modules differ"


DIGEST = "ghcr.io/imgpub-org/imgpub@sha256:" + "ab" * 32


@pytest.mark.parametrize("name", sorted(STAGES))
def test_docker_variant_runs_the_image_by_digest_with_the_same_inputs(name, tmp_path):
    from imgpub.actionyml import render_docker

    from .checks import check_schema

    text = render_docker(STAGES[name], DIGEST)
    doc = yaml.safe_load(text)
    composite = yaml.safe_load(render(STAGES[name]))
    assert doc["inputs"] == composite["inputs"]
    assert list(doc["outputs"]) == list(composite["outputs"])
    assert doc["runs"] == {"using": "docker", "image": f"docker://{DIGEST}", "args": [name]}
    path = tmp_path / "action.yml"
    path.write_text(text, "utf-8")
    assert check_schema(path, "vendor.github-actions") == []


def test_docker_variant_refuses_an_image_without_a_digest():
    from imgpub.actionyml import render_docker

    with pytest.raises(ValueError, match="sha256"):
        render_docker(next(iter(STAGES.values())), "ghcr.io/imgpub-org/imgpub:v1")


def test_no_docker_variant_on_main_names_an_unpublished_image():
    """Docker variants are written by release.yml with the digest it pushed, never by hand."""
    assert not (ROOT / "actions" / "docker").exists()
