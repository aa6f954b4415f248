"""Pin imgpub's references to itself in the reusable workflows and their example callers.

A reusable workflow runs in the caller's repository, where ``./actions/<stage>`` would name
the caller's checkout; so imgpub's workflows call ``ORG/imgpub/actions/<stage>@<commit>``,
and the examples call ``ORG/imgpub/.github/workflows/<name>.yml@<commit>``. In the source
tree the commit is a placeholder (forty zeros); the release job runs this script to write
the released commit and the version in its place (docs/CONVENTIONS.md, "Reusable
workflows")::

    python scripts/pin_self.py --repository OWNER/imgpub --sha <40 hex> --version v1.2.3 FILE...

Only ``uses:`` lines naming ``ORG/imgpub/…@000…0`` change; anything else is left as is, and
a file that has no placeholder is an error (the list of files and the tree disagree).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

PLACEHOLDER = "0" * 40
_SELF_USES = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?uses:\s*)ORG/imgpub/(?P<path>[^@\s]+)@"
    + PLACEHOLDER
    + r"(?P<rest>.*)$",
    re.MULTILINE,
)
_SHA = re.compile(r"^[0-9a-f]{40}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def pin(text: str, repository: str, sha: str, version: str) -> tuple[str, int]:
    """``text`` with every placeholder reference pinned, and how many there were."""
    if not _SHA.match(sha) or sha == PLACEHOLDER:
        raise ValueError(f"--sha: {sha!r} is not a commit SHA (40 lower-case hex digits)")
    if not _REPOSITORY.match(repository):
        raise ValueError(f"--repository: {repository!r} is not OWNER/NAME")

    def one(match: re.Match[str]) -> str:
        return f"{match['lead']}{repository}/{match['path']}@{sha} # {version}"

    return _SELF_USES.subn(one, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repository", required=True, help="OWNER/NAME of imgpub")
    parser.add_argument("--sha", required=True, help="the commit the references pin")
    parser.add_argument("--version", required=True, help="the version comment, e.g. v1.2.3")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.files:
        try:
            text, count = pin(path.read_text("utf-8"), args.repository, args.sha, args.version)
        except ValueError as exc:
            print(f"pin_self: {exc}", file=sys.stderr)
            return 2
        if count == 0:
            print(f"pin_self: {path} has no ORG/imgpub/…@{PLACEHOLDER} reference", file=sys.stderr)
            return 2
        path.write_text(text, "utf-8")
        print(f"{path}: {count} reference(s) pinned to {args.sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
