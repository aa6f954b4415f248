"""A small HTTP/1.1 reverse proxy that breaks some Put Page calls on the way to Azurite.

The uploader must survive what real networks do to long uploads: 503 Server Busy and
connections reset mid-request. The proxy forwards every request to the upstream unchanged
(Shared Key signatures do not cover the host) and, for the Put Page requests chosen by the
plan, answers 503 or resets the connection — either before forwarding (the page never
arrived) or after (the page was written but the answer is lost, so the retry rewrites it).
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("503", "reset-before", "reset-after")
_ANSWERS = {
    "503": (503, "ServerBusy", "The server is busy."),
    "403": (403, "AuthorizationPermissionMismatch", "This request is not authorized."),
}
"""Faults answered with an error: 503 is retried, 403 is not (the role went away)."""


@dataclass
class FaultPlan:
    """Which Put Page calls fail: every ``every``-th one, cycling through ``kinds``."""

    every: int = 3
    kinds: tuple[str, ...] = FAULTS
    page_puts: int = 0
    mutations: int = 0
    """Every PUT, POST and DELETE relayed: a run that must change nothing makes none."""
    delay: float = 0.0
    """Seconds each Put Page is held before it is relayed (a slow network, for cancel tests)."""
    injected: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_mutation(self, method: str) -> None:
        if method in ("PUT", "POST", "DELETE"):
            with self.lock:
                self.mutations += 1

    def next_fault(self) -> str | None:
        with self.lock:
            self.page_puts += 1
            n = self.page_puts
            if self.every <= 0 or n % self.every:
                return None
            kind = self.kinds[(n // self.every - 1) % len(self.kinds)]
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind


@dataclass(frozen=True)
class Proxy:
    url: str
    plan: FaultPlan


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN: what a client sees as 'connection reset by peer'."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _handler(upstream_host: str, upstream_port: int, plan: FaultPlan) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            is_page = self.command == "PUT" and "comp=page" in self.path
            plan.count_mutation(self.command)
            fault = plan.next_fault() if is_page else None
            if is_page and plan.delay:
                time.sleep(plan.delay)
            if fault in _ANSWERS:
                status, code, message = _ANSWERS[fault]
                payload = (
                    f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
                    f"<Message>{message}</Message></Error>"
                ).encode()
                self.send_response(status, message)
                self.send_header("Content-Type", "application/xml")
                self.send_header("x-ms-error-code", code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            if fault == "reset-before":
                self.close_connection = True
                _reset(self.connection)
                return
            conn = http.client.HTTPConnection(upstream_host, upstream_port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
            finally:
                conn.close()
            if fault == "reset-after":
                self.close_connection = True
                _reset(self.connection)
                return
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _relay

    return Handler


@contextmanager
def faulty_proxy(upstream: str, plan: FaultPlan) -> Iterator[Proxy]:
    """Run the proxy on a free 127.0.0.1 port; ``upstream`` is ``http://host:port[/...]``."""
    target = urlsplit(upstream)
    handler = _handler(target.hostname or "127.0.0.1", target.port or 80, plan)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Proxy(f"http://{host}:{port}{target.path}", plan)
    finally:
        server.shutdown()
        server.server_close()
