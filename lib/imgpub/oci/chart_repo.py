"""Classic Helm chart repositories (``index.yaml`` + ``.tgz``), read over HTTPS.

A repository's ``index.yaml`` lists every chart version with its archive URL (often
relative to the repository) and its sha256 ``digest``; the archive is checked against
that digest, so what is repacked is what the chart's authors published.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urljoin, urlsplit

import requests
import yaml

from imgpub.oci.client import TIMEOUT, Credentials


class ChartRepoError(Exception):
    """The repository, the chart or the version could not be read, or did not match."""


def fetch_chart(
    url: str, name: str, version: str, credentials: Credentials | None = None
) -> tuple[bytes, str]:
    """(archive bytes, archive URL) of ``name`` ``version`` in the repository at ``url``."""
    session = requests.Session()
    if credentials is not None:
        session.auth = (credentials.username, credentials.password)
    base = url.rstrip("/") + "/"
    index = _get(session, urljoin(base, "index.yaml"))
    try:
        doc = yaml.safe_load(index)
    except yaml.YAMLError as exc:
        raise ChartRepoError(f"{base}index.yaml is not YAML: {str(exc).splitlines()[0]}") from None
    entries = (doc or {}).get("entries", {}).get(name) if isinstance(doc, dict) else None
    if not entries:
        raise ChartRepoError(f"{base}index.yaml has no chart {name!r}")
    entry = next((e for e in entries if str(e.get("version")) == version), None)
    if entry is None:
        known = ", ".join(str(e.get("version")) for e in entries[:5])
        raise ChartRepoError(f"{name} has no version {version} in {base} (newest: {known})")
    urls = entry.get("urls") or []
    if not urls:
        raise ChartRepoError(f"{name} {version} has no archive URL in {base}index.yaml")
    archive_url = urljoin(base, str(urls[0]))
    if urlsplit(archive_url).scheme not in ("https", "http"):
        raise ChartRepoError(f"{archive_url} is not an http(s) URL")
    data = _get(session, archive_url)
    expected = str(entry.get("digest") or "")
    if expected and hashlib.sha256(data).hexdigest() != expected.removeprefix("sha256:"):
        raise ChartRepoError(f"{archive_url} does not match the digest in index.yaml")
    return data, archive_url


def _get(session: requests.Session, url: str) -> bytes:
    try:
        response = session.get(url, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise ChartRepoError(f"GET {url}: {exc}") from None
    if response.status_code != 200:
        raise ChartRepoError(f"GET {url}: HTTP {response.status_code}")
    return response.content
