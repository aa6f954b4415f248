"""The link to the workflow run, from the variables every GitHub Actions runner sets.

Built from ``GITHUB_SERVER_URL`` (so GitHub Enterprise Server links point at its host),
``GITHUB_REPOSITORY``, ``GITHUB_RUN_ID`` and ``GITHUB_RUN_ATTEMPT``; outside a runner
there is no run to link to.
"""

from __future__ import annotations

from collections.abc import Mapping


def run_url(env: Mapping[str, str]) -> str | None:
    """``https://github.com/o/r/actions/runs/123`` (``/attempts/2`` on a re-run), or None."""
    repository, run_id = env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    if not repository or not run_id:
        return None
    server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    url = f"{server}/{repository}/actions/runs/{run_id}"
    attempt = env.get("GITHUB_RUN_ATTEMPT", "")
    if attempt and attempt != "1":
        url += f"/attempts/{attempt}"
    return url
