"""The contract checks reject the deliberately bad fixtures in bad/ (and accept the good)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .checks import (
    check_action,
    check_action_metadata,
    check_pins,
    check_run_steps,
    check_schema,
    check_workflow,
    check_workflow_file,
    check_zizmor,
    load_yaml,
    sample_action,
)
from .readme_tables import check_readme_tables, render

BAD = Path(__file__).parent / "bad"
FIXTURES = Path(__file__).parent / "fixtures"


def bad(name: str) -> Path:
    return BAD / name / "action.yml"


def test_template_in_run_body_is_rejected() -> None:
    path = bad("template-in-run")
    assert any("template injection" in p for p in check_run_steps(load_yaml(path)))
    assert any("template-injection" in p for p in check_zizmor(path))


def test_unpinned_third_party_action_is_rejected() -> None:
    path = bad("unpinned-uses")
    assert check_pins(path) == [
        "line 8: actions/checkout@v4 is not pinned to a full 40-hex commit SHA"
    ]
    assert any("unpinned-uses" in p for p in check_zizmor(path))


def test_input_without_description_is_rejected() -> None:
    path = bad("undescribed-input")
    assert check_action_metadata(load_yaml(path)) == ["input 'region' has no description"]
    assert check_schema(path, "vendor.github-actions") != []


def test_run_step_without_shell_is_rejected() -> None:
    path = bad("run-without-shell")
    assert check_run_steps(load_yaml(path)) == ["step 0: run step has no shell"]
    assert check_schema(path, "vendor.github-actions") != []
    (problem,) = check_zizmor(path)
    assert "could not audit" in problem  # zizmor's schema skip is a failure, not a pass


@pytest.mark.parametrize(
    "name", ["template-in-run", "unpinned-uses", "undescribed-input", "run-without-shell"]
)
def test_every_bad_action_fails_the_full_check(name: str) -> None:
    assert check_action(bad(name)) != []


def test_sample_action_passes_the_full_check() -> None:
    assert check_action(sample_action()) == []


def test_bad_workflow_is_rejected() -> None:
    path = BAD / "workflow-no-permissions.yml"
    doc = load_yaml(path)
    assert check_workflow(doc) == [
        "no top-level permissions: (write permissions: {} or contents: read)",
        "job id 'build_it' is not kebab-case",
        "job 'build_it' has no timeout-minutes",
    ]
    problems = check_workflow_file(path)
    assert any("require-timeout" in p for p in problems)
    assert any("not pinned" in p for p in problems)
    assert any("template injection" in p for p in problems)
    assert any("zizmor template-injection" in p for p in problems)


@pytest.mark.parametrize(
    ("default", "problem"),
    [
        (False, "input 'x' default is a YAML boolean; write 'false'"),
        ("True", "input 'x' default 'True': write 'true' or 'false'"),
        (3, "input 'x' default must be a string, got 3"),
    ],
)
def test_boolean_and_non_string_defaults_are_rejected(default: object, problem: str) -> None:
    action = {
        "name": "n",
        "description": "d",
        "inputs": {"x": {"description": "x", "default": default}},
    }
    assert check_action_metadata(action) == [problem]


def test_non_kebab_ids_and_output_without_value_are_rejected() -> None:
    action = {
        "name": "n",
        "description": "d",
        "inputs": {"source_ami": {"description": "x"}},
        "outputs": {"amiIds": {"description": "x"}},
        "runs": {"using": "composite", "steps": []},
    }
    assert check_action_metadata(action) == [
        "input 'source_ami' is not kebab-case",
        "output 'amiIds' is not kebab-case",
        "output 'amiIds' has no value: (composite outputs need one)",
    ]


def test_docker_and_local_uses(tmp_path: Path) -> None:
    path = tmp_path / "action.yml"
    path.write_text(
        "runs:\n  using: composite\n  steps:\n"
        "    - uses: ./actions/local\n"
        "    - uses: docker://alpine:3\n"
        f"    - uses: owner/repo/sub@{'a' * 40} # v1.2.3\n"
        f"    - uses: owner/repo@{'b' * 40}\n"
        "    - {uses: owner/flow@v1}\n",
        encoding="utf-8",
    )
    assert check_pins(path) == [
        "line 5: docker://alpine:3 is not pinned by digest",
        f"line 7: owner/repo@{'b' * 40} has no '# vX.Y.Z' version comment",
        "uses: owner/flow@v1 is not on a line of its own; cannot check its pin",
    ]


# --- README tables ----------------------------------------------------------------------------


def test_readme_fixture_matches_sample_action() -> None:
    readme = (FIXTURES / "readme_sample.md").read_text(encoding="utf-8")
    assert check_readme_tables(readme, "sample_action", load_yaml(sample_action())) == []


def test_rendered_tables_round_trip() -> None:
    action = load_yaml(sample_action())
    assert check_readme_tables(render("sample_action", action), "sample_action", action) == []


def test_readme_drift_is_reported() -> None:
    action = load_yaml(sample_action())
    readme = (FIXTURES / "readme_sample.md").read_text(encoding="utf-8")
    drifted = (
        readme.replace("| `fail` |", "| `fail-fast` |")
        .replace("| no | `false` |\n| `fail-fast`", "| yes | `false` |\n| `fail-fast`")
        .replace("The greeting, a single line.", "The greeting.")
    )
    problems = check_readme_tables(drifted, "sample_action", action)
    assert "inputs: `fail` is in action.yml but not in the README" in problems
    assert "inputs: `fail-fast` is in the README but not in action.yml" in problems
    assert any(p.startswith("inputs: `export-env` README row") for p in problems)
    assert any(p.startswith("outputs: `message` README row") for p in problems)


def test_readme_missing_section_and_wrong_order() -> None:
    action = load_yaml(sample_action())
    assert check_readme_tables("# nothing here\n", "sample_action", action) == [
        "README has no <!-- imgpub:inputs sample_action --> table",
        "README has no <!-- imgpub:outputs sample_action --> table",
    ]
    readme = (FIXTURES / "readme_sample.md").read_text(encoding="utf-8")
    lines = readme.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("| `greeting`"))
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    assert check_readme_tables("\n".join(lines), "sample_action", action) == [
        "inputs: rows are not in action.yml order"
    ]


def test_readme_escapes_pipes_in_descriptions() -> None:
    action = {"inputs": {"mode": {"description": "a | b", "default": "x"}}, "outputs": {}}
    block = render("demo", action)
    assert "| `mode` | a \\| b | no | `x` |" in block
    assert check_readme_tables(block, "demo", action) == []


def test_output_references_that_do_not_resolve_are_rejected() -> None:
    from .checks import check_output_references

    problems = check_output_references(BAD / "workflow-bad-references.yml")
    assert any("has no output 'ami-map'" in p for p in problems), problems
    assert any("job mirror has no output 'amis-json'" in p for p in problems), problems
    assert any("needs.wiki is not in its needs" in p for p in problems), problems


def test_actionlint_reports_an_undefined_context_but_allows_vars() -> None:
    from .checks import ActionlintMissing, check_actionlint

    try:
        problems = check_actionlint(BAD / "workflow-actionlint.yml")
    except ActionlintMissing as exc:
        pytest.skip(str(exc))
    assert len(problems) == 1, problems
    assert 'undefined variable "secret"' in problems[0]


def test_calls_to_our_actions_and_workflows_with_wrong_names_are_rejected() -> None:
    from .checks import check_our_calls

    problems = check_our_calls(BAD / "workflow-bad-calls.yml")
    assert any("has no input 'aws-role'" in p for p in problems), problems
    assert any("needs input 'image-aarch64'" in p for p in problems), problems
    assert any("needs input 'aws-role-arn'" in p for p in problems), problems
    assert any("has no secret 'WIKI_PAT'" in p for p in problems), problems
    assert any("needs secret 'WIKI_TOKEN'" in p for p in problems), problems
    assert any("mirror-ami@" in p and "has no input 'source-amis'" in p for p in problems)
