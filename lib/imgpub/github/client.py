"""The one PyGithub client of a run: the token, the API base and sensible throttling.

``base_url`` comes from the ``github-api-url`` input or the runner's ``GITHUB_API_URL``
(PyGithub does not read the variable itself), so GitHub Enterprise Server
(``https://<host>/api/v3``) works unchanged. PyGithub's defaults sleep 0.25 s before every
request and 1 s before every write: reads are not spaced (GitHub limits them by points and
concurrency, not spacing), writes keep GitHub's documented 1 s spacing except against a
server on this machine (the sandbox), where it only slows rehearsals down. Its urllib3
retry is off: :class:`imgpub.github.ratelimit.RateLimitGuard` waits instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from github import Auth, Github

from imgpub import __version__
from imgpub.loopback import is_loopback_url

GITHUB_API = "https://api.github.com"
WRITE_SPACING = 1.0


@dataclass(frozen=True)
class GithubAccess:
    """Who talks to which API; ``token`` is masked before this is built."""

    token: str
    api_url: str

    def __repr__(self) -> str:  # never print the token, even in a traceback
        return f"GithubAccess(api_url={self.api_url!r})"


def write_spacing(api_url: str) -> float:
    """Seconds between mutating requests: GitHub's guidance, none for a local server."""
    return 0.0 if is_loopback_url(api_url) else WRITE_SPACING


def connect(access: GithubAccess) -> Github:
    return Github(
        auth=Auth.Token(access.token),
        base_url=access.api_url,
        timeout=20,
        user_agent=f"imgpub/{__version__}",
        per_page=100,
        retry=None,
        pool_size=4,
        seconds_between_requests=0.0,
        seconds_between_writes=write_spacing(access.api_url),
    )
