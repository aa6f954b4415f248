"""Notification texts (pure) and the notification inputs."""

from __future__ import annotations

import pytest

from imgpub.errors import InputError
from imgpub.inputs import InputReader
from imgpub.notify.message import MAX_TEXT, document_text, escape, link, stage_text
from imgpub.notify.settings import NotifySettings, read_notify_settings, webhook_label
from imgpub.results import ResultsDocument, Section, Target


def section(status="success", targets=(), error=None):
    s = Section("mirror-ami", status=status)
    for t in targets:
        s.add(t)
    s.error = error
    return s


def test_stage_text_lists_failures_first_with_the_remedy():
    s = section(
        "partial",
        [
            Target("ami-copy", "a@us-east-2", "created", region="us-east-2", resource_id="ami-1"),
            Target("ami-copy", "a@eu-west-1", "existed", region="eu-west-1", resource_id="ami-2"),
            Target("ami-copy", "a@ap-south-1", "failed", region="ap-south-1",
                   error="UnauthorizedOperation", remedy="grant ec2:CopyImage"),
        ],
    )  # fmt: skip
    text = stage_text(s, run_url="https://github.com/o/r/actions/runs/9")
    lines = text.splitlines()
    assert lines[0] == (
        ":warning: imgpub mirror-ami: partial success (1 created, 1 existed, 1 failed) — "
        "<https://github.com/o/r/actions/runs/9|run>"
    )
    assert lines[1].startswith("• failed ami-copy `a@ap-south-1` in ap-south-1: Unauthorized")
    assert lines[1].endswith("— grant ec2:CopyImage")
    assert lines[2] == "• created ami-copy `ami-1` in us-east-2"
    assert lines[3] == "• existed ami-copy `ami-2` in eu-west-1"


def test_untrusted_text_cannot_become_a_link_or_a_mention():
    s = section(
        "failed", [Target("x", "k", "failed", error="<!channel> <https://evil|click> & co")]
    )
    text = stage_text(s, run_url=None)
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; &lt;https://evil|click&gt; &amp; co" in text
    assert escape("`a`") == "`a`" and link("javascript:alert(1)", "x") == "`javascript:alert(1)`"


def test_long_messages_are_shortened_and_counted():
    many = [Target("ami-copy", f"a@r{i}", "created", resource_id=f"ami-{i}") for i in range(40)]
    text = stage_text(section("success", many), run_url=None)
    assert "… and 28 more in the results document" in text and len(text) <= MAX_TEXT + 60
    huge = [Target("x", f"k{i}", "failed", error="e" * 1000) for i in range(10)]
    assert len(stage_text(section("failed", huge), run_url=None)) <= MAX_TEXT + 60


def test_errors_and_dry_runs_read_plainly():
    s = section("failed", error={"message": "input 'x': bad", "remedy": "fix x", "exit_code": 2})
    assert stage_text(s, run_url=None).splitlines()[1:] == [
        "Error: input 'x': bad",
        "What to do: fix x",
    ]
    assert "dry run, nothing changed" in stage_text(section("planned"), run_url=None)


def test_document_text_has_a_line_per_stage():
    doc = ResultsDocument()
    doc.put(section("success", [Target("ami-copy", "k", "created", resource_id="ami-1")]))
    failed = Section("wiki-pr", status="failed")
    failed.add(Target("pull-request", "o/r:b", "failed", error="403", remedy="grant"))
    doc.put(failed)
    text = document_text(doc, run_url=None)
    assert text.splitlines()[0] == ":x: imgpub release: failed"
    assert "  :white_check_mark: imgpub mirror-ami: success (1 created)" in text
    assert "• failed pull-request `o/r:b`: 403 — grant" in text


def reader(**values):
    return InputReader((), flags=values)


def test_settings_mask_the_webhook_and_its_key():
    masked = []
    url = "https://chat.example.com/hooks/abcdefghij1234"
    got = read_notify_settings(
        InputReader((), flags={"notify-webhook": url}, mask=masked.append), masked.append
    )
    assert got == NotifySettings(url, "", "always")
    assert url in masked and "hooks/abcdefghij1234" in masked
    assert webhook_label(url) == "https://chat.example.com/***"


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"notify-webhook": "http://chat.example.com/hooks/x"}, "notify-webhook"),
        ({"notify-webhook": "hooks.slack.com/services/x"}, "notify-webhook"),
        ({"notify-webhook": "https://h:99999/x"}, "notify-webhook"),
        ({"notify-on": "sometimes"}, "notify-on"),
        ({"notify-channel": "#two words"}, "notify-channel"),
    ],
)
def test_bad_settings_name_the_input_and_never_echo_the_url(values, name):
    with pytest.raises(InputError) as err:
        read_notify_settings(reader(**values))
    assert err.value.name == name
    assert "chat.example.com" not in err.value.one_line()


def test_empty_webhook_or_never_posts_nothing():
    assert read_notify_settings(reader()) is None
    assert (
        read_notify_settings(
            reader(**{"notify-webhook": "https://x.example/h", "notify-on": "never"})
        )
        is None
    )
    local = read_notify_settings(reader(**{"notify-webhook": "http://127.0.0.1:9/hooks/k"}))
    assert local is not None  # a receiver on this machine may be plain http


@pytest.mark.parametrize(
    ("on", "status", "code", "posts"),
    [
        ("always", "success", 0, True),
        ("failure", "success", 0, False),
        ("failure", "partial", 3, True),
        ("failure", "failed", 2, True),
        ("failure", "planned", 0, False),
    ],
)
def test_notify_on(on, status, code, posts):
    assert NotifySettings("https://x", "", on).wants(status, code) is posts
