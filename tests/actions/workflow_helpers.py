"""What the tests that run a reusable workflow's job graph share: the sandbox and the runner
machine's environment."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from imgpub.sandbox import Sandbox
from tests.conftest import REQUIRE_SERVICES


@contextmanager
def sandbox_with(services: list[str], workdir: Path) -> Iterator[Sandbox]:
    """A sandbox of ``services``; one that is not installed skips (fails in CI, as always)."""
    with Sandbox(services, workdir=workdir) as running:
        missing = {s: running.unavailable.get(s, "") for s in services if s not in running.running}
        if missing:
            if REQUIRE_SERVICES:
                pytest.fail(f"required sandbox services are unavailable: {missing}")
            pytest.skip(f"sandbox services unavailable: {missing}")
        yield running


def machine_env(sandbox: Sandbox, without: Iterable[str] = ()) -> dict[str, str]:
    """The runner machine's environment: where the clouds are, nothing of GitHub's (the
    runner sets those) and none of ``without`` (credentials an action must hand out)."""
    return {k: v for k, v in sandbox.env.items() if not k.startswith(("GITHUB_", *without))}
