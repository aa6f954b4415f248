"""The base of fakes of AWS services that speak JSON 1.1 or REST-JSON (no moto backend).

AWS Marketplace Catalog (REST-JSON) and License Manager (JSON 1.1) have no emulator, so
imgpub fakes them; boto3 reaches a fake through ``AWS_ENDPOINT_URL_<SERVICE>`` like any
endpoint. The botocore service model that boto3 uses to build a request is used here to
read it back, so a fake declares only its actions::

    class FakeLicenseManager(AwsJsonFake):
        SERVICE = "license-manager"          # botocore's name for the service

        @action("GetLicenseConfiguration")
        def get_configuration(self, params: dict[str, Any]) -> dict[str, Any]:
            found = self.configurations.get(params["LicenseConfigurationArn"])
            if found is None:
                raise AwsError("InvalidParameterValueException", "No such configuration.")
            return found

* the operation (for the log and faults) is the action's name: ``X-Amz-Target`` for
  JSON 1.1, the model's HTTP method and ``requestUri`` for REST-JSON;
* ``params`` is what the caller passed to boto3 (member names, not wire names; URI,
  query-string and header members included; timestamps as ``datetime``);
* with ``VALIDATE`` (the default) the params are checked against the operation's input
  shape with botocore's own validator, so a malformed request fails as in AWS, with
  ``VALIDATION_ERROR`` (400);
* errors are AWS's JSON errors (``__type``, ``message``, ``x-amzn-ErrorType``), which
  boto3 raises as ``ClientError`` with that code; a modelled action the fake lacks is a 501.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeVar, cast

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.utils import parse_to_aware_datetime
from botocore.validate import ParamValidator
from werkzeug.wrappers import Response

from imgpub.sandbox.fake_http import FakeError, FakeRequest, Resolved
from imgpub.sandbox.fake_server import FakeServer

F = TypeVar("F", bound=Callable[..., Any])


class AwsError(FakeError):
    """An AWS error answer: ``code`` becomes the ClientError's ``Error.Code``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(status, code, message)


def action(name: str) -> Callable[[F], F]:
    """Serve the AWS action ``name`` (as in the API reference) with the decorated method.

    The method takes the request's params and returns the output as a dict (or raises
    :class:`AwsError`).
    """

    def mark(fn: F) -> F:
        fn.__aws_action__ = name  # type: ignore[attr-defined]
        return fn

    return mark


@functools.cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of ``service`` (e.g. ``marketplace-catalog``), loaded once."""
    return botocore.session.get_session().get_service_model(service)


class AwsJsonFake(FakeServer):
    """A fake of one JSON 1.1 or REST-JSON AWS service; set ``SERVICE`` and mark actions."""

    SERVICE: ClassVar[str] = ""
    VALIDATE: ClassVar[bool] = True
    VALIDATION_ERROR: ClassVar[str] = "ValidationException"
    ERROR_CODES: ClassVar[Mapping[int, str]] = {
        400: "ValidationException",
        404: "ResourceNotFoundException",
        409: "ConflictException",
        429: "ThrottlingException",
        500: "InternalFailure",
        503: "ServiceUnavailable",
    }
    _actions: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._actions = {
            getattr(cls, n).__aws_action__: n
            for n in dir(cls)
            if hasattr(getattr(cls, n), "__aws_action__")
        }
        if cls.SERVICE:
            model = service_model(cls.SERVICE)
            if model.protocol not in ("json", "rest-json"):
                raise TypeError(f"{cls.SERVICE} speaks {model.protocol}, not JSON")
            unknown = sorted(set(cls._actions) - set(model.operation_names))
            if unknown:
                raise TypeError(f"{cls.__name__}: {cls.SERVICE} has no actions {unknown}")

    def resolve(self, request: FakeRequest) -> Resolved:
        model = service_model(self.SERVICE)
        name, uri_params = _operation_of(model, request)
        attribute = self._actions.get(name)
        operation = model.operation_model(name)

        def serve(req: FakeRequest) -> Response:
            if attribute is None:  # still logged (and faulted) under its name
                raise AwsError("NotImplemented", f"The fake does not implement {name}.", 501)
            handler = getattr(self, attribute)
            params = request_params(operation, req, uri_params)
            if self.VALIDATE:
                self.validate(operation, params)
            return aws_response(operation, handler(params))

        return Resolved(name, serve)

    def validate(self, operation: OperationModel, params: Mapping[str, Any]) -> None:
        """Refuse params that do not fit the input shape, as AWS's front end does."""
        if operation.input_shape is None:
            return
        report = ParamValidator().validate(params, operation.input_shape)
        if report.has_errors():
            message = "; ".join(report.generate_report().splitlines())
            raise AwsError(self.VALIDATION_ERROR, message)

    def error_response(self, error: FakeError) -> Response:
        body = {"__type": error.code, "message": error.message}
        response = Response(json.dumps(body), status=error.status, mimetype="application/json")
        response.headers["x-amzn-ErrorType"] = error.code
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        for name, value in error.headers.items():
            response.headers[name] = value
        return response


def _operation_of(model: ServiceModel, request: FakeRequest) -> tuple[str, dict[str, str]]:
    """The action a request calls, and its URI parameters (REST-JSON)."""
    if model.protocol == "json":
        prefix = str(model.metadata.get("targetPrefix", "")) + "."
        target = str(request.headers.get("X-Amz-Target", ""))
        name = target[len(prefix) :] if target.startswith(prefix) else ""
        if request.method != "POST" or name not in model.operation_names:
            raise AwsError("UnknownOperationException", f"Unknown operation {target!r}.")
        return name, {}
    for name in model.operation_names:
        http = model.operation_model(name).http
        if http.get("method") != request.method:
            continue
        found = _uri_pattern(str(http.get("requestUri", "/"))).match(request.path)
        if found is not None:
            return name, found.groupdict()
    raise AwsError("UnknownOperationException", f"No operation {request.method} {request.path}.")


@functools.cache
def _uri_pattern(request_uri: str) -> re.Pattern[str]:
    """``/entities/{EntityId}`` → a pattern; ``{Key+}`` may span segments."""
    path = request_uri.split("?", 1)[0]
    parts = re.split(r"\{(\w+)(\+?)\}", path)
    pattern = ""
    for i, part in enumerate(parts):
        if i % 3 == 0:
            pattern += re.escape(part)
        elif i % 3 == 1:
            pattern += f"(?P<{part}>{'.+' if parts[i + 1] else '[^/]+'})"
    return re.compile(f"^{pattern}/?$")


def request_params(
    operation: OperationModel, request: FakeRequest, uri_params: Mapping[str, str]
) -> dict[str, Any]:
    """The params the caller gave boto3, read back from the request by the model.

    Body keys the model does not know are kept (under their wire name), so that
    validation reports them as AWS would; text from the URI, query string and headers is
    converted to the member's type where it parses.
    """
    shape = operation.input_shape
    if shape is None:
        return {}
    payload = shape.serialization.get("payload")
    if payload is not None and shape.members[payload].type_name == "blob":
        params = {payload: request.data}  # a streamed body (EBS PutSnapshotBlock)
    elif payload is not None:
        params = {} if request.body is None else {payload: request.body}
    else:
        params = _from_wire(shape, request.body) if isinstance(request.body, dict) else {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        text: Any = None
        if location == "uri":
            text = uri_params.get(wire)
        elif location == "querystring":
            values = request.query.getlist(wire)
            text = values if member.type_name == "list" else (values[0] if values else None)
        elif location == "header":
            text = request.headers.get(wire)
        if text is not None:
            params[name] = _from_text(member, text)
    return params


def _from_wire(shape: Shape, value: Any) -> Any:
    """A JSON value as boto3's caller wrote it: member names, and datetimes."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {m.serialization.get("name", n): (n, m) for n, m in shape.members.items()}
        out: dict[str, Any] = {}
        for wire, item in value.items():
            name, member = members.get(wire, (wire, None))
            out[name] = item if member is None else _from_wire(member, item)
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_from_wire(shape.member, v) for v in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: _from_wire(shape.value, v) for k, v in value.items()}
    if shape.type_name == "timestamp":
        with contextlib.suppress(ValueError, TypeError):
            return parse_to_aware_datetime(cast(str, value))  # epoch numbers parse too
    return value


def _from_text(shape: Shape, text: Any) -> Any:
    """A URI, query-string or header value in the member's type (as is if it does not parse)."""
    if isinstance(shape, ListShape) and isinstance(text, list):
        return [_from_text(shape.member, t) for t in text]
    kind = shape.type_name
    with contextlib.suppress(ValueError):
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "timestamp":
            return parse_to_aware_datetime(text)
    return text


def aws_response(operation: OperationModel, output: Mapping[str, Any] | None) -> Response:
    """The success answer: the output as a JSON body (datetimes as epoch seconds).

    Members the model puts in headers go to headers, and a blob payload (EBS
    GetSnapshotBlock's ``BlockData``) is the raw body, as boto3 reads them.
    """
    status = int(operation.http.get("responseCode", 200))
    is_json_11 = operation.metadata["protocol"] == "json"
    mimetype = "application/x-amz-json-1.1" if is_json_11 else "application/json"
    body = dict(output or {})
    headers: dict[str, str] = {}
    raw: bytes | None = None
    shape = operation.output_shape
    if shape is not None:
        for name, member in shape.members.items():
            if member.serialization.get("location") == "header" and name in body:
                headers[member.serialization.get("name", name)] = str(body.pop(name))
        payload = shape.serialization.get("payload")
        if payload is not None and shape.members[payload].type_name == "blob":
            raw = bytes(body.pop(payload, b""))
            mimetype = "application/octet-stream"
    text: Any = raw if raw is not None else json.dumps(body, default=_json_value)
    response = Response(text, status=status, mimetype=mimetype)
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    for name, value in headers.items():
        response.headers[name] = value
    return response


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON")
