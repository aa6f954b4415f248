"""The CLI mirrors the actions: every stage listed, every input a documented flag."""

from __future__ import annotations

import subprocess
import sys

import pytest

from imgpub.cli import available_stages, build_parser, main
from imgpub.inputs import with_common_inputs
from imgpub.stages import STAGES as REGISTRY

STAGES = available_stages()


def help_text(*argv: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "imgpub.cli", *argv, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_top_level_help_lists_every_stage_and_the_sandbox():
    text = help_text()
    for name in [*STAGES, "sandbox", "demo"]:
        assert f"    {name}" in text, name
    assert "Exit codes" in text and "imgpub demo" in text


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_help_documents_every_input_as_a_flag(name):
    text = help_text(name)
    module = STAGES[name]
    for spec in with_common_inputs(module.INPUTS):
        assert spec.flag in text, spec.flag
        first_words = " ".join(spec.description.split()[:3])
        assert first_words in " ".join(text.split()), (spec.name, first_words)
    for out in module.OUTPUTS:
        assert out.name in text


def test_every_stage_module_is_the_registered_stage():
    for name, module in STAGES.items():
        info = REGISTRY[name]
        assert module.__name__ == "imgpub.stages." + name.replace("-", "_")
        assert (info.name, info.help) == (module.NAME, module.HELP)
        assert info.extras, f"{name} names no extra: its action would install no SDK"


def test_sandbox_help_explains_run_and_serve():
    text = help_text("sandbox")
    assert "run" in text and "serve" in text
    assert "CMD" in help_text("sandbox", "run")


def test_no_command_prints_help_and_exit_2(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_unknown_service_is_one_line_error(capsys):
    assert main(["sandbox", "run", "--services", "gcp", "--", "true"]) == 1
    err = capsys.readouterr().err
    assert "unknown service gcp" in err and "Traceback" not in err


def test_parser_builds_without_stages():
    assert build_parser({}).prog == "imgpub"
