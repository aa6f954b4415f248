"""An account given as AWS_ROLE_ARN: the job's OIDC token is fetched, masked, and the role
is assumed through STS (web identity) by the stages; no static key is used or needed."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from tests.integration.build_helpers import ebs_changes
from tests.integration.push_helpers import as_base64, everything_written, mapping_file, push, staged

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9pbWdwdWIifQ.c2lnbmF0dXJl"
BEARER = "runner-request-token-0001"


class _StsRecorder(BaseHTTPRequestHandler):
    """In front of moto's STS (AWS_ENDPOINT_URL_STS): keeps each request's form body."""

    moto = ""
    bodies: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _StsRecorder.bodies.append(urllib.parse.unquote_plus(body.decode()))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        request = urllib.request.Request(self.moto, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            data = answer.read()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.headers.get("Content-Type", "text/xml"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class _TokenIssuer(BaseHTTPRequestHandler):
    asked: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        _TokenIssuer.asked.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps({"value": TOKEN}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_role_arn_is_assumed_with_the_runner_oidc_token(tmp_path, monkeypatch, aws_endpoint):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenIssuer)
    sts = ThreadingHTTPServer(("127.0.0.1", 0), _StsRecorder)
    _StsRecorder.moto = aws_endpoint + "/"
    for running in (server, sts):
        threading.Thread(target=running.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address[:2]
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{sts.server_address[1]}")
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"http://{host}:{port}/token?api=1")
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", BEARER)
        creds = {
            "marketplace_account": "aws-us-storage",
            "auth": {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/imgpub-push"},
        }
        code, _, log = push(
            tmp_path, sources=str(staged(tmp_path)), mapping=str(mapping_file(tmp_path)),
            offline="true", workflow="community", credentials=as_base64(creds), skip="copy",
        )  # fmt: skip
    finally:
        for running in (server, sts):
            running.shutdown()
            running.server_close()
    assert code == 0, log
    assert _TokenIssuer.asked == [("/token?api=1&audience=sts.amazonaws.com", f"Bearer {BEARER}")]
    assumed = [b for b in _StsRecorder.bodies if "Action=AssumeRoleWithWebIdentity" in b]
    assert assumed and all(f"WebIdentityToken={TOKEN}" in b for b in assumed)
    assert all("RoleArn=arn:aws:iam::123456789012:role/imgpub-push" in b for b in assumed)
    assert ebs_changes(aws_endpoint).count("StartSnapshot") == 1
    assert TOKEN not in log + everything_written(tmp_path)
    assert BEARER not in log + everything_written(tmp_path)


def test_role_arn_without_an_oidc_token_is_exit_2(tmp_path, aws_endpoint, ec2_control):
    creds = {
        "marketplace_account": "aws-us-storage",
        "auth": {"AWS_ROLE_ARN": "arn:aws:iam::1:role/x"},
    }
    code, doc, log = push(
        tmp_path, sources=str(staged(tmp_path)), mapping=str(mapping_file(tmp_path)),
        offline="true", workflow="community", credentials=as_base64(creds),
    )  # fmt: skip
    assert code == 2 and "has no OIDC token" in log and "id-token: write" in log
    assert ebs_changes(aws_endpoint) == [] and doc == {}
