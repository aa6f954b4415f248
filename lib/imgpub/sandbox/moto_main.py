"""``python -m imgpub.sandbox.moto_main``: moto's server with imgpub's EC2 extensions.

moto's own ``moto_server`` binds where it is told (its in-process server defaults to
0.0.0.0:5000), logs every request to stderr and has no place for middleware. The sandbox
and the tests need a server on a free loopback port that says where it is (``--port-file``,
written only once the socket accepts connections), answers the EC2 calls moto lacks, stays
quiet, and exits promptly on SIGTERM/SIGINT. This module is that server.

    python -m imgpub.sandbox.moto_main --host 127.0.0.1 --port 0 --port-file PATH
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (kept small; the control endpoint does the rest at run time)."""
    parser = argparse.ArgumentParser(
        prog="python -m imgpub.sandbox.moto_main",
        description="moto server (EC2, SSM, EBS, ECR, STS) with imgpub's EC2 extensions.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--port-file", type=Path, help="write host:port here once serving")
    parser.add_argument(
        "--load-default-amis",
        action="store_true",
        help="load moto's ~1300 default AMIs per region (slow; off by default)",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started this one dies (no orphaned servers)",
    )
    args = parser.parse_args(argv)
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        parser.error(f"--host {args.host} is not a loopback address; the sandbox never binds one")
    return args


def _write_port_file(path: Path, host: str, port: int) -> None:
    """Write atomically, so a reader polling for the file never sees half of it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(f"{host}:{port}\n", encoding="utf-8")
    temporary.replace(path)


def build_server(host: str, port: int) -> Any:
    """A threaded werkzeug server running moto behind :class:`Ec2Extras`, already listening."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from imgpub.sandbox.ec2_extras import Ec2Extras

    class QuietRequestHandler(MotoRequestHandler):
        """moto's handler without the access log (one stderr line per request)."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    app = Ec2Extras(DomainDispatcherApplication(create_backend_app))
    return make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)


def _watch_parent(stop: Callable[[], None], stopping: threading.Event) -> None:
    """Call ``stop`` once this process is re-parented, i.e. its starter died.

    A launcher killed with SIGKILL cannot stop its children; polling ``getppid`` is the
    portable way for the server not to outlive it.
    """
    parent = os.getppid()

    def watch() -> None:
        while not stopping.wait(0.5):
            if os.getppid() != parent:
                stop()
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; return the exit status."""
    args = parse_args(argv)
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "true" if args.load_default_amis else "false"
    server = build_server(args.host, args.port)
    host, port = server.server_address[:2]
    # moto builds some URLs pointing at itself from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, which runs in this (main)
        # thread, so it has to be asked from another one.
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_parent:
        _watch_parent(lambda: stop(signal.SIGTERM, None), stopping)
    if args.port_file is not None:
        _write_port_file(args.port_file, str(host), int(port))
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    status = main()
    # The socket is closed and nothing is buffered but stdio. Tearing down moto's module
    # state at interpreter exit takes seconds on a busy 2-core machine, and callers wait
    # for this process to end, so skip that teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
