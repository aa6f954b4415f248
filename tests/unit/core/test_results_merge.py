"""Merging the results documents of a release's matrix legs (imgpub.results_merge)."""

from __future__ import annotations

import pytest

from imgpub.errors import InputError
from imgpub.results import ResultsDocument, Section, Target
from imgpub.results_merge import load_documents, merge_documents, read_documents


def _build(arch: str, ami: str, state: str = "created", started: str = "2026-01-01T00:00:00Z"):
    section = Section(
        "build-ami", started_at=started, finished_at=started.replace("00Z", "30Z"),
        duration_seconds=30.0, inputs={"architecture": arch}, data={"ami": {"id": ami}},
        outputs={"ami-id": ami},
    )  # fmt: skip
    section.add(Target("ami", f"ami:us-east-1:AlmaLinux {arch}", state, "us-east-1", ami))  # type: ignore[arg-type]
    section.status = section.decide_status()
    return ResultsDocument(stages={"build-ami": section}, run={"run_id": arch})


def test_two_build_legs_become_one_section_with_both_amis() -> None:
    x86 = _build("x86_64", "ami-1", started="2026-01-01T00:00:05Z")
    arm = _build("aarch64", "ami-2", started="2026-01-01T00:00:00Z")
    merged = merge_documents([x86, arm])
    section = merged.stages["build-ami"]
    assert [t.resource_id for t in section.targets] == ["ami-1", "ami-2"]
    assert section.status == "success"
    assert section.started_at == "2026-01-01T00:00:00Z"
    assert section.data == {"legs": [{"ami": {"id": "ami-1"}}, {"ami": {"id": "ami-2"}}]}
    assert section.outputs == {}, "a job's outputs are its own, never merged"
    # The merged document is still a valid one (schema-checked on save and load).
    assert ResultsDocument.from_json(merged.to_json()).stages["build-ami"].counts() == {
        "created": 2
    }


def test_one_failed_leg_makes_the_merged_section_partial() -> None:
    merged = merge_documents([_build("x86_64", "ami-1"), _build("aarch64", "ami-2", "failed")])
    assert merged.stages["build-ami"].status == "partial"


def test_a_later_record_of_the_same_target_wins_and_other_stages_are_kept() -> None:
    first = _build("x86_64", "ami-1", "failed")
    rerun = _build("x86_64", "ami-1", "existed")
    mirror = Section("mirror-ami")
    mirror.add(Target("copy", "copy:eu-west-1", "created", "eu-west-1", "ami-9"))
    rerun.put(mirror)
    merged = merge_documents([first, rerun])
    assert list(merged.stages) == ["build-ami", "mirror-ami"]
    assert [t.state for t in merged.stages["build-ami"].targets] == ["existed"]
    assert merged.stages["build-ami"].status == "success"
    assert merged.stages["mirror-ami"] is mirror, "a single section is kept as it is"
    assert merged.run == {"run_id": "x86_64"}


def test_dry_run_only_when_every_leg_was_one() -> None:
    real, dry = _build("x86_64", "ami-1"), _build("aarch64", "ami-2")
    dry.stages["build-ami"].dry_run = True
    assert merge_documents([real, dry]).stages["build-ami"].dry_run is False
    real.stages["build-ami"].dry_run = True
    assert merge_documents([real, dry]).stages["build-ami"].status == "planned"


def test_load_documents_expands_globs_once_in_order(tmp_path) -> None:
    for arch in ("x86_64", "aarch64"):
        (tmp_path / arch).mkdir()
        _build(arch, f"ami-{arch}").save(tmp_path / arch / "imgpub-results.json")
    pattern = str(tmp_path / "*" / "imgpub-results.json")
    paths = load_documents([pattern, str(tmp_path / "x86_64" / "imgpub-results.json")], "x", "y")
    assert [p.parent.name for p in paths] == ["aarch64", "x86_64"]
    docs = read_documents([pattern], "build-results", "download them")
    assert [d.stages["build-ami"].targets[0].resource_id for _p, d in docs] == [
        "ami-aarch64",
        "ami-x86_64",
    ]


def test_a_missing_or_bad_document_is_bad_input_naming_the_input(tmp_path) -> None:
    with pytest.raises(InputError, match=r"input .build-results.: .*matches no file"):
        load_documents([str(tmp_path / "*.json")], "build-results", "download the artifacts")
    (tmp_path / "bad.json").write_text('{"stages": 1}', encoding="utf-8")
    with pytest.raises(InputError, match=r"input .build-results.: .*does not match"):
        read_documents([str(tmp_path / "bad.json")], "build-results", "download the artifacts")
