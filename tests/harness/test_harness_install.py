"""The shared install script for real: a fresh venv in a temp tool cache, then reuse.

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
    shutil.copytree(REPO / "actions" / "_shared", dest / "actions" / "_shared")
    shutil.copytree(SAMPLE, dest / "actions" / "sample", ignore=skip)
    return dest / "actions" / "sample"


@pytest.mark.slow
def test_real_install_into_tool_cache_then_reuse(tmp_path: Path) -> None:
    cache = tmp_path / "toolcache"
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    action = make_checkout(checkout)
    first = run_action(
        action,
        inputs={"greeting": "fresh"},
        tool_cache=cache,
        reuse_venv=None,
        root=tmp_path / "r1",
    )
    assert first.succeeded, first.stdout
    venv = Path(first.step("install").outputs["venv"])
    assert venv.parent == cache / "imgpub"
    assert (venv / ".imgpub-complete").is_file()
    assert (venv / "bin" / "imgpub").is_file()
    assert not (checkout / "build").exists(), "the install must not write into the checkout"
    assert first.outputs["message"] == "Hello, fresh!"
    assert_runner_hygiene(first)

    second = run_action(
        action,
        inputs={"greeting": "again"},
        tool_cache=cache,
        reuse_venv=None,
        root=tmp_path / "r2",
    )
    assert second.succeeded, second.stdout
    assert second.step("install").outputs["venv"] == str(venv)
    assert f"Reusing imgpub venv {venv}" in second.stdout


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
