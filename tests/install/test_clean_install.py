"""Each action from a clean install of exactly the extras its action.yml names.

The rest of the suite runs in the dev venv, which holds every extra, so it cannot see an
action that fails to start because its install lacks a module. These tests install imgpub
from the checkout the way a user gets it: through each action's real install script (no
preinstalled venv), and with the core alone, then run the stage's ``--help`` and a dry run
from that install.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness import run_action

from imgpub.stages import STAGES, present_stages
from tests.integration.gallery_helpers import IMAGE, make_raw
from tests.integration.marketplace_helpers import release
from tests.integration.mirror_helpers import release_sources

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ROOT / "actions"


def action_extras(stage: str) -> str:
    """The IMGPUB_EXTRAS the action's install step passes to the install script."""
    doc = yaml.safe_load((ACTIONS / stage / "action.yml").read_text("utf-8"))
    install = next(s for s in doc["runs"]["steps"] if s.get("id") == "install")
    return str(install["env"]["IMGPUB_EXTRAS"])


def imgpub(venv: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "imgpub"), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


def installed_modules(venv: Path) -> set[str]:
    code = "import importlib.util as u, sys; print(' '.join(m for m in sys.argv[1:] if u.find_spec(m)))"
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code, "boto3", "azure", "moto"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(proc.stdout.split())


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """imgpub with no extras at all, installed by the actions' own install script."""
    temp = tmp_path_factory.mktemp("core")
    out = temp / "github-output"
    subprocess.run(
        ["bash", str(ACTIONS / "_shared" / "install.sh")],
        env={
            "PATH": "/usr/bin:/bin",
            "IMGPUB_PYTHON": sys.executable,
            "IMGPUB_EXTRAS": "",
            "RUNNER_TEMP": str(temp),
            "GITHUB_OUTPUT": str(out),
        },
        check=True,
        timeout=600,
        capture_output=True,
    )
    return Path(out.read_text("utf-8").strip().removeprefix("venv="))


def test_every_action_installs_exactly_its_stage_extras():
    for name in present_stages():
        assert action_extras(name) == ",".join(STAGES[name].extras), name


def test_core_install_lists_every_stage_with_its_extra(core_venv: Path):
    assert installed_modules(core_venv) == set()
    proc = imgpub(core_venv, "--help")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    for name, info in present_stages().items():
        assert name in text
        assert f"[needs imgpub[{','.join(info.extras)}]]" in text, name


#: Extras whose SDK every install already has: actions-toolkit (core) depends on PyGithub.
IN_THE_CORE = frozenset({"github"})


NEEDS_MORE_THAN_THE_CORE = sorted(
    n for n in present_stages() if not set(STAGES[n].extras) <= IN_THE_CORE
)


def test_a_stage_whose_sdk_the_core_brings_starts_from_the_core(core_venv: Path):
    for name in sorted(set(present_stages()) - set(NEEDS_MORE_THAN_THE_CORE)):
        proc = imgpub(core_venv, name, "--help")
        assert proc.returncode == 0, (name, proc.stderr)


@pytest.mark.parametrize("name", NEEDS_MORE_THAN_THE_CORE)
def test_a_stage_without_its_extra_exits_2_naming_it(core_venv: Path, name: str):
    for argv in ([name, "--help"], [name, "--dry-run", "true"]):
        proc = imgpub(core_venv, *argv)
        assert proc.returncode == 2, (argv, proc.stdout, proc.stderr)
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
        assert len(lines) == 1, lines
        assert "Traceback" not in lines[0]
        assert STAGES[name].install_hint in lines[0], lines[0]


def _run_from_real_install(tmp_path: Path, stage: str, inputs: dict[str, str], env: dict[str, str]):
    result = run_action(
        ACTIONS / stage,
        inputs=inputs,
        env=env,
        reuse_venv=None,  # the action's own install script, not the dev venv
        root=tmp_path / "runner",
    )
    venv = Path(result.step("install").outputs["venv"])
    assert venv.parent == tmp_path / "runner" / "temp" / "imgpub", venv
    return result, venv


def _check_stage_venv(venv: Path, stage: str) -> None:
    # (PyGithub is not a marker: actions-toolkit, a core dependency, already brings it.)
    wanted = {"aws": "boto3", "azure": "azure"}
    expected = {wanted[e] for e in STAGES[stage].extras if e in wanted}
    assert installed_modules(venv) == expected, "the action installs more or less than it names"
    proc = imgpub(venv, stage, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--dry-run" in proc.stdout
    top = imgpub(venv, "--help")
    assert top.returncode == 0 and stage in top.stdout


def test_mirror_ami_action_from_its_own_install(tmp_path: Path, aws_endpoint: str):
    import os

    x86, _ = release_sources()
    env = {
        k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    env["AWS_REGION"] = "us-east-1"
    result, venv = _run_from_real_install(
        tmp_path, "mirror-ami", {"source-ami": x86, "regions": "eu-west-1", "dry-run": "true"}, env
    )
    assert result.exit_code == 0, result.stdout
    assert result.outputs["status"] == "success"
    doc = json.loads(Path(result.outputs["results-path"]).read_text("utf-8"))
    planned = doc["stages"]["mirror-ami"]["targets"]
    assert [t["state"] for t in planned if t["kind"] == "ami-copy"] == ["planned"]
    _check_stage_venv(venv, "mirror-ami")
    assert imgpub(venv, "azure-gallery", "--help").returncode == 2


def test_azure_gallery_action_from_its_own_install(tmp_path: Path):
    raw = make_raw(tmp_path / IMAGE)
    result, venv = _run_from_real_install(tmp_path, "azure-gallery", {"image": str(raw)}, {})
    assert result.exit_code == 0, result.stdout
    assert result.outputs["status"] == "success"
    versions = json.loads(result.outputs["image-versions"])
    assert versions and {v["state"] for v in versions} == {"planned"}
    _check_stage_venv(venv, "azure-gallery")


@pytest.mark.registry
def test_ecr_mirror_action_from_its_own_install(
    tmp_path: Path, registry, ecr_registry, aws_endpoint: str
):
    import os

    from tests.integration.oci_helpers import push_image, unique

    name = unique("clean")
    push_image(tmp_path, registry, f"x/{name}:1.0.0")
    env = {
        k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    env |= {"AWS_REGION": "us-east-1", "PATH": os.environ["PATH"]}
    inputs = {
        "images": f"{registry}/x/{name}:1.0.0",
        "registry": ecr_registry.info["host"],
        "tls-verify": "false",
        "dry-run": "true",
    }
    result, venv = _run_from_real_install(tmp_path, "ecr-mirror", inputs, env)
    assert result.exit_code == 0, result.stdout
    [image] = json.loads(result.outputs["images"])
    assert image["state"] == "planned" and image["digest"].startswith("sha256:")
    _check_stage_venv(venv, "ecr-mirror")
    assert imgpub(venv, "license-check", "--help").returncode == 0


def test_marketplace_changeset_action_from_its_own_install(tmp_path: Path, catalog):
    import os

    x86, _, role = release(catalog)
    keys = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_MARKETPLACE_CATALOG", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY")  # fmt: skip
    env = {k: os.environ[k] for k in keys} | {"AWS_REGION": "us-east-1"}
    inputs = {"ami-id": x86, "access-role-arn": role, "dry-run": "true"}
    result, venv = _run_from_real_install(tmp_path, "marketplace-changeset", inputs, env)
    assert result.exit_code == 0, result.stdout
    assert result.outputs["status"] == "success"
    # the built-in products table and change-set template travel as package data
    [planned] = json.loads(result.outputs["change-sets"])
    assert (planned["product_id"], planned["state"]) == ("prod-t4oyq2p42jn2u", "planned")
    assert '"AmiId": "' + x86 + '"' in result.stdout
    _check_stage_venv(venv, "marketplace-changeset")


def test_wiki_pr_action_from_its_own_install(tmp_path: Path):
    """The github extra alone (no boto3): a dry run against the local GitHub."""
    from imgpub.sandbox.fake_github import FakeGithub
    from tests.integration.wiki_helpers import REPO, TOKEN, seed_github
    from tests.unit.wiki.release_docs import mirror_doc

    results = tmp_path / "mirror-results.json"
    images = [("ami-x", "us-east-1", "ami-x", "x86_64"), ("ami-x", "eu-west-1", "ami-x2", "x86_64")]
    mirror_doc(images).save(results)
    with FakeGithub() as github:
        seed_github(github)
        inputs = {
            "repository": REPO,
            "mirror-results": str(results),
            "github-token": TOKEN,
            "github-api-url": github.api_url,
            "dry-run": "true",
        }
        result, venv = _run_from_real_install(tmp_path, "wiki-pr", inputs, {})
        assert result.exit_code == 0, result.stdout
        assert result.outputs["state"] == "planned"
        assert [r.method for r in github.log.all() if r.method != "GET"] == []
    _check_stage_venv(venv, "wiki-pr")
    assert imgpub(venv, "mirror-ami", "--help").returncode == 2  # boto3 is not installed


def test_build_ami_action_from_its_own_install(tmp_path: Path, aws_endpoint: str):
    import os

    from tests.integration.build_helpers import make_image

    env = {
        k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    env["AWS_REGION"] = "us-east-1"
    image = make_image(tmp_path)
    result, venv = _run_from_real_install(
        tmp_path, "build-ami", {"image": str(image), "test": "true", "dry-run": "true"}, env
    )
    assert result.exit_code == 0, result.stdout
    assert result.outputs["status"] == "success"
    doc = json.loads(Path(result.outputs["results-path"]).read_text("utf-8"))
    targets = doc["stages"]["build-ami"]["targets"]
    assert {t["kind"]: t["state"] for t in targets} == {"ami": "planned", "boot-test": "planned"}
    _check_stage_venv(venv, "build-ami")


def test_push_action_from_its_own_install(tmp_path: Path):
    """The schema and the example mappings travel as package data: a dry run plans."""
    from tests.integration.push_helpers import as_base64, aws_credentials, mapping_file, staged

    inputs = {
        "sources": str(staged(tmp_path)),
        "mapping": str(mapping_file(tmp_path)),
        "offline": "true",
        "workflow": "community",
        "credentials": as_base64(aws_credentials()),
        "dry-run": "true",
    }
    result, venv = _run_from_real_install(tmp_path, "push", inputs, {})
    assert result.exit_code == 0, result.stdout
    rows = json.loads(result.outputs["destinations"])
    assert len(rows) == 5 and {r["state"] for r in rows} == {"planned"}
    assert "billing-products=bp-6fa54006" in result.stdout
    _check_stage_venv(venv, "push")
