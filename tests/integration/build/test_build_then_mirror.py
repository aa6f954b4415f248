"""mirror-ami with no source-ami takes the AMI build-ami recorded in the results document."""

from __future__ import annotations

import io
import json
import os

from imgpub.gha import Gha
from imgpub.stage import run_stage
from imgpub.stages import STAGES, load_stage
from tests.integration.build_helpers import ami_target, build, make_image


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
