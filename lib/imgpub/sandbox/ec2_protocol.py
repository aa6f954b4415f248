"""The EC2 Query protocol as seen by a WSGI middleware: reading requests, writing answers.

The middleware in :mod:`imgpub.sandbox.ec2_extras` has to answer some EC2 calls itself and
rewrite others before moto sees them. Both need the same few things — the form fields, the
region and service from the SigV4 credential scope, and replies in the exact shape boto3
parses (success documents in the 2016-11-15 namespace, errors as ``<Response><Errors>``) —
so they live here, free of any moto import.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
EC2_API_VERSION = "2016-11-15"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class SigningScope:
    """Who signed a request, for which region and service (from the SigV4 credential)."""

    access_key: str
    region: str
    service: str


@dataclass(frozen=True)
class Reply:
    """A complete HTTP answer, buffered so that it can be inspected or replayed."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/xml;charset=UTF-8"),)

    def send(self, start_response: StartResponse) -> list[bytes]:
        """Hand this reply to the WSGI server."""
        phrase = _phrase(self.status)
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(self.body))))
        start_response(f"{self.status} {phrase}", headers)
        return [self.body]


class Ec2Error(Exception):
    """An EC2 error answer; raised by handlers, rendered by :func:`error_reply`."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def signing_scope(environ: Environ) -> SigningScope | None:
    """Read ``Credential=AKID/date/region/service/aws4_request`` from the Authorization header.

    Moto routes on the same header, so a request we cannot parse is one moto would not
    route to EC2 either; such requests are passed through untouched.
    """
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    marker = "Credential="
    start = auth.find(marker)
    if start < 0:
        return None
    credential = auth[start + len(marker) :].split(",", 1)[0].strip()
    parts = credential.split("/")
    if len(parts) != 5:
        return None
    access_key, _date, region, service, _terminator = parts
    return SigningScope(access_key=access_key, region=region, service=service.lower())


def read_body(environ: Environ) -> bytes:
    """Read the request body and put an identical stream back for the next application."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    body = stream.read(length) if (stream is not None and length > 0) else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def form_params(environ: Environ, body: bytes) -> dict[str, str]:
    """The Query API parameters: URL query string, then the form body (boto3 uses the body)."""
    params = dict(parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True))
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return params


def with_body(environ: Environ, params: Mapping[str, str]) -> Environ:
    """A copy of ``environ`` whose form body carries ``params`` instead (for moto)."""
    body = urlencode(list(params.items())).encode("utf-8")
    copy = dict(environ)
    copy["wsgi.input"] = io.BytesIO(body)
    copy["CONTENT_LENGTH"] = str(len(body))
    copy["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
    copy["QUERY_STRING"] = ""
    return copy


def indexed_values(params: Mapping[str, str], prefix: str) -> list[str]:
    """Values of a flat list parameter (``ImageId.1``, ``ImageId.2`` …), in index order."""
    found: list[tuple[int, str]] = []
    for key, value in params.items():
        if key.startswith(prefix + "."):
            index = key[len(prefix) + 1 :]
            if index.isdigit():
                found.append((int(index), value))
    return [value for _, value in sorted(found)]


def indexed_structs(params: Mapping[str, str], prefix: str) -> list[dict[str, str]]:
    """Members of a list of structures (``Filter.1.Name``, ``Filter.1.Value.1`` …).

    Nested lists keep their dotted keys inside each member (``{"Value.1": "x"}``), which
    :func:`indexed_values` then reads.
    """
    members: dict[int, dict[str, str]] = {}
    for key, value in params.items():
        if not key.startswith(prefix + "."):
            continue
        index, _, rest = key[len(prefix) + 1 :].partition(".")
        if index.isdigit() and rest:
            members.setdefault(int(index), {})[rest] = value
    return [members[i] for i in sorted(members)]


def filters(params: Mapping[str, str]) -> dict[str, list[str]]:
    """The ``Filter.N.Name`` / ``Filter.N.Value.M`` parameters as a name → values map."""
    result: dict[str, list[str]] = {}
    for member in indexed_structs(params, "Filter"):
        name = member.get("Name")
        if name:
            result.setdefault(name, []).extend(indexed_values(member, "Value"))
    return result


def is_true(value: str | None) -> bool:
    """EC2's boolean parameters arrive as ``true``/``false``."""
    return (value or "").lower() == "true"


def required(params: Mapping[str, str], name: str) -> str:
    """A parameter the call cannot do without, or EC2's ``MissingParameter``."""
    value = params.get(name)
    if not value:
        raise Ec2Error("MissingParameter", f"The request must contain the parameter {name}")
    return value


def dry_run(params: Mapping[str, str]) -> None:
    """EC2's DryRun answer, for the calls answered here (moto handles its own)."""
    if is_true(params.get("DryRun")):
        raise Ec2Error(
            "DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412
        )


def parse_timestamp(raw: str, parameter: str) -> datetime:
    """EC2 accepts ISO 8601 (``2027-01-01T00:00:00Z``, with or without fractions)."""
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Ec2Error(
            "InvalidParameterValue",
            f"Value ({raw}) for parameter {parameter} is invalid. Expected an ISO 8601 time.",
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def format_timestamp(when: datetime) -> str:
    """How DescribeImages shows a time, e.g. ``2027-01-01T00:00:00.000Z``."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def new_request_id() -> str:
    """EC2 request IDs are UUIDs."""
    return str(uuid.uuid4())


def success_reply(action: str, fields: Iterable[tuple[str, str]] = (), raw_xml: str = "") -> Reply:
    """``<ActionResponse xmlns=…><requestId/>fields…</ActionResponse>`` as EC2 sends it.

    ``fields`` are simple ``(elementName, text)`` pairs (escaped here); ``raw_xml`` is an
    already-built fragment appended after them.
    """
    inner = "".join(f"<{name}>{escape(text)}</{name}>" for name, text in fields)
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{action}Response xmlns="{EC2_NAMESPACE}">'
        f"<requestId>{new_request_id()}</requestId>{inner}{raw_xml}"
        f"</{action}Response>"
    )
    return Reply(status=200, body=document.encode("utf-8"))


def error_reply(error: Ec2Error) -> Reply:
    """EC2's error document: no namespace, ``RequestID`` (capital ID) after ``Errors``."""
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Response><Errors><Error>"
        f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"</Error></Errors><RequestID>{new_request_id()}</RequestID></Response>"
    )
    return Reply(status=error.status, body=document.encode("utf-8"))


def json_reply(document: str, status: int = 200) -> Reply:
    """A JSON answer (the control endpoint's)."""
    return Reply(
        status=status,
        body=document.encode("utf-8"),
        headers=(("Content-Type", "application/json"),),
    )


def call_app(app: WsgiApp, environ: Environ) -> Reply:
    """Run a WSGI application to completion and buffer its answer.

    Used where the middleware must look at moto's answer (to learn a new image ID) or ask
    moto something on its own behalf (a reset, a translated call).
    """
    captured: dict[str, Any] = {}
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = tuple(headers)
        return written.append

    iterable = app(environ, start_response)
    try:
        for chunk in iterable:
            written.append(chunk)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return Reply(
        status=int(captured.get("status", 500)),
        body=b"".join(written),
        headers=captured.get("headers", ()),
    )
