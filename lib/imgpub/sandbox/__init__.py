"""The local rehearsal cloud: real emulators where they exist, imgpub's fakes where not.

``Sandbox`` starts moto (with imgpub's EC2 extensions), the fake Azure Resource Manager,
Azurite and docker-registry (each when installed), the fake GitHub, a webhook
receiver and a StArMap on free loopback ports, gives the
environment that points imgpub and the SDKs at them, and stops them all on exit. The
project's own tests use the same class, so what users rehearse is what we test.

The fake AWS Marketplace Catalog starts after moto, in whose EC2 and IAM it checks the
AMIs and access roles of change sets.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from types import TracebackType

from imgpub.sandbox.fake_services import (
    FAKE_ARM,
    FAKE_GITHUB,
    FAKE_LICENSE_MANAGER,
    FAKE_STARMAP,
    FAKE_WEBHOOK,
    start_fake,
    start_fake_catalog,
)
from imgpub.sandbox.services import (
    RunningService,
    ServiceUnavailable,
    start_azurite,
    start_ecr_registry,
    start_moto,
    start_registry,
)

#: Service name → launcher; the order is the start order.
LAUNCHERS: dict[str, Callable[[Path], RunningService]] = {
    "aws": start_moto,
    "arm": partial(start_fake, FAKE_ARM),
    "catalog": start_fake_catalog,
    "azure": start_azurite,
    "registry": start_registry,
    "ecr": start_ecr_registry,
    "license-manager": partial(start_fake, FAKE_LICENSE_MANAGER),
    "github": partial(start_fake, FAKE_GITHUB),
    "webhook": partial(start_fake, FAKE_WEBHOOK),
    "starmap": partial(start_fake, FAKE_STARMAP),
}
ALL_SERVICES = tuple(LAUNCHERS)


class Sandbox:
    """Start the chosen services; a context manager that always stops what it started."""

    def __init__(self, services: Iterable[str] = ALL_SERVICES, workdir: Path | None = None) -> None:
        wanted = list(services)
        unknown = [s for s in wanted if s not in LAUNCHERS]
        if unknown:
            raise ValueError(f"unknown sandbox services {unknown}; known: {list(LAUNCHERS)}")
        self.wanted = wanted
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="imgpub-sandbox-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.running: dict[str, RunningService] = {}
        self.unavailable: dict[str, str] = {}

    def start(self) -> Sandbox:
        try:
            for name in self.wanted:
                try:
                    self.running[name] = LAUNCHERS[name](self.workdir)
                except ServiceUnavailable as exc:
                    self.unavailable[name] = exc.reason
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for svc in reversed(list(self.running.values())):
            svc.process.stop()
        self.running.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def env(self) -> dict[str, str]:
        """The variables that point imgpub and the SDKs at the running services."""
        out = {"IMGPUB_SANDBOX": "1", "IMGPUB_SANDBOX_DIR": str(self.workdir)}
        for svc in self.running.values():
            out.update(svc.env)
        return out

    def pids(self) -> list[int]:
        return [svc.process.proc.pid for svc in self.running.values()]

    def describe(self) -> list[tuple[str, str]]:
        """(service, where or why not) rows for people."""
        rows = []
        for name in self.wanted:
            if name in self.running:
                info = self.running[name].info
                rows.append((name, next(iter(info.values()), "running")))
            else:
                rows.append((name, "not available: " + self.unavailable.get(name, "not started")))
        return rows
