"""The declared inputs and outputs of wiki-pr, next to the parser that reads them.

Kept here so that names, defaults and :func:`imgpub.wiki.model.parse_wiki_inputs` cannot
drift apart; ``stages/wiki_pr.py`` re-exports them.
"""

from __future__ import annotations

from imgpub.inputs import InputSpec, OutputSpec

DEFAULT_TITLE = "Update {{ distribution }} {{ os_version }} {{ datestamp }} AWS AMI IDs"
DEFAULT_RATE_LIMIT_WAIT = 900

WIKI_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "repository",
        "Repository of the documentation, owner/name (e.g. almalinux/wiki).",
        required=True,
    ),
    InputSpec("base", "Branch the pull request targets. Default: the repository's default branch."),
    InputSpec(
        "mirror-results",
        "Results documents holding mirror-ami sections, one path or glob per line (e.g. the "
        "x86_64 and aarch64 jobs' artifacts); their images are merged into one table. "
        "Default: the results document (the results input).",
        kind="lines",
    ),
    InputSpec(
        "files",
        "YAML mapping of file path templates to what each file holds: csv, markdown (the "
        "region table in AlmaLinux's formats), a Jinja2 template, or {template-file: PATH}. "
        "Templates see distribution, version, os_version, datestamp, major, section, release, "
        "rows, csv, markdown, sources and regions. Default: AlmaLinux's wiki, the Markdown "
        "table in docs/{{ section }}/AWS_AMIS_{{ major }}.md and the CSV in "
        "docs/.vuepress/public/ci-data/aws_amis_{{ major }}.csv (section is development for "
        "Kitten, else cloud; major is 8, 9, 10 or kitten_10).",
    ),
    InputSpec(
        "release",
        "Release key: the branch is imgpub/<release>, one pull request per release. Default: "
        "from the images, e.g. almalinux_os_9_6_20250522.",
    ),
    InputSpec(
        "title",
        "Jinja2 template of the pull request's title (also the commit message).",
        default=DEFAULT_TITLE,
    ),
    InputSpec(
        "body",
        "Jinja2 template of the pull request's body (Markdown); it also sees files, run_url "
        "and digest. Default: the source AMIs, the regions, the files, a link to the run and "
        "a digest of the data.",
    ),
    InputSpec(
        "draft",
        "Open the pull request as a draft (retried as a normal one where drafts are not "
        "available).",
        default="true",
        kind="bool",
    ),
    InputSpec(
        "reopen",
        "When the release's pull request was closed without merging (or merged, and the data "
        "changed since), open a new one. Otherwise that is reported and nothing is changed.",
        default="false",
        kind="bool",
    ),
    InputSpec("labels", "Labels to add to the pull request.", kind="list"),
    InputSpec(
        "reviewers",
        "Reviewers to request: user logins, or org/team-slug for teams. A refusal (not a "
        "collaborator, the author) is a warning.",
        kind="list",
    ),
    InputSpec(
        "github-token",
        "Token with contents: write and pull-requests: write on the repository: GITHUB_TOKEN "
        "for the workflow's own repository, else a fine-grained PAT or a GitHub App "
        "installation token. Masked.",
        default="${{ github.token }}",
        kind="secret",
    ),
    InputSpec(
        "github-api-url",
        "GitHub API base, e.g. https://ghes.example.com/api/v3 for GitHub Enterprise Server. "
        "Default: GITHUB_API_URL, else https://api.github.com.",
    ),
    InputSpec(
        "rate-limit-wait",
        "Seconds the run may wait in total for GitHub's rate limits before it stops (a "
        "re-run finishes).",
        default=str(DEFAULT_RATE_LIMIT_WAIT),
        kind="int",
    ),
)

WIKI_OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec("pull-request-url", "URL of the release's pull request (empty if there is none)."),
    OutputSpec("pull-request-number", "Number of the release's pull request."),
    OutputSpec("branch", "The release's branch, imgpub/<release>."),
    OutputSpec("commit-sha", "The commit that holds the tables (the branch head, or base's)."),
    OutputSpec(
        "state",
        "created (new pull request), updated (new data or text), existed (nothing to do, or "
        "merged), skipped (closed, see reopen), planned (dry run) or failed.",
    ),
)
