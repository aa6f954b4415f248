"""The results document: schema-checked, atomic, and the status rules stages rely on."""

from __future__ import annotations

import json

import pytest

from imgpub.errors import ConfigError
from imgpub.results import ResultsDocument, Section, Target, default_results_path


def test_round_trip_and_schema(tmp_path):
    doc = ResultsDocument()
    sec = Section(stage="mirror-ami")
    sec.add(
        Target("ami-copy", "ami-1@eu-west-1", "created", region="eu-west-1", resource_id="ami-2")
    )
    sec.add(Target("ami-copy", "ami-1@us-east-2", "failed", region="us-east-2", error="boom"))
    sec.data["amis"] = {"ami-1": {"eu-west-1": "ami-2"}}
    sec.status = sec.decide_status()
    doc.put(sec)
    path = tmp_path / "r.json"
    doc.save(path)
    loaded = ResultsDocument.load(path)
    again = loaded.section("mirror-ami")
    assert again is not None and again.status == "partial"
    assert [t.state for t in again.targets] == ["created", "failed"]
    assert again.data["amis"]["ami-1"]["eu-west-1"] == "ami-2"
    assert json.loads(path.read_text())["schema_version"] == 1


def test_same_key_replaces_target():
    sec = Section(stage="s")
    sec.add(Target("k", "a", "planned"))
    sec.add(Target("k", "a", "created"))
    assert [t.state for t in sec.targets] == ["created"]


@pytest.mark.parametrize(
    ("states", "dry_run", "expected"),
    [
        (["created", "existed"], False, "success"),
        (["created", "failed"], False, "partial"),
        (["failed"], False, "failed"),
        ([], False, "success"),
        (["planned"], True, "planned"),
    ],
)
def test_status_rules(states, dry_run, expected):
    sec = Section(stage="s", dry_run=dry_run)
    for i, st in enumerate(states):
        sec.add(Target("k", str(i), st))
    assert sec.decide_status() == expected


def test_missing_file_is_an_empty_document(tmp_path):
    assert ResultsDocument.load(tmp_path / "none.json").stages == {}


def test_foreign_or_broken_documents_are_config_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        ResultsDocument.load(bad)
    bad.write_text(json.dumps({"schema_version": 1, "imgpub_version": "x", "stages": {"s": {}}}))
    with pytest.raises(ConfigError, match="results schema"):
        ResultsDocument.load(bad)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    doc = ResultsDocument()
    doc.put(Section(stage="a"))
    doc.save(tmp_path / "r.json")
    doc.save(tmp_path / "r.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_default_path():
    assert str(default_results_path({})) == "imgpub-results.json"
    env = {"GITHUB_ACTIONS": "true", "RUNNER_TEMP": "/rt"}
    assert str(default_results_path(env)) == "/rt/imgpub-results.json"
