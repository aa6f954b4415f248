"""Every action.yml (and the harness's sample action) keeps the imgpub action contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from .checks import (
    REPO,
    action_files,
    check_action_metadata,
    check_pins,
    check_run_steps,
    check_schema,
    check_zizmor,
    load_yaml,
    rel,
    sample_action,
)
from .readme_tables import check_readme_tables

ACTIONS = [sample_action(), *action_files()]
IDS = [rel(p) for p in ACTIONS]


def test_the_contract_run_is_never_empty() -> None:
    assert sample_action().is_file()
    assert sample_action() in ACTIONS


@pytest.mark.parametrize("path", ACTIONS, ids=IDS)
def test_schema(path: Path) -> None:
    assert check_schema(path, "vendor.github-actions") == []


@pytest.mark.parametrize("path", ACTIONS, ids=IDS)
def test_metadata(path: Path) -> None:
    assert check_action_metadata(load_yaml(path)) == []


@pytest.mark.parametrize("path", ACTIONS, ids=IDS)
def test_run_steps(path: Path) -> None:
    assert check_run_steps(load_yaml(path)) == []


@pytest.mark.parametrize("path", ACTIONS, ids=IDS)
def test_pins(path: Path) -> None:
    assert check_pins(path) == []


@pytest.mark.parametrize("path", ACTIONS, ids=IDS)
def test_zizmor(path: Path) -> None:
    assert check_zizmor(path) == []


@pytest.mark.parametrize("path", ACTIONS, ids=IDS)
def test_follows_the_imgpub_pattern(path: Path) -> None:
    """The shape actions/README.md documents: isolated Python, shared install, env inputs."""
    doc = load_yaml(path)
    steps = doc["runs"]["steps"]
    assert doc["runs"]["using"] == "composite"
    assert doc.get("author") and doc.get("branding"), "author and branding are set"
    setup = steps[0]
    assert str(setup.get("uses", "")).startswith("actions/setup-python@")
    assert str(setup["with"].get("update-environment")).lower() == "false"
    assert str(setup["with"].get("python-version")) == "3.12"
    install = steps[1]
    assert install.get("id") == "install"
    assert install["run"].strip() == 'bash "$GITHUB_ACTION_PATH/../_shared/install.sh"'
    assert "IMGPUB_PYTHON" in (install.get("env") or {})
    run = steps[-1]
    assert run.get("id") == "run"
    env = run.get("env") or {}
    for input_id in doc.get("inputs") or {}:
        var = "INPUT_" + input_id.upper().replace("-", "_")
        assert env.get(var) == f"${{{{ inputs.{input_id} }}}}", f"{var} passes {input_id}"
    declared = {"INPUT_" + i.upper().replace("-", "_") for i in doc.get("inputs") or {}}
    stray = sorted(k for k in env if k.startswith("INPUT_") and k not in declared)
    assert not stray, f"{stray} match no declared input (typo?)"
    for output_id, spec in (doc.get("outputs") or {}).items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{output_id} }}}}"


STAGE_ACTIONS = action_files()


@pytest.mark.parametrize("path", STAGE_ACTIONS, ids=[rel(p) for p in STAGE_ACTIONS])
def test_readme_tables_match_action(path: Path) -> None:
    readme = REPO / "README.md"
    if not readme.is_file():
        pytest.skip("README.md not written yet")
    problems = check_readme_tables(
        readme.read_text(encoding="utf-8"), path.parent.name, load_yaml(path)
    )
    assert problems == [], (
        "README tables differ; print the expected ones with\n"
        f"  .venv/bin/python tests/contract/readme_tables.py {rel(path)}\n" + "\n".join(problems)
    )


def test_stage_actions_run_their_stage() -> None:
    """A stage action's run step calls `imgpub <its directory name>` from the venv."""
    for path in STAGE_ACTIONS:
        run = load_yaml(path)["runs"]["steps"][-1]["run"]
        assert run.strip() == f'"$IMGPUB_VENV/bin/imgpub" {path.parent.name}', rel(path)
