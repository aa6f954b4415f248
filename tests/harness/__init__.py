"""A pytest-side stand-in for the GitHub Actions runner, for composite ``action.yml`` files.

``run_action(action_dir, inputs={...}, env={...}, stubs={...}) -> ActionResult`` runs an
action's steps as the runner does (see ``runner``), and ``assert_runner_hygiene`` checks the
log the way GitHub's UI would punish it. Nothing here talks to GitHub or Docker.
"""

from .assertions import (
    annotation_overflow,
    assert_runner_hygiene,
    group_problems,
    masked_leaks,
)
from .commands import Annotation, CommandLog, Mask
from .expressions import ExpressionError
from .filecommands import FileCommandError, parse_key_values, parse_path_file
from .runner import ActionResult, HarnessError, StepResult, load_action, run_action
from .stubs import DEFAULT_STUBS, StubCall, setup_python_stub

__all__ = [
    "DEFAULT_STUBS",
    "ActionResult",
    "Annotation",
    "CommandLog",
    "ExpressionError",
    "FileCommandError",
    "HarnessError",
    "Mask",
    "StepResult",
    "StubCall",
    "annotation_overflow",
    "assert_runner_hygiene",
    "group_problems",
    "load_action",
    "masked_leaks",
    "parse_key_values",
    "parse_path_file",
    "run_action",
    "setup_python_stub",
]
