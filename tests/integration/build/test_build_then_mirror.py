"""mirror-ami with no source-ami takes the AMI build-ami recorded in the results document."""

from __future__ import annotations

import io
import json
import os

from imgpub.gha import Gha
from imgpub.stage import run_stage
from imgpub.stages import STAGES, load_stage
from tests.integration.build_helpers import ami_target, build, make_image
from tests.integration.mirror_helpers import mutating_calls


def mirror(tmp_path, **flags):
    out = io.StringIO()
    given = {"results": str(tmp_path / "r.json"), **flags}
    gha = Gha(os.environ, stdout=out, stderr=out)
    code = run_stage(load_stage(STAGES["mirror-ami"]), flags=given, env=os.environ, gha=gha)
    return code, out.getvalue()


def test_mirror_takes_the_built_ami_from_the_results_document(tmp_path, aws_endpoint):
    code, section, log = build(tmp_path, image=str(make_image(tmp_path)))
    assert code == 0, log
    built = ami_target(section)["resource_id"]
    code, log = mirror(tmp_path, regions="eu-west-1")
    assert code == 0, log
    doc = json.loads((tmp_path / "r.json").read_text())
    amis = json.loads(doc["stages"]["mirror-ami"]["outputs"]["amis"])
    assert list(amis) == [built] and set(amis[built]) == {"us-east-1", "eu-west-1"}


def test_mirror_without_source_and_without_a_build_is_exit_2(tmp_path, aws_endpoint):
    code, log = mirror(tmp_path, regions="eu-west-1")
    assert code == 2 and "'source-ami'" in log and "build-ami" in log


def test_mirror_merges_the_build_legs_documents_and_mirrors_both(tmp_path, aws_endpoint):
    """Two build jobs (x86_64, aarch64), one document each, as two artifacts: the mirror job
    merges them into its own document and mirrors both AMIs."""
    built = {}
    for arch in ("x86_64", "aarch64"):
        leg = tmp_path / "artifacts" / f"imgpub-results-build-{arch}"
        leg.mkdir(parents=True)
        name = f"AlmaLinux-9-GenericCloud-9.6-20250522.0.{arch}.raw"
        code, section, log = build(leg, image=str(make_image(leg, name=name)))
        assert code == 0, log
        (leg / "r.json").rename(leg / "imgpub-results.json")
        built[arch] = ami_target(section)["resource_id"]
    pattern = str(tmp_path / "artifacts" / "*" / "imgpub-results.json")
    code, log = mirror(tmp_path, regions="eu-west-1", **{"build-results": pattern})
    assert code == 0, log
    doc = json.loads((tmp_path / "r.json").read_text())
    assert set(json.loads(doc["stages"]["mirror-ami"]["outputs"]["amis"])) == set(built.values())
    # The saved document holds the whole release so far: both legs' build-ami targets.
    amis = [t["resource_id"] for t in doc["stages"]["build-ami"]["targets"] if t["kind"] == "ami"]
    assert sorted(amis) == sorted(built.values())
    assert doc["stages"]["build-ami"]["status"] == "success"


def test_mirror_with_build_results_that_match_nothing_is_exit_2_and_changes_nothing(
    tmp_path, aws_endpoint, ec2_control
):
    before = ec2_control.stats()
    code, log = mirror(
        tmp_path, regions="eu-west-1", **{"build-results": str(tmp_path / "x/*.json")}
    )
    assert code == 2, log
    assert "input 'build-results'" in log and "matches no file" in log and "download" in log
    assert not (tmp_path / "r.json").exists(), "nothing saved: nothing changed"
    assert mutating_calls(ec2_control.stats()) == mutating_calls(before)
