"""``python -m imgpub.sandbox.moto_main``: moto's server with imgpub's EC2 extensions.

moto's own ``moto_server`` binds where it is told (its in-process server defaults to
0.0.0.0:5000), logs every request to stderr and has no place for middleware. The sandbox
and the tests need a server on a free loopback port that says where it is (``--port-file``,
written only once the socket accepts connections), answers the EC2 calls moto lacks, stays
quiet, and exits promptly on SIGTERM/SIGINT. This module is that server; the port file,
the signals and the parent watch are the ones every sandbox server shares
(:mod:`imgpub.sandbox.serving`).

    python -m imgpub.sandbox.moto_main --host 127.0.0.1 --port 0 --port-file PATH
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from imgpub.sandbox.serving import (
    ServerThread,
    add_server_arguments,
    check_loopback,
    serve_until_signalled,
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (kept small; the control endpoint does the rest at run time)."""
    parser = argparse.ArgumentParser(
        prog="python -m imgpub.sandbox.moto_main",
        description="moto server (EC2, SSM, EBS, ECR, STS) with imgpub's EC2 extensions.",
    )
    add_server_arguments(parser)
    parser.add_argument(
        "--load-default-amis",
        action="store_true",
        help="load moto's ~1300 default AMIs per region (slow; off by default)",
    )
    args = parser.parse_args(argv)
    check_loopback(parser, args.host)
    return args


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


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT (or the parent's death); return the exit status."""
    args = parse_args(argv)
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "true" if args.load_default_amis else "false"
    server = ServerThread(build_server(args.host, args.port))
    # moto builds some URLs pointing at itself from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(server.address[1])
    return serve_until_signalled(
        server, port_file=args.port_file, exit_with_parent=args.exit_with_parent
    )


if __name__ == "__main__":
    status = main()
    # The socket is closed and nothing is buffered but stdio. Tearing down moto's module
    # state at interpreter exit takes seconds on a busy 2-core machine, and callers wait
    # for this process to end, so skip that teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
