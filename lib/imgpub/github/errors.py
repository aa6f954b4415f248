"""GitHub's refusals turned into one-line errors that say which permission to grant.

The token is the usual problem: ``GITHUB_TOKEN`` reaches only the workflow's own
repository, a fine-grained PAT or an App installation lacks a permission, or the
repository's Actions setting forbids pull requests. Each answer GitHub gives for those
becomes a :class:`~imgpub.errors.CloudError` (exit 1: the inputs were fine, the access is
not) naming the repository and what to change.
"""

from __future__ import annotations

from github.GithubException import GithubException

from imgpub.errors import CloudError
from imgpub.github.ratelimit import error_message

PERMISSIONS = "contents: write and pull-requests: write"


def permission_remedy(repository: str) -> str:
    return (
        f"give the token {PERMISSIONS} on {repository}: a fine-grained PAT or a GitHub App "
        "installation token limited to that repository (GITHUB_TOKEN reaches only the "
        "workflow's own repository, with `permissions: {contents: write, pull-requests: "
        "write}`)"
    )


def describe(exc: GithubException, *, what: str, repository: str) -> CloudError:
    """The error to report for a GitHub refusal of ``what`` on ``repository``."""
    message = error_message(exc) or str(exc.status)
    status = exc.status
    if status == 401:
        return CloudError(
            f"GitHub rejected the token ({status} {message}) while trying to {what}",
            remedy="pass a valid token in github-token (GITHUB_TOKEN and App installation "
            "tokens expire; a PAT may have been revoked)",
        )
    if status == 403 and "not permitted to create or approve pull requests" in message:
        return CloudError(
            f"{repository}: {message}",
            remedy=f"turn on 'Allow GitHub Actions to create and approve pull requests' in "
            f"{repository}'s Settings → Actions → General, or use a PAT or App token",
        )
    if status in (403, 404) and what.startswith("read the repository"):
        return CloudError(
            f"repository {repository} was not found, or the token cannot see it ({status})",
            remedy=f"check the repository input; {permission_remedy(repository)}",
        )
    if status == 403:
        return CloudError(
            f"the token may not {what} in {repository} (403 {message})",
            remedy=permission_remedy(repository),
        )
    return CloudError(
        f"GitHub refused to {what} in {repository} ({status} {message})",
        remedy="re-run; imgpub finds what was done and repeats nothing",
    )
