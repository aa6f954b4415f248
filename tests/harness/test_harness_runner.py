"""The harness end to end: the sample action, and small actions probing one runner rule each."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from . import (
    HarnessError,
    StubCall,
    annotation_overflow,
    assert_runner_hygiene,
    group_problems,
    masked_leaks,
    run_action,
)

SAMPLE = Path(__file__).parent / "sample_action"


def make_action(tmp_path: Path, steps: str, inputs: str = "{}", outputs: str = "{}") -> Path:
    """Write a throwaway composite action; ``steps`` is YAML for runs.steps."""
    d = tmp_path / "action"
    d.mkdir()
    body = textwrap.dedent(steps).strip("\n")
    (d / "action.yml").write_text(
        "name: t\ndescription: t\n"
        f"inputs: {inputs}\noutputs: {outputs}\n"
        "runs:\n  using: composite\n  steps:\n" + textwrap.indent(body, "    ") + "\n",
        encoding="utf-8",
    )
    return d


# --- the sample action, end to end ---------------------------------------------------------


def test_sample_action_end_to_end(tmp_path: Path) -> None:
    result = run_action(
        SAMPLE,
        inputs={"greeting": "world", "items": "a, b\nc", "secret-token": "s3cr3t-value"},
        root=tmp_path,
    )
    assert result.exit_code == 0, result.stdout
    assert result.outputs["message"] == "Hello, world!"
    assert result.outputs["report"] == "- a\n- b\n- c"
    assert result.outputs["tricky"] == "a=b\nc<<EOF\nEOF\n<<\n="
    assert result.outputs["token-hint"] == "token:s3cr3t-value"
    assert result.summary == "### Sample\n\nGreeted **world** with 3 item(s).\n"
    assert result.mask_values == ["s3cr3t-value"]
    assert result.log.groups == ["Reading inputs"]
    (notice,) = result.annotations_of("notice")
    assert notice.message == "Hello, world\nsecond line"
    assert notice.properties == {"title": "Sample"}
    assert [s.id for s in result.steps] == ["setup-python", "install", "run"]
    assert result.env == {}, "the action must not leak env into the caller's job"
    assert result.path == [], "update-environment: false keeps the caller's PATH"
    assert_runner_hygiene(result)


def test_masked_output_is_dropped_from_job_outputs(tmp_path: Path) -> None:
    result = run_action(SAMPLE, inputs={"greeting": "x", "secret-token": "tok-123"}, root=tmp_path)
    jobs = result.job_outputs()
    assert "token-hint" not in jobs
    assert jobs["message"] == "Hello, x!"
    assert result.runner_warnings == ["Skip output 'token-hint' since it may contain secret."]


def test_required_input_is_not_enforced_by_the_runner(tmp_path: Path) -> None:
    # The runner would start the action anyway; the entrypoint's own check must catch it.
    result = run_action(SAMPLE, inputs={}, root=tmp_path)
    assert result.exit_code == 2
    assert result.step("run").outcome == "failure"
    assert "greeting is required" in result.annotations_of("error")[0].message
    assert result.outputs["message"] == ""


def test_defaults_applied_and_env_exported_to_later_steps(tmp_path: Path) -> None:
    result = run_action(SAMPLE, inputs={"greeting": "g", "export-env": "true"}, root=tmp_path)
    assert result.succeeded
    assert result.env == {"SAMPLE_GREETED": "g"}
    assert "token-hint" in result.outputs and result.outputs["token-hint"] == ""


def test_unknown_input_is_refused() -> None:
    with pytest.raises(HarnessError, match="unknown inputs"):
        run_action(SAMPLE, inputs={"greeting": "x", "greting": "typo"})


# --- runner rules, one small action each -----------------------------------------------------


def test_run_body_with_template_is_refused(tmp_path: Path) -> None:
    action = make_action(
        tmp_path, "- shell: bash\n  run: echo ${{ inputs.x }}\n", inputs="{x: {description: x}}"
    )
    with pytest.raises(HarnessError, match="template injection"):
        run_action(action, inputs={"x": "1"})


def test_run_step_without_shell_is_refused(tmp_path: Path) -> None:
    action = make_action(tmp_path, "- run: echo hi\n")
    with pytest.raises(HarnessError, match="no shell"):
        run_action(action)


def test_unstubbed_uses_is_refused(tmp_path: Path) -> None:
    action = make_action(tmp_path, "- uses: someone/thing@" + "a" * 40 + "\n")
    with pytest.raises(HarnessError, match="no stub"):
        run_action(action)


def test_composite_steps_get_no_input_variables_and_inherited_ones_are_cleared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INPUT_X", "leaked")
    monkeypatch.setenv("GITHUB_TOKEN", "leaked")
    monkeypatch.setenv("RUNNER_DEBUG", "1")
    action = make_action(
        tmp_path,
        """
        - id: s
          shell: bash
          run: |
            echo "seen=${INPUT_X:-none}/${GITHUB_TOKEN:-none}/${RUNNER_DEBUG:-none}" >> "$GITHUB_OUTPUT"
            echo "ci=$CI/$GITHUB_ACTIONS" >> "$GITHUB_OUTPUT"
            test -d "$RUNNER_TEMP" && test -d "$RUNNER_TOOL_CACHE" && test -f "$GITHUB_EVENT_PATH"
            test "$PWD" = "$GITHUB_WORKSPACE"
        """,
        inputs="{x: {description: x}}",
    )
    result = run_action(action, inputs={"x": "given"})
    assert result.succeeded, result.stdout
    assert result.step("s").outputs == {"seen": "none/none/none", "ci": "true/true"}


def test_env_and_path_apply_to_later_steps_only(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "imgpub-harness-tool"
    tool.write_text("#!/bin/sh\necho tool-ran\n")
    tool.chmod(0o755)
    action = make_action(
        tmp_path,
        f"""
        - id: a
          shell: bash
          run: |
            echo "FOO=bar" >> "$GITHUB_ENV"
            echo "{bindir}" >> "$GITHUB_PATH"
            echo "same=${{FOO:-unset}}" >> "$GITHUB_OUTPUT"
        - id: b
          shell: bash
          run: |
            echo "later=$FOO" >> "$GITHUB_OUTPUT"
            echo "tool=$(imgpub-harness-tool)" >> "$GITHUB_OUTPUT"
        """,
    )
    result = run_action(action)
    assert result.succeeded, result.stdout
    assert result.step("a").outputs == {"same": "unset"}
    assert result.step("b").outputs == {"later": "bar", "tool": "tool-ran"}
    assert result.env == {"FOO": "bar"}


def test_bad_output_file_fails_the_step_with_the_runners_error(tmp_path: Path) -> None:
    action = make_action(
        tmp_path,
        """
        - id: bad
          shell: bash
          run: printf 'v<<EOF\\nno delimiter\\n' >> "$GITHUB_OUTPUT"
        - id: after
          shell: bash
          run: echo "ran=yes" >> "$GITHUB_OUTPUT"
        - id: cleanup
          if: always()
          shell: bash
          run: echo "ran=yes" >> "$GITHUB_OUTPUT"
        """,
    )
    result = run_action(action)
    assert result.exit_code == 1
    assert result.step("bad").conclusion == "failure"
    assert "Matching delimiter not found 'EOF'" in (result.step("bad").error or "")
    assert any("Unable to process file command 'output'" in a.message for a in result.annotations)
    assert result.step("after").outcome == "skipped"
    assert result.step("cleanup").outputs == {"ran": "yes"}


def test_crlf_heredoc_fails_on_linux(tmp_path: Path) -> None:
    action = make_action(
        tmp_path,
        """
        - shell: bash
          run: printf 'v<<EOF\\nvalue\\r\\nEOF\\r\\n' >> "$GITHUB_OUTPUT"
        """,
    )
    result = run_action(action)
    assert result.exit_code == 1
    assert "Matching delimiter not found" in (result.steps[0].error or "")


def test_each_step_gets_fresh_files(tmp_path: Path) -> None:
    action = make_action(
        tmp_path,
        """
        - id: a
          shell: bash
          run: |
            echo "x=1" >> "$GITHUB_OUTPUT"
            echo "first" >> "$GITHUB_STEP_SUMMARY"
            echo "$GITHUB_OUTPUT" > "$RUNNER_TEMP/first-output-path"
        - id: b
          shell: bash
          run: |
            test "$(cat "$RUNNER_TEMP/first-output-path")" != "$GITHUB_OUTPUT"
            test ! -s "$GITHUB_OUTPUT" && test ! -s "$GITHUB_STEP_SUMMARY"
            echo "y=2" >> "$GITHUB_OUTPUT"
            echo "second" >> "$GITHUB_STEP_SUMMARY"
        """,
    )
    result = run_action(action, root=tmp_path / "runner")
    assert result.succeeded, result.stdout
    assert result.step("b").outputs == {"y": "2"}
    assert result.summaries == ["first\n", "second\n"]


def test_shell_command_lines(tmp_path: Path) -> None:
    action = make_action(
        tmp_path,
        """
        - id: pipefail
          continue-on-error: true
          shell: bash
          run: false | true
        - id: sh
          shell: sh
          run: echo "ok=sh" >> "$GITHUB_OUTPUT"
        - id: py
          shell: python
          run: |
            import os
            with open(os.environ["GITHUB_OUTPUT"], "a") as f:
                f.write("ok=python\\n")
        """,
    )
    result = run_action(action)
    assert result.step("pipefail").outcome == "failure"  # bash runs with -eo pipefail
    assert result.step("pipefail").conclusion == "success"  # continue-on-error
    assert result.step("sh").outputs == {"ok": "sh"}
    assert result.step("py").outputs == {"ok": "python"}
    assert result.succeeded


def test_expressions_in_env_if_and_output_values(tmp_path: Path) -> None:
    action = make_action(
        tmp_path,
        """
        - id: first
          shell: bash
          env:
            MODE: ${{ inputs.mode }}
            REPO: ${{ github.repository }}
          run: echo "seen=$MODE@$REPO" >> "$GITHUB_OUTPUT"
        - id: skipped
          if: inputs.mode == 'other'
          shell: bash
          run: echo "never=1" >> "$GITHUB_OUTPUT"
        """,
        inputs="{mode: {description: m, default: fast}}",
        outputs="{seen: {description: s, value: '${{ steps.first.outputs.seen }}'},"
        " never: {description: n, value: '${{ steps.skipped.outputs.never }}'}}",
    )
    result = run_action(action)
    assert result.outputs == {"seen": "fast@imgpub-org/imgpub-caller", "never": ""}
    assert result.step("skipped").outcome == "skipped"


def test_custom_stub_and_setup_python_default_updates_environment(tmp_path: Path) -> None:
    def login(call: StubCall) -> None:
        call.exported_env["AWS_REGION"] = call.with_["aws-region"]
        call.outputs["aws-account-id"] = "123456789012"

    action = make_action(
        tmp_path,
        """
        - id: py
          uses: actions/setup-python@0000000000000000000000000000000000000000 # v0
        - id: aws
          uses: aws-actions/configure-aws-credentials@1111111111111111111111111111111111111111 # v0
          with:
            aws-region: eu-west-1
        - id: check
          shell: bash
          run: echo "region=$AWS_REGION" >> "$GITHUB_OUTPUT"
        """,
    )
    result = run_action(action, stubs={"aws-actions/configure-aws-credentials": login})
    assert result.step("aws").outputs == {"aws-account-id": "123456789012"}
    assert result.step("check").outputs == {"region": "eu-west-1"}
    assert "pythonLocation" in result.env and len(result.path) == 1


def test_summary_over_limit_is_an_error_annotation_but_not_a_failure(tmp_path: Path) -> None:
    action = make_action(
        tmp_path,
        """
        - shell: python
          run: |
            import os
            open(os.environ["GITHUB_STEP_SUMMARY"], "w").write("x" * (1024 * 1024 + 1))
        """,
    )
    result = run_action(action)
    assert result.succeeded
    assert result.summaries == []
    assert "upload aborted" in result.annotations_of("error")[0].message


# --- the hygiene checks find what they should ----------------------------------------------


def test_hygiene_checks_catch_leaks_overflow_and_groups(tmp_path: Path) -> None:
    action = make_action(
        tmp_path,
        """
        - shell: bash
          run: |
            echo "::add-mask::hunter2"
            echo "the password is hunter2"
            echo "hunter2" >> "$GITHUB_STEP_SUMMARY"
            for i in $(seq 11); do echo "::warning::w$i"; done
            echo "::group::one"
            echo "::group::two"
            echo "::endgroup::"
            echo "::endgroup::"
            echo "::group::never closed"
        """,
    )
    result = run_action(action)
    assert len(masked_leaks(result)) == 2
    assert annotation_overflow(result) == ["step 0: 11 warning annotations (GitHub shows 10)"]
    problems = group_problems(result)
    assert len(problems) == 3, problems
    with pytest.raises(AssertionError, match="runner hygiene"):
        assert_runner_hygiene(result)


def test_stop_commands_and_escaped_properties(tmp_path: Path) -> None:
    action = make_action(
        tmp_path,
        """
        - shell: bash
          run: |
            echo "::stop-commands::tok42"
            echo "::error::not a command"
            echo "::tok42::"
            echo "::error file=a%2Cb.py,line=3,title=T%3A x::100%25 broken%0Anext"
            echo "::debug::details"
        """,
    )
    result = run_action(action)
    (error,) = result.annotations_of("error")
    assert error.message == "100% broken\nnext"
    assert error.properties == {"file": "a,b.py", "line": "3", "title": "T: x"}
    assert result.debug == ["details"]
