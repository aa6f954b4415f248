"""Whether a URL points at this machine: where plain http and no throttling are fine.

Credentials and webhooks travel over https, except to a server on this machine (the
sandbox's fakes, a local receiver in tests), where there is no network to protect and
GitHub's request spacing only slows a rehearsal down.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    try:
        return is_loopback_host(urlsplit(url).hostname or "")
    except ValueError:
        return False
