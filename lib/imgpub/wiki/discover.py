"""Read-only discovery: the repository, base, the release's branch, its files, its PRs.

Only GET requests; the file reads (each wanted path on base and on the branch) are the
"same thing for N targets" and go through :func:`imgpub.fanout.fan_out`. A token that
cannot see the repository, a base branch that does not exist, or a token that GitHub says
cannot push, all stop here — before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from github.GithubException import GithubException

from imgpub.cancel import Cancellation
from imgpub.errors import CloudError, InputError
from imgpub.fanout import Failed, NotDone, fan_out
from imgpub.github.errors import describe, permission_remedy
from imgpub.github.repository import RemoteFile, RepoGateway
from imgpub.wiki.plan import Found

READ_WORKERS = 4


def discover(
    gateway: RepoGateway,
    *,
    base: str,
    branch: str,
    paths: Iterable[str],
    cancel: Cancellation,
    log: Callable[[str], None],
) -> Found:
    repository = gateway.full_name
    try:
        repo = gateway.info()
        if repo.can_push is False:
            raise CloudError(
                f"the token can read {repository} but not push to it",
                remedy=permission_remedy(repository),
            )
        base_name = base or repo.default_branch
        base_head = gateway.branch_head(base_name)
        if base_head is None:
            raise InputError(
                "base", f"{repository} has no branch {base_name}", "give an existing branch"
            )
        log(f"{repository}: base {base_name} at {base_head.commit[:12]}")
        branch_head = gateway.branch_head(branch)
        log(
            f"branch {branch}: "
            + (f"at {branch_head.commit[:12]}" if branch_head else "does not exist yet")
        )
        pulls = gateway.pulls_for(branch)
        for pr in pulls:
            state = "merged" if pr.merged else pr.state
            log(f"pull request #{pr.number} from {branch}: {state} ({pr.url})")
        wanted = list(paths)
        refs = {"base": base_head.commit}
        if branch_head is not None:
            refs["branch"] = branch_head.commit
        files = _read_files(gateway, refs, wanted, cancel)
        open_pr = next((p for p in pulls if p.state == "open"), None)
        reviewed = gateway.reviewed_by(open_pr.number) if open_pr is not None else set()
    except GithubException as exc:
        raise describe(
            exc, what="read the repository and its pull requests", repository=repository
        ) from None
    return Found(
        repo=repo,
        base=base_name,
        base_head=base_head,
        branch_head=branch_head,
        on_base={p: files[("base", p)] for p in wanted},
        on_branch={p: files[("branch", p)] for p in wanted if ("branch", p) in files},
        pulls=tuple(pulls),
        reviewed=frozenset(reviewed),
    )


def _read_files(
    gateway: RepoGateway, refs: dict[str, str], paths: list[str], cancel: Cancellation
) -> dict[tuple[str, str], RemoteFile | None]:
    keys = [(ref, path) for ref in refs for path in paths]
    outcome = fan_out(
        keys,
        lambda key: gateway.file(key[1], refs[key[0]]),
        max_workers=READ_WORKERS,
        cancel=cancel,
    )
    found: dict[tuple[str, str], RemoteFile | None] = {}
    for key, value in outcome.outcomes.items():
        if isinstance(value, Failed):
            if isinstance(value.error, GithubException | CloudError):
                raise value.error
            raise CloudError(f"reading {key[1]} failed: {value.message}", remedy="re-run")
        if isinstance(value, NotDone):
            raise CloudError(f"reading {key[1]} did not finish: {value.reason}", remedy="re-run")
        found[key] = value
    return found
