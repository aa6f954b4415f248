"""wiki-pr's inputs, validated once: every problem is exit 2 before any GitHub call.

Reading the inputs includes reading the results documents they name (local files) and
rendering the files the pull request will hold, so a missing artifact, a dry-run mirror,
a template typo or a path outside the repository all stop the run here, with the input
named and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jinja2

from imgpub.errors import InputError
from imgpub.github.client import GITHUB_API, GithubAccess
from imgpub.inputs import InputReader
from imgpub.loopback import is_loopback_url
from imgpub.results import ResultsDocument
from imgpub.results_merge import read_documents
from imgpub.wiki.files import compile_template, parse_files, read_text_file, wanted_files
from imgpub.wiki.release import Release, release_from_documents
from imgpub.wiki.texts import DEFAULT_BODY

_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TEAM = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_RELEASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_BAD_REF = re.compile(r"[\s~^:?*\[\\\x00-\x1f\x7f]|\.\.|@\{|//|^/|/$|\.lock$|^-|\.$")
BRANCH_PREFIX = "imgpub/"


@dataclass(frozen=True)
class WikiInputs:
    repository: str
    base: str  # "" → the repository's default branch
    release: Release
    files: Mapping[str, str]  # path → text, rendered
    title: jinja2.Template
    body: jinja2.Template
    draft: bool
    reopen: bool
    labels: tuple[str, ...]
    reviewers: tuple[str, ...]
    team_reviewers: tuple[str, ...]
    access: GithubAccess
    rate_limit_wait: int
    sources: tuple[str, ...]  # the results documents read, for the record

    @property
    def branch(self) -> str:
        return BRANCH_PREFIX + self.release.key


def parse_wiki_inputs(
    reader: InputReader,
    env: Mapping[str, str],
    previous: tuple[str, ResultsDocument],
    mask: Callable[[str], None],
) -> WikiInputs:
    repository = reader.text("repository")
    if not _REPOSITORY.match(repository):
        raise InputError("repository", f"{repository!r} is not owner/name", "e.g. almalinux/wiki")
    base = reader.text("base")
    if base and not valid_branch(base):
        raise InputError("base", f"{base!r} is not a branch name", "give the branch's name")
    key = reader.text("release")
    if key and not _RELEASE.match(key):
        raise InputError(
            "release", f"{key!r} cannot name a branch", "use letters, digits, '.', '_' and '-'"
        )
    documents, source_input = _documents(reader, previous)
    release = release_from_documents(documents, source_input=source_input, key=key)
    files = wanted_files(parse_files(reader.text("files"), read_text_file), release)
    users, teams = _reviewers(reader.items("reviewers"))
    labels = tuple(dict.fromkeys(reader.items("labels")))
    for label in labels:
        if len(label) > 50:
            raise InputError("labels", f"{label[:20]}… is longer than 50", "shorten the label")
    return WikiInputs(
        repository=repository,
        base=base,
        release=release,
        files=files,
        title=compile_template("title", reader.text("title")),
        body=compile_template("body", reader.text("body") or DEFAULT_BODY),
        draft=reader.boolean("draft"),
        reopen=reader.boolean("reopen"),
        labels=labels,
        reviewers=users,
        team_reviewers=teams,
        access=GithubAccess(_token(reader, env, mask), _api_url(reader, env)),
        rate_limit_wait=reader.integer("rate-limit-wait", minimum=0, maximum=6 * 3600),
        sources=tuple(origin for origin, _doc in documents),
    )


def valid_branch(name: str) -> bool:
    """git check-ref-format's rules, as far as a branch name given by hand needs them."""
    return bool(name) and len(name) <= 200 and not _BAD_REF.search(name)


def _documents(
    reader: InputReader, previous: tuple[str, ResultsDocument]
) -> tuple[list[tuple[str, ResultsDocument]], str]:
    patterns = reader.lines("mirror-results")
    if not patterns:
        return [previous], "results"
    remedy = (
        "download the mirror job's artifact first (actions/download-artifact) and "
        "give the path of its imgpub-results.json"
    )
    return read_documents(patterns, "mirror-results", remedy), "mirror-results"


def _reviewers(entries: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    users: list[str] = []
    teams: list[str] = []
    for entry in entries:
        name = entry.lstrip("@")
        if _TEAM.match(name):
            teams.append(name.split("/", 1)[1])
        elif _LOGIN.match(name):
            users.append(name)
        else:
            raise InputError(
                "reviewers",
                f"{entry!r} is not a login or org/team",
                "e.g. octocat or almalinux/cloud",
            )
    return tuple(dict.fromkeys(users)), tuple(dict.fromkeys(teams))


def _token(reader: InputReader, env: Mapping[str, str], mask: Callable[[str], None]) -> str:
    """github-token, else GITHUB_TOKEN; the action's default expands to the job's token."""
    raw = reader.raw("github-token") or ""
    token = "" if raw.startswith("${{") else reader.secret("github-token")
    if not token:
        token = (env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or "").strip()
        if token:
            mask(token)
    if not token:
        raise InputError(
            "github-token",
            "is empty and GITHUB_TOKEN is not set",
            "pass github-token: ${{ secrets.<NAME> }} (a PAT or an App installation token), "
            "or set GITHUB_TOKEN",
        )
    if any(c.isspace() for c in token):
        raise InputError("github-token", "contains white space", "pass the token alone")
    return token


def _api_url(reader: InputReader, env: Mapping[str, str]) -> str:
    url = (reader.text("github-api-url") or env.get("GITHUB_API_URL") or GITHUB_API).rstrip("/")
    name = "github-api-url" if reader.text("github-api-url") else "GITHUB_API_URL"
    if not (url.startswith("https://") or (url.startswith("http://") and is_loopback_url(url))):
        raise InputError(
            name,
            f"{url} is not an https:// URL",
            "use https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server",
        )
    return url
