"""How every sandbox server runs as a child process: port file, signals, parent watch.

moto (``moto_main``) and every fake (``fake_server``) are started by
:mod:`imgpub.sandbox.services` the same way, so they share one contract, kept here:

* they bind a loopback address only (``--host`` is checked) on a free port (``--port 0``);
* once the socket accepts connections they write a **port file**: one JSON object
  ``{"host", "port", "url", "pid"}``, written atomically (a reader polling for the file
  never sees half of it) and removed again on a clean stop;
* SIGTERM or SIGINT stops them cleanly; with ``--exit-with-parent`` they also stop when the
  process that started them dies, even by SIGKILL (a launcher that cannot run ``finally``
  cannot stop its children; polling ``getppid`` notices the re-parenting).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the launchers import this module; only the servers need werkzeug
    from werkzeug.serving import BaseWSGIServer

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class PortInfo:
    """Where a started server listens: the content of its port file."""

    host: str
    port: int
    url: str
    pid: int

    @classmethod
    def of(cls, host: str, port: int) -> PortInfo:
        """This process, listening on ``host:port`` (plain http: the sandbox has no TLS)."""
        return cls(host, port, f"http://{host}:{port}", os.getpid())

    def write(self, path: Path) -> None:
        """Write atomically: a temporary file in the same folder, then a rename."""
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(asdict(self)) + "\n", encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def read(cls, path: Path) -> PortInfo | None:
        """The port file's content, or None while it does not exist yet."""
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        return cls(str(data["host"]), int(data["port"]), str(data["url"]), int(data["pid"]))


class Service(Protocol):
    """What :func:`serve_until_signalled` runs: something that serves in the background."""

    def start(self) -> object: ...

    def stop(self) -> None: ...

    @property
    def address(self) -> tuple[str, int]: ...


class ServerThread:
    """A bound werkzeug server that serves in a daemon thread until :meth:`stop`."""

    def __init__(self, server: BaseWSGIServer) -> None:
        self.server = server
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> ServerThread:
        if self._thread is None:
            # A short poll interval keeps stop() quick (tests start one server per test).
            self._thread = threading.Thread(
                target=self.server.serve_forever, args=(0.05,), name="serve", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wait for the serving loop, release the port."""
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.server.server_close()


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every sandbox server takes."""
    parser.add_argument("--host", default=LOOPBACK, help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument(
        "--port-file", type=Path, help="write {host, port, url, pid} here (JSON) once serving"
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started this one dies (no orphaned servers)",
    )


def check_loopback(parser: argparse.ArgumentParser, host: str) -> None:
    """Refuse (exit 2) any address but loopback: a sandbox server is never reachable."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        parser.error(f"--host {host} is not a loopback address; the sandbox never binds one")


def watch_parent(on_orphaned: Callable[[], None], stopping: threading.Event) -> None:
    """Call ``on_orphaned`` once this process is re-parented, i.e. its starter died."""
    parent = os.getppid()

    def watch() -> None:
        while not stopping.wait(0.5):
            if os.getppid() != parent:
                on_orphaned()
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve_until_signalled(
    service: Service, *, port_file: Path | None, exit_with_parent: bool
) -> int:
    """Start ``service``, announce it, and stop it on SIGTERM/SIGINT or orphaning; exit 0."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous: dict[int, Any] = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        service.start()
        if exit_with_parent:
            watch_parent(stopping.set, stopping)
        if port_file is not None:
            PortInfo.of(*service.address).write(port_file)
        while not stopping.wait(0.5):
            pass
    finally:
        stopping.set()
        service.stop()
        if port_file is not None:
            port_file.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
