"""imgpub.gha against the runner's rules: outputs, masks, annotations, groups, summaries.

Outputs are parsed back with the harness's runner-faithful parser, so "the runner reads
what we write" is tested, not assumed.
"""

from __future__ import annotations

import io

import pytest

from imgpub.gha import MAX_SUMMARY_BYTES, Gha, OutputError, Summary, escape_md
from tests.harness.commands import CommandLog
from tests.harness.filecommands import parse_key_values


def parse_commands(text: str) -> CommandLog:
    log = CommandLog()
    log.feed(text, 0)
    return log


def actions_gha(tmp_path):
    out = tmp_path / "GITHUB_OUTPUT"
    out.write_text("")
    summ = tmp_path / "GITHUB_STEP_SUMMARY"
    summ.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summ)}
    stdout = io.StringIO()
    return Gha(env, stdout=stdout), out, summ, stdout


@pytest.mark.parametrize(
    "value",
    [
        "line one\nline two\n\nline four",
        "a=b=c",
        "x<<EOF",
        "EOF",
        "ghadelimiter_00000000-0000-0000-0000-000000000000",
        "trailing newline\n",
        "",
        "ünïcödé ☃",
        '{"json": "with = and <<"}',
    ],
)
def test_outputs_round_trip_through_the_runner_parser(tmp_path, value):
    gha, out, _, _ = actions_gha(tmp_path)
    gha.set_outputs({"value": value, "other": "plain"})
    parsed = parse_key_values(out.read_text("utf-8"))
    assert parsed == {"value": value, "other": "plain"}


def test_each_record_uses_a_fresh_random_delimiter(tmp_path):
    gha, out, _, _ = actions_gha(tmp_path)
    gha.set_outputs({"a": "1", "b": "2"})
    delims = [ln.split("<<", 1)[1] for ln in out.read_text().splitlines() if "<<" in ln]
    assert len(delims) == 2 and delims[0] != delims[1]
    assert all(d.startswith("ghadelimiter_") for d in delims)


def test_oversize_output_refused_and_nothing_written(tmp_path):
    gha, out, _, _ = actions_gha(tmp_path)
    with pytest.raises(OutputError, match="over the runner's 1 MB limit"):
        gha.set_outputs({"small": "ok", "big": "x" * 600_000})  # 1.2 MB as UTF-16
    assert out.read_text() == ""


def test_masked_value_is_never_an_output(tmp_path):
    gha, out, _, stdout = actions_gha(tmp_path)
    gha.mask("sup3r-s3cret")
    assert "::add-mask::sup3r-s3cret" in stdout.getvalue()
    with pytest.raises(OutputError, match="masked value"):
        gha.set_outputs({"arn": "arn:aws:iam::sup3r-s3cret:role/x"})
    assert out.read_text() == ""


def test_multiline_secret_masked_line_by_line(tmp_path):
    gha, _, _, stdout = actions_gha(tmp_path)
    gha.mask("-----BEGIN KEY-----\nabcdef123456\n-----END KEY-----")
    masks = [m.value for m in parse_commands(stdout.getvalue()).masks]
    assert "abcdef123456" in masks and "-----BEGIN KEY-----" in masks


def test_annotations_escaped_and_capped_at_ten_per_kind(tmp_path):
    gha, _, _, stdout = actions_gha(tmp_path)
    gha.error("100% broken\nsecond line", title="a: b, c")
    for i in range(12):
        gha.warning(f"w{i}")
    text = stdout.getvalue()
    assert "::error title=a%3A b%2C c::100%25 broken%0Asecond line" in text
    parsed = parse_commands(text)
    kinds = [a.kind for a in parsed.annotations]
    assert kinds.count("warning") == 10 and kinds.count("error") == 1
    assert "warning: w11" in text  # the overflow is still in the log


def test_untrusted_log_line_cannot_become_a_command(tmp_path):
    gha, _, _, stdout = actions_gha(tmp_path)
    gha.info("::add-mask::nothing\n::error::fake")
    parsed = parse_commands(stdout.getvalue())
    assert parsed.masks == [] and parsed.annotations == []


def test_groups_balanced_and_not_nested(tmp_path):
    gha, _, _, stdout = actions_gha(tmp_path)
    with gha.group("outer"), gha.group("inner"):
        gha.info("x")
    lines = stdout.getvalue().splitlines()
    assert lines.count("::group::outer") == 1 and lines.count("::endgroup::") == 1
    assert "::group::inner" not in lines


def test_terminal_mode_prints_readable_text():
    out, err = io.StringIO(), io.StringIO()
    gha = Gha({}, stdout=out, stderr=err)
    gha.mask("secret-token")
    gha.warning("careful")
    gha.set_outputs({"amis": "{}"})
    with gha.group("Copy"):
        gha.info("copying")
    assert "::" not in out.getvalue() + err.getvalue()
    assert "warning: careful" in err.getvalue() and "output amis: {}" in err.getvalue()
    assert "== Copy" in out.getvalue()


def test_summary_escapes_untrusted_text():
    s = Summary().heading("AMI <script>alert(1)</script>")
    s.table(["region", "error"], [["eu-west-1", "bad | pipe [x](javascript:y)\nnext"]])
    md = s.render_markdown()
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\\|" in md and "\\[x\\]" in md and "<br>" in md
    row = next(ln for ln in md.splitlines() if ln.startswith("| eu-west-1"))
    assert row.count(" | ") == 1  # the pipe in the cell did not add a column


def test_summary_stays_within_budget_by_dropping_rows():
    rows = [[f"region-{i}", "ami-" + "0" * 17, "x" * 200] for i in range(8000)]
    md = Summary().heading("big").table(["r", "ami", "why"], rows).render_markdown()
    assert len(md.encode()) <= MAX_SUMMARY_BYTES
    assert "more rows are in the results document" in md


def test_summary_written_to_step_summary_file(tmp_path):
    gha, _, summ, _ = actions_gha(tmp_path)
    gha.write_summary(Summary().heading("Mirrored").table(["a"], [["1"]]))
    assert summ.read_text().startswith("## Mirrored")


def test_code_fence_survives_backticks():
    md = Summary().code("```\nnot closed", "json").render_markdown()
    assert md.startswith("````json\n")


def test_escape_md_plain_text_unchanged():
    assert escape_md("ami-0123 eu-west-1") == "ami-0123 eu-west-1"
