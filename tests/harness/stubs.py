"""What a ``uses:`` step of an action or a job runs in the harness: a registered stub.

A stub gets the step's ``with:`` and environment and may set outputs, export variables and
PATH entries for later steps, print a log and fail, as the real action would.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StubCall:
    """What a ``uses:`` stub receives and may change (outputs, env and PATH for later steps)."""

    uses: str
    with_: dict[str, str]
    env: dict[str, str]
    outputs: dict[str, str] = field(default_factory=dict)
    exported_env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    stdout: str = ""
    exit_code: int = 0


Stub = Callable[[StubCall], None]


def setup_python_stub(call: StubCall) -> None:
    """actions/setup-python: "install" the interpreter running the tests.

    Honours ``update-environment``: when true (the action's default) the real action
    prepends the interpreter to PATH and exports ``pythonLocation``; our actions set it to
    false precisely so that the caller's job is left alone, and a test can see that.
    """
    python = sys.executable
    call.outputs.update(
        {"python-path": python, "python-version": platform.python_version(), "cache-hit": "false"}
    )
    if call.with_.get("update-environment", "true").strip().lower() != "false":
        call.path.append(str(Path(python).parent))
        call.exported_env["pythonLocation"] = str(Path(python).parent.parent)


DEFAULT_STUBS: dict[str, Stub] = {"actions/setup-python": setup_python_stub}
