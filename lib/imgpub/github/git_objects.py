"""Git's object names, computed the way git (and GitHub's Git Data API) computes them.

GitHub reports every file by its blob SHA (the contents API's ``sha``, a tree entry's
``sha``), which is git's hash of ``blob <size>\\0<bytes>``. Hashing the wanted content
locally tells whether a file on a branch already holds it, without downloading anything
else and without writing a blob only to find it was there. The sandbox's fake GitHub
names its objects with the same functions, so its SHAs are the ones git would give.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

FILE_MODE = "100644"
TREE_MODE = "040000"


def object_sha(kind: str, body: bytes) -> str:
    """git's SHA-1 of an object of ``kind`` (blob, tree, commit) with ``body``."""
    header = f"{kind} {len(body)}\0".encode("ascii")
    return hashlib.sha1(header + body, usedforsecurity=False).hexdigest()


def blob_sha(content: bytes) -> str:
    """What ``git hash-object`` prints for a file holding ``content``."""
    return object_sha("blob", content)


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a git tree: a file (mode 100644, type blob) or a subtree."""

    name: str
    mode: str
    type: str
    sha: str


def tree_body(entries: Iterable[TreeEntry]) -> bytes:
    """The bytes of a tree object: entries in git's order (a tree sorts as ``name/``)."""

    def order(entry: TreeEntry) -> bytes:
        name = entry.name.encode("utf-8")
        return name + b"/" if entry.type == "tree" else name

    body = b""
    for entry in sorted(entries, key=order):
        mode = entry.mode.lstrip("0") or "0"  # git writes trees as 40000, not 040000
        body += f"{mode} ".encode("ascii") + entry.name.encode("utf-8") + b"\0"
        body += bytes.fromhex(entry.sha)
    return body


def commit_body(
    tree: str, parents: Iterable[str], author: str, committer: str, message: str
) -> bytes:
    """The bytes of a commit object; ``author``/``committer`` are ``Name <email> epoch +0000``."""
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    lines += [f"author {author}", f"committer {committer}", "", message]
    return "\n".join(lines).encode("utf-8")
