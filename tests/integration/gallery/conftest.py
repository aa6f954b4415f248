"""Fixtures of the azure-gallery stage tests: the test disk, a fresh fake ARM, a counting proxy.

Azurite is the session's (tests/conftest.py); each test gets its own container, because
blob names are deterministic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imgpub.sandbox.fake_arm import FakeArm
from tests.integration.faulty_proxy import FaultPlan, faulty_proxy
from tests.integration.gallery_helpers import CI, DEFINITIONS, IMAGE, RG, make_raw


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    return make_raw(tmp_path / IMAGE)


@pytest.fixture
def arm() -> Iterator[FakeArm]:
    """A fresh fake ARM per test, with the AlmaLinux galleries and the 9 definitions."""
    with FakeArm(polls=1) as server:
        server.add_gallery(RG, CI, "eastus")
        server.add_gallery(RG, "almalinux", "eastus")
        for name, gen in DEFINITIONS:
            server.add_definition(RG, CI, name, generation=gen)
        yield server


@pytest.fixture
def proxy(azurite: Any) -> Iterator[Any]:
    """A counting (never failing) proxy in front of Azurite: ``proxy.plan.page_puts``."""
    with faulty_proxy(azurite.blob_endpoint, FaultPlan(every=0)) as p:
        yield p


@pytest.fixture
def container(request: pytest.FixtureRequest) -> str:
    """A container per test (the blob names are deterministic, Azurite is shared)."""
    return "t" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
