"""Bad input to wiki-pr: exit 2, one line naming the input and the fix, nothing written.

Each case runs the real CLI in a child process against the local GitHub, whose request
log proves that not one request wrote anything (most cases make no request at all: they
are found before GitHub is asked anything).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.wiki_helpers import REPO, cli_env, copy_doc, writes


def doc_variant(source, target, change):
    doc = json.loads(source.read_text("utf-8"))
    change(doc)
    target.write_text(json.dumps(doc), "utf-8")
    return target


def dry_run_mirror(doc):
    doc["stages"]["mirror-ami"]["dry_run"] = True


def later_release(doc):
    section = doc["stages"]["mirror-ami"]
    section["data"]["table"] = [[c if c != "9.6.20250522" else "9.6.20250601" for c in row]
                                for row in section["data"]["table"]]  # fmt: skip


def no_mirror(doc):
    del doc["stages"]["mirror-ami"]


CASES = [
    ("repository", {"repository": "not-a-repo"}, "owner/name"),
    ("base", {"base": "bad..name"}, "branch name"),
    ("release", {"release": "has/slash"}, "cannot name a branch"),
    ("files", {"files": "docs: [unclosed"}, "not valid YAML"),
    ("files", {"files": "'docs/{{ nope }}.md': csv"}, "'nope' is undefined"),
    ("files", {"files": "../outside.csv: csv"}, "not a path inside the repository"),
    ("files", {"files": "docs/a.md: {template-file: /no/such/file.j2}"}, "cannot be read"),
    ("title", {"title": "{{ unclosed"}, "template syntax error"),
    ("mirror-results", {"mirror-results": "/no/such/imgpub-results.json"}, "matches no file"),
    ("labels", {"labels": "x" * 60}, "longer than 50"),
    ("reviewers", {"reviewers": "not a login!"}, "not a login or org/team"),
    ("github-api-url", {"github-api-url": "ftp://github.example"}, "not an https:// URL"),
    ("rate-limit-wait", {"rate-limit-wait": "-5"}, "below 0"),
    ("draft", {"draft": "maybe"}, "not a boolean"),
    ("notify-on", {"notify-on": "sometimes"}, "not one of always, failure, never"),
    ("notify-webhook", {"notify-webhook": "http://chat.example/hooks/abc"}, "https://"),
    ("notify-channel", {"notify-channel": "two words"}, "not a channel name"),
]


def run_cli(env, results, flags):
    argv = [sys.executable, "-m", "imgpub.cli", "wiki-pr", "--results", str(results)]
    if "repository" not in flags:
        argv += ["--repository", REPO]
    for name, value in flags.items():
        argv += [f"--{name}", value]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)


def assert_exit_2(proc, name, fragment):
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("error")]
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert len(lines) == 1, lines
    assert f"'{name}'" in lines[0] and fragment in lines[0], lines[0]
    assert " — " in lines[0], "the line must say what to do"


@pytest.mark.parametrize(
    ("name", "flags", "fragment"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_bad_input_is_exit_2_with_no_request(tmp_path, github, mirror_docs, name, flags, fragment):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    before = results.read_text("utf-8")
    proc = run_cli(cli_env(github), results, flags)
    assert_exit_2(proc, name, fragment)
    assert github.log.all() == []
    assert results.read_text("utf-8") == before  # exit 2 never replaces the document


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (no_mirror, "no mirror-ami section"),
        (dry_run_mirror, "was a dry run"),
    ],
)
def test_unusable_results_documents_are_exit_2(tmp_path, github, mirror_docs, change, fragment):
    results = doc_variant(mirror_docs.both, tmp_path / "r.json", change)
    proc = run_cli(cli_env(github), results, {})
    assert_exit_2(proc, "results", fragment)
    assert github.log.all() == []


def test_documents_of_two_releases_are_exit_2(tmp_path, github, mirror_docs):
    other = doc_variant(mirror_docs.arm, tmp_path / "arm.json", later_release)
    proc = run_cli(
        cli_env(github), tmp_path / "r.json", {"mirror-results": f"{mirror_docs.x86}\n{other}"}
    )
    assert_exit_2(proc, "mirror-results", "more than one release")
    assert github.log.all() == []


def test_no_token_at_all_is_exit_2(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    env = cli_env(github)
    del env["GITHUB_TOKEN"]
    assert_exit_2(run_cli(env, results, {}), "github-token", "GITHUB_TOKEN is not set")
    assert github.log.all() == []


def test_a_base_branch_that_does_not_exist_is_exit_2_after_reads_only(
    tmp_path, github, mirror_docs
):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    proc = run_cli(cli_env(github), results, {"base": "main"})
    assert_exit_2(proc, "base", "has no branch main")
    assert github.log.all() and writes(github) == []
