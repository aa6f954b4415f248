"""The shared install script for real: a locked install into the job's private temp, then reuse.

Every other harness test short-circuits the install (IMGPUB_PREINSTALLED_VENV) so the suite
does not pip-install imgpub dozens of times; this one proves the real path works.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import assert_runner_hygiene, run_action

SAMPLE = Path(__file__).parent / "sample_action"
REPO = Path(__file__).resolve().parents[2]


def make_checkout(dest: Path) -> Path:
    """A copy of what an action checkout holds, with the sample as actions/sample.

    A snapshot keeps the content key stable while the working tree changes under the test,
    and proves the script finds the repository root from its own location.
    """
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copy2(REPO / "pyproject.toml", dest / "pyproject.toml")
    if (REPO / "README.md").is_file():
        shutil.copy2(REPO / "README.md", dest / "README.md")
    shutil.copytree(REPO / "lib", dest / "lib", ignore=skip)
    shutil.copytree(REPO / "requirements", dest / "requirements")
    shutil.copytree(REPO / "actions" / "_shared", dest / "actions" / "_shared")
    shutil.copytree(SAMPLE, dest / "actions" / "sample", ignore=skip)
    return dest / "actions" / "sample"


@pytest.mark.slow
def test_real_install_into_the_jobs_temp_then_reuse_within_the_job(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    action = make_checkout(checkout)
    job = tmp_path / "job"
    first = run_action(action, inputs={"greeting": "fresh"}, reuse_venv=None, root=job)
    assert first.succeeded, first.stdout
    venv = Path(first.step("install").outputs["venv"])
    assert venv.parent == job / "temp" / "imgpub", "the venv lives in the job's RUNNER_TEMP"
    assert (venv / ".imgpub-complete").is_file()
    assert (venv / "bin" / "imgpub").is_file()
    assert not (checkout / "build").exists(), "the install must not write into the checkout"
    assert not list(checkout.rglob("*.egg-info")), "imgpub is not built in the checkout"
    assert first.outputs["message"] == "Hello, fresh!"
    assert_runner_hygiene(first)

    # A second imgpub step of the same job (same RUNNER_TEMP) reuses the venv.
    second = run_action(action, inputs={"greeting": "again"}, reuse_venv=None, root=job)
    assert second.succeeded, second.stdout
    assert second.step("install").outputs["venv"] == str(venv)
    assert "Reusing imgpub venv" in second.stdout


@pytest.mark.slow
def test_a_venv_planted_in_the_tool_cache_is_never_run(tmp_path: Path) -> None:
    """On a shared self-hosted runner, another job may have written the tool cache."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    action = make_checkout(checkout)
    cache = tmp_path / "toolcache"
    evidence = tmp_path / "planted-code-ran"
    for where in (cache / "imgpub", cache / "imgpub" / "anykey"):
        planted = where / "bin" / "imgpub"
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_text(f"#!/bin/sh\ntouch {evidence}\n")
        planted.chmod(0o755)
        (where / ".imgpub-complete").write_text("")
    result = run_action(
        action, inputs={"greeting": "x"}, reuse_venv=None, root=tmp_path / "job", tool_cache=cache
    )
    assert result.succeeded, result.stdout
    assert not evidence.exists(), "a venv from the tool cache was run"
    assert Path(result.step("install").outputs["venv"]).is_relative_to(tmp_path / "job" / "temp")


def test_install_refuses_extras_without_a_lock(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    make_checkout(checkout)
    import subprocess
    import sys

    proc = subprocess.run(
        ["bash", str(checkout / "actions" / "_shared" / "install.sh")],
        env={
            "PATH": "/usr/bin:/bin",
            "IMGPUB_PYTHON": sys.executable,
            "IMGPUB_EXTRAS": "nosuchextra",
            "RUNNER_TEMP": str(tmp_path / "temp"),
        },
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "no lock file requirements/nosuchextra.txt" in proc.stdout


def test_install_script_refuses_a_missing_interpreter(tmp_path: Path) -> None:
    from . import StubCall

    def broken_setup_python(call: StubCall) -> None:
        call.outputs["python-path"] = str(tmp_path / "no-such-python")

    result = run_action(
        SAMPLE,
        inputs={"greeting": "x"},
        stubs={"actions/setup-python": broken_setup_python},
        reuse_venv=None,
        root=tmp_path,
    )
    assert result.exit_code == 1
    assert result.step("install").outcome == "failure"
    assert "is not an executable interpreter" in result.annotations_of("error")[0].message
    assert result.step("run").outcome == "skipped"
