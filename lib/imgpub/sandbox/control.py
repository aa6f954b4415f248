"""The local EC2's control endpoint, and a typed client for tests and benchmarks.

Fault injection and statistics must be reachable from another process (the test runner,
a benchmark, ``imgpub sandbox``), so they are served over HTTP from moto's own port,
under a path no AWS API uses:

=======  ==========================  ===============================================
method   path                        meaning
=======  ==========================  ===============================================
GET      /_imgpub/ec2/config         the configuration (JSON, :class:`Ec2Config`)
POST     /_imgpub/ec2/config         change some settings (JSON object); answers the result
GET      /_imgpub/ec2/stats          call statistics (JSON, :class:`Ec2Stats`)
POST     /_imgpub/ec2/stats/reset    zero the statistics only
POST     /_imgpub/ec2/reset          reset moto (``/moto-api/reset``) and all extension state
GET      /_imgpub/ec2/images/<id>    what RegisterImage asked for an image (JSON)
=======  ==========================  ===============================================

The local EBS (:mod:`imgpub.sandbox.fake_ebs`) is a fake on the fake-server base; its
control API is served from the same port under ``/_fake/`` (drive it with
``FakeClient(endpoint)``).

Errors are JSON ``{"error": "..."}`` with status 400 (bad setting) or 404.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from imgpub.sandbox.ec2_config import Ec2Config, Ec2Stats
from imgpub.sandbox.ec2_protocol import Environ, Reply, WsgiApp, call_app, json_reply, read_body
from imgpub.sandbox.fake_client import json_request, loopback_opener

if TYPE_CHECKING:
    from imgpub.sandbox.ec2_state import Ec2State

CONTROL_PREFIX = "/_imgpub/"
_EC2 = CONTROL_PREFIX + "ec2"


def handle_control(environ: Environ, state: Ec2State, moto_app: WsgiApp) -> Reply:
    """Serve one control request against ``state``; ``moto_app`` is needed for resets."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = str(environ.get("PATH_INFO", "")).rstrip("/")
    route = (method, path)
    try:
        if route == ("GET", f"{_EC2}/config"):
            return _json(state.config.to_json())
        if route == ("POST", f"{_EC2}/config"):
            changes = json.loads(read_body(environ) or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of settings")
            return _json(state.configure(changes).to_json())
        if route == ("GET", f"{_EC2}/stats"):
            return _json(state.stats().to_json())
        if route == ("POST", f"{_EC2}/stats/reset"):
            state.reset_stats()
            return _json(state.stats().to_json())
        if method == "GET" and path.startswith(f"{_EC2}/images/"):
            record = state.registration(path.rsplit("/", 1)[-1])
            if record is None:
                return _json({"error": f"no image registered as {path.rsplit('/', 1)[-1]}"}, 404)
            return _json(record)
        if route == ("POST", f"{_EC2}/reset"):
            _reset_moto(environ, moto_app)
            state.reset()
            return _json(state.config.to_json())
    except ValueError as error:  # json.JSONDecodeError is a ValueError too
        return _json({"error": str(error)}, status=400)
    except RuntimeError as error:
        return _json({"error": str(error)}, status=500)
    return _json({"error": f"no control route {method} {path}"}, status=404)


def _reset_moto(environ: Environ, moto_app: WsgiApp) -> None:
    """Ask moto to drop all its resources, through its own reset route."""
    reset = dict(environ)
    reset.update(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/moto-api/reset",
            "QUERY_STRING": "",
            "CONTENT_LENGTH": "0",
            "wsgi.input": io.BytesIO(b""),
        }
    )
    reset.pop("HTTP_AUTHORIZATION", None)
    reply = call_app(moto_app, reset)
    if reply.status != 200:
        raise RuntimeError(f"moto reset failed with HTTP {reply.status}: {reply.body[:200]!r}")


def _json(document: Mapping[str, Any], status: int = 200) -> Reply:
    return json_reply(json.dumps(document), status)


class Ec2ControlError(RuntimeError):
    """The control endpoint refused a request (a bad setting, an unknown route)."""


class Ec2Control:
    """Client of the control endpoint of a local EC2 started by ``imgpub.sandbox.moto_main``.

    ``endpoint_url`` is the moto URL (``AWS_ENDPOINT_URL``), e.g. ``http://127.0.0.1:41234``.
    Only the settings passed to :meth:`configure` change; the rest keep their values.
    """

    def __init__(self, endpoint_url: str, timeout: float = 30.0) -> None:
        if not endpoint_url.startswith(("http://", "https://")):
            raise ValueError(f"endpoint_url must be an http(s) URL, not {endpoint_url!r}")
        self.endpoint_url = endpoint_url.rstrip("/")
        self.timeout = timeout
        self._opener = loopback_opener()

    def configure(
        self,
        *,
        copy_pending_seconds: float | None = None,
        throttle_rate: float | None = None,
        seed: int | None = None,
        failing_regions: Mapping[str, str] | None = None,
        blocked_regions: Iterable[str] | None = None,
        enabled_regions: Iterable[str] | None = None,
        reject_disabled_regions: bool | None = None,
        boot_test_outcome: str | None = None,
        console_delay_seconds: float | None = None,
    ) -> Ec2Config:
        """Change settings; returns the whole configuration now in force.

        ``failing_regions`` maps a region to the error code every EC2 call there gets
        (``{}`` heals them all). ``blocked_regions`` replaces the set of regions with image
        block public access on. ``enabled_regions`` replaces the account's enabled regions.
        """
        changes: dict[str, Any] = {}
        if copy_pending_seconds is not None:
            changes["copy_pending_seconds"] = copy_pending_seconds
        if throttle_rate is not None:
            changes["throttle_rate"] = throttle_rate
        if seed is not None:
            changes["seed"] = seed
        if failing_regions is not None:
            changes["failing_regions"] = dict(failing_regions)
        if blocked_regions is not None:
            changes["blocked_regions"] = sorted(blocked_regions)
        if enabled_regions is not None:
            changes["enabled_regions"] = sorted(enabled_regions)
        if reject_disabled_regions is not None:
            changes["reject_disabled_regions"] = reject_disabled_regions
        if boot_test_outcome is not None:
            changes["boot_test_outcome"] = boot_test_outcome
        if console_delay_seconds is not None:
            changes["console_delay_seconds"] = console_delay_seconds
        return Ec2Config.from_json(self._request("POST", "config", changes))

    def use_default_regions(self) -> Ec2Config:
        """Go back to the regions every account has enabled."""
        return Ec2Config.from_json(self._request("POST", "config", {"enabled_regions": None}))

    def config(self) -> Ec2Config:
        """The configuration in force."""
        return Ec2Config.from_json(self._request("GET", "config"))

    def stats(self) -> Ec2Stats:
        """Call statistics since the last reset."""
        return Ec2Stats.from_json(self._request("GET", "stats"))

    def reset_stats(self) -> None:
        """Zero the statistics, keeping resources and configuration."""
        self._request("POST", "stats/reset", {})

    def registration(self, image_id: str) -> dict[str, Any]:
        """What RegisterImage asked for ``image_id`` (every attribute, billing products too)."""
        record: dict[str, Any] = self._request("GET", f"images/{image_id}")
        return record

    def reset(self) -> None:
        """Reset moto's resources and every extension setting and counter."""
        self._request("POST", "reset", {})

    def _request(self, method: str, route: str, body: Mapping[str, Any] | None = None) -> Any:
        url = f"{self.endpoint_url}{_EC2}/{route}"
        label = f"{method} {route}"
        return json_request(self._opener, method, url, body, self.timeout, Ec2ControlError, label)
