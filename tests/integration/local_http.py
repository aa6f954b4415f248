"""A folder served over HTTP on a free 127.0.0.1 port, for tests of URL images."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@contextmanager
def serving(root: Path, handler: type[SimpleHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``root`` with ``handler`` in a thread; yields the base URL; stops it after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
