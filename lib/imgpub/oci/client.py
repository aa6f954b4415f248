"""A registry client over oras-py: manifests and blobs, read and written by digest.

oras-py (the ORAS project's Python SDK) does the HTTP: upload sessions, token and basic
auth, ``Location`` handling. This adapter narrows it to what imgpub needs and fixes what
would hurt a release job:

* credentials are only the ones given (never ``~/.docker/config.json``), answered to a
  ``Basic`` challenge (ECR, htpasswd registries) or traded for a bearer token (Docker Hub,
  GHCR), and sent up front once a registry has asked for Basic;
* every request has a timeout, and retries are few and short (oras' own decorator sleeps
  up to 83 s between five attempts, on any error);
* manifests are written as exact bytes, so their digest is known before the PUT, and
  every blob read is checked against its digest.

One client serves one registry host from one thread (requests sessions and oras' token
state are not shared across threads); :class:`OciClients` keeps one per thread and host.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import oras.auth.token
import oras.container
import oras.provider
import requests

from imgpub.oci.media import (
    MANIFEST_TYPES,
    ManifestError,
    ManifestInfo,
    digest_matches,
    parse_manifest,
)
from imgpub.oci.reference import Reference

#: (connect, read) seconds for one request.
TIMEOUT = (10.0, 300.0)
ATTEMPTS = 3
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Credentials:
    """A user and password for one registry host (an ECR token is user ``AWS``)."""

    username: str
    password: str


class RegistryError(Exception):
    """A registry answered with an error (or not at all); ``code`` is the OCI error code."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def unauthorized(self) -> bool:
        return self.status in (401, 403)


class _TimeoutSession(requests.Session):
    """A session whose requests always time out (oras passes no timeout)."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(*args, **kwargs)


class _ChallengeAuth(oras.auth.token.TokenAuth):  # type: ignore[misc]
    """Basic credentials for a Basic challenge, a bearer token for a Bearer one.

    ``basic_hosts`` is shared by the clients of every thread: once one has learnt that
    a host wants Basic, all send it up front instead of meeting a 401 first.
    """

    def __init__(self, host: str, basic_hosts: set[str]) -> None:
        super().__init__()
        self.host = host
        self.basic_hosts = basic_hosts

    @property
    def basic(self) -> bool:
        return self.host in self.basic_hosts and bool(getattr(self, "_basic_auth", None))

    def authenticate_request(
        self, original: requests.Response, headers: dict[str, str], refresh: bool = False
    ) -> tuple[dict[str, str], bool]:
        challenge = original.headers.get("Www-Authenticate", "")
        if challenge.lower().startswith("basic"):
            if not getattr(self, "_basic_auth", None):
                return headers, False
            self.basic_hosts.add(self.host)
            return {**headers, "Authorization": f"Basic {self._basic_auth}"}, True
        result: tuple[dict[str, str], bool] = super().authenticate_request(
            original, headers, refresh
        )
        return result


class _Registry(oras.provider.Registry):  # type: ignore[misc]
    """oras' Registry with our session, auth and retry policy."""

    def __init__(
        self,
        host: str,
        *,
        insecure: bool,
        credentials: Credentials | None,
        sleep: Callable[[float], object],
        basic_hosts: set[str],
    ) -> None:
        super().__init__(hostname=host, insecure=insecure, tls_verify=not insecure)
        self.session = _TimeoutSession()
        self.session.cookies.set_policy(oras.provider.DefaultCookiePolicy(allowed_domains=[]))
        auth = _ChallengeAuth(host, basic_hosts)
        auth.session = self.session
        auth.prefix = self.prefix
        auth._tls_verify = not insecure
        auth._auth_config = {"auths": {}}  # never read ~/.docker/config.json
        if credentials is not None:
            auth.set_basic_auth(credentials.username, credentials.password)
        self.auth = auth
        self._sleep = sleep

    def do_request(
        self,
        url: str,
        method: str = "GET",
        data: Any = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        stream: bool = False,
    ) -> requests.Response:
        headers = dict(headers or {})
        if self.auth.basic and "Authorization" not in headers:
            headers["Authorization"] = f"Basic {self.auth._basic_auth}"
        once = oras.provider.Registry.do_request.__wrapped__
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = cast(
                    requests.Response,
                    once(
                        self,
                        url,
                        method,
                        data=data,
                        headers=dict(headers),
                        json=json,
                        stream=stream,
                    ),
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == ATTEMPTS:
                    raise RegistryError(f"{method} {_where(url)}: {exc}") from None
            except ValueError as exc:  # oras: "Cannot respond to request for authentication"
                raise RegistryError(
                    f"{method} {_where(url)}: the registry asks for credentials: {exc}", status=401
                ) from None
            else:
                if response.status_code not in _RETRY_STATUS or attempt == ATTEMPTS:
                    return response
            self._sleep(0.5 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover


def _where(url: str) -> str:
    return url.split("://", 1)[-1]


def _error(response: requests.Response, what: str) -> RegistryError:
    code, message = "", response.reason or ""
    with contextlib.suppress(ValueError, AttributeError, TypeError, IndexError):
        first = response.json()["errors"][0]
        code, message = str(first.get("code", "")), str(first.get("message", message))
    text = f"{what}: HTTP {response.status_code}" + (f" {code}" if code else "")
    if message:
        text += f" ({message})"
    return RegistryError(text, status=response.status_code, code=code)


class OciClient:
    """Read and write one registry host."""

    def __init__(
        self,
        host: str,
        *,
        insecure: bool = False,
        credentials: Credentials | None = None,
        sleep: Callable[[float], object] = time.sleep,
        basic_hosts: set[str] | None = None,
    ) -> None:
        self.host = host
        self._registry = _Registry(
            host,
            insecure=insecure,
            credentials=credentials,
            sleep=sleep,
            basic_hosts=set() if basic_hosts is None else basic_hosts,
        )
        self._base = f"{self._registry.prefix}://{host}"

    def _container(self, ref: Reference) -> Any:
        container = oras.container.Container(f"{ref.repository}:x", registry=self.host)
        container.registry, container.namespace = self.host, None
        container.repository, container.tag, container.digest = ref.repository, ref.tag, ref.digest
        return container

    def _request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, data: Any = None
    ) -> requests.Response:
        response: requests.Response = self._registry.do_request(
            f"{self._base}{path}", method, data=data, headers=dict(headers or {})
        )
        return response

    # -- reading -----------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``: reachable and the credentials accepted, else RegistryError."""
        response = self._request("GET", "/v2/")
        if response.status_code != 200:
            raise _error(response, f"GET {self.host}/v2/")

    def manifest_digest(self, ref: Reference) -> str | None:
        """The digest a tag (or digest) points at, from one HEAD; None when it is absent."""
        path = f"/v2/{ref.repository}/manifests/{ref.reference}"
        response = self._request("HEAD", path, headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _error(response, f"HEAD {ref}")
        digest = response.headers.get("Docker-Content-Digest")
        if digest:
            return digest
        found = self.manifest(ref)  # a registry may leave the header out of HEAD answers
        return None if found is None else found[0].digest

    def manifest(self, ref: Reference) -> tuple[ManifestInfo, bytes] | None:
        """The manifest's exact bytes and what they say; None when it is absent."""
        path = f"/v2/{ref.repository}/manifests/{ref.reference}"
        response = self._request("GET", path, headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _error(response, f"GET {ref}")
        data = response.content
        try:
            info, _ = parse_manifest(data, response.headers.get("Content-Type"))
        except ManifestError as exc:
            raise RegistryError(f"{ref}: {exc}", status=200, code="UNSUPPORTED") from None
        if ref.digest and not digest_matches(ref.digest, data):
            raise RegistryError(f"{ref}: the manifest does not match its digest", code="DIGEST")
        return info, data

    def repository_exists(self, ref: Reference) -> bool:
        """Whether the registry knows the repository (``tags/list``: 404 NAME_UNKNOWN if not)."""
        response = self._request("GET", f"/v2/{ref.repository}/tags/list?n=1")
        if response.status_code == 200:
            return True
        error = _error(response, f"GET {ref.name} tags")
        if response.status_code == 404:
            return False
        raise error

    def blob(self, ref: Reference, digest: str) -> bytes:
        """A blob's bytes, checked against its digest (for configs and charts: small)."""
        response = self._request("GET", f"/v2/{ref.repository}/blobs/{digest}")
        if response.status_code != 200:
            raise _error(response, f"GET {ref.name} blob {digest[:19]}")
        if not digest_matches(digest, response.content):
            raise RegistryError(f"{ref.name} blob {digest} does not match its digest")
        return response.content

    def blob_exists(self, ref: Reference, digest: str) -> bool:
        response = self._request("HEAD", f"/v2/{ref.repository}/blobs/{digest}")
        if response.status_code in (200, 404):
            return response.status_code == 200
        raise _error(response, f"HEAD {ref.name} blob {digest[:19]}")

    # -- writing -----------------------------------------------------------------------------

    def upload_blob(self, ref: Reference, data: bytes, digest: str, media_type: str) -> bool:
        """Upload a blob unless the repository has it; True when it was sent."""
        if self.blob_exists(ref, digest):
            return False
        with _private_file(data) as path:
            layer = {"mediaType": media_type, "digest": digest, "size": len(data)}
            response = self._registry.upload_blob(str(path), self._container(ref), layer)
        if response.status_code not in (200, 201, 202):
            raise _error(response, f"PUT {ref.name} blob {digest[:19]}")
        return True

    def put_manifest(self, ref: Reference, data: bytes, media_type: str) -> str:
        """PUT the manifest's exact bytes under ``ref``'s tag; the digest the registry gives."""
        path = f"/v2/{ref.repository}/manifests/{ref.reference}"
        response = self._request("PUT", path, headers={"Content-Type": media_type}, data=data)
        if response.status_code not in (200, 201):
            raise _error(response, f"PUT {ref}")
        return str(response.headers.get("Docker-Content-Digest", ""))


@contextlib.contextmanager
def _private_file(data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="imgpub-blob-") as folder:
        path = Path(folder) / "blob"
        path.write_bytes(data)
        yield path


class OciClients:
    """One :class:`OciClient` per (thread, host), built with that host's credentials."""

    def __init__(
        self,
        credentials: Mapping[str, Credentials],
        *,
        insecure_hosts: frozenset[str] = frozenset(),
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._credentials = dict(credentials)
        self._insecure = insecure_hosts
        self._sleep = sleep
        self._local = threading.local()
        self._basic_hosts: set[str] = set()

    def for_host(self, host: str) -> OciClient:
        cache: dict[str, OciClient] | None = getattr(self._local, "clients", None)
        if cache is None:
            cache = self._local.clients = {}
        client = cache.get(host)
        if client is None:
            client = OciClient(
                host,
                insecure=host in self._insecure,
                credentials=self._credentials.get(host),
                sleep=self._sleep,
                basic_hosts=self._basic_hosts,
            )
            cache[host] = client
        return client

    def credentials_for(self, host: str) -> Credentials | None:
        return self._credentials.get(host)

    def __call__(self, ref: Reference) -> OciClient:
        return self.for_host(ref.api_host)
