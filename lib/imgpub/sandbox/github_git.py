"""The git object store behind the fake GitHub: blobs, nested trees, commits, ancestry.

GitHub's Git Data API is a thin skin over git's object model, and a client that builds
one commit from many files (blobs → tree on a base tree → commit → ref) only works if
the server keeps that model: a tree entry ``docs/cloud/x.md`` lands in nested trees, a
``base_tree`` keeps every path not listed, ``sha: null`` deletes one, and a fast-forward
check walks parents. Objects are named by git's own hashes
(:mod:`imgpub.github.git_objects`), so a client comparing blob SHAs it computed itself
sees exactly what GitHub would answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from imgpub.github.git_objects import (
    FILE_MODE,
    TREE_MODE,
    TreeEntry,
    blob_sha,
    commit_body,
    object_sha,
    tree_body,
)

#: Modes a tree entry of a file may have (submodules and symlinks are not faked).
FILE_MODES = frozenset({"100644", "100755"})


class GitObjectError(ValueError):
    """A reference to an object the store does not hold, or of the wrong kind."""


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    author: Mapping[str, str]
    committer: Mapping[str, str]


@dataclass(frozen=True)
class TreeChange:
    """One entry of a create-tree request: a file at ``path`` (``sha`` None deletes it)."""

    path: str
    mode: str
    sha: str | None


@dataclass
class GitStore:
    """One repository's objects."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, tuple[TreeEntry, ...]] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    def put_blob(self, content: bytes) -> str:
        sha = blob_sha(content)
        self.blobs[sha] = content
        return sha

    def blob(self, sha: str) -> bytes:
        if sha not in self.blobs:
            raise GitObjectError(f"blob {sha} does not exist")
        return self.blobs[sha]

    def tree(self, sha: str) -> tuple[TreeEntry, ...]:
        if sha not in self.trees:
            raise GitObjectError(f"tree {sha} does not exist")
        return self.trees[sha]

    def commit(self, sha: str) -> Commit:
        if sha not in self.commits:
            raise GitObjectError(f"commit {sha} does not exist")
        return self.commits[sha]

    # -- trees -------------------------------------------------------------------------------

    def write_tree(self, files: Mapping[str, tuple[str, str]]) -> str:
        """Store the nested trees of ``{path: (mode, blob sha)}``; the root tree's SHA."""
        entries: list[TreeEntry] = []
        children: dict[str, dict[str, tuple[str, str]]] = {}
        for path, (mode, sha) in files.items():
            head, sep, rest = path.partition("/")
            if sep:
                children.setdefault(head, {})[rest] = (mode, sha)
            else:
                entries.append(TreeEntry(head, mode, "blob", sha))
        for name, sub in children.items():
            entries.append(TreeEntry(name, TREE_MODE, "tree", self.write_tree(sub)))
        sha = object_sha("tree", tree_body(entries))
        self.trees[sha] = tuple(entries)
        return sha

    def flatten(self, tree_sha: str, prefix: str = "") -> dict[str, tuple[str, str]]:
        """``{path: (mode, blob sha)}`` of every file under a tree."""
        out: dict[str, tuple[str, str]] = {}
        for entry in self.tree(tree_sha):
            path = prefix + entry.name
            if entry.type == "tree":
                out.update(self.flatten(entry.sha, path + "/"))
            else:
                out[path] = (entry.mode, entry.sha)
        return out

    def tree_with(self, base_tree: str | None, changes: Iterable[TreeChange]) -> str:
        """A new tree: ``base_tree``'s files (none without one) with ``changes`` applied."""
        files = self.flatten(base_tree) if base_tree else {}
        for change in changes:
            if change.sha is None:
                files.pop(change.path, None)
                continue
            self.blob(change.sha)
            files[change.path] = (change.mode, change.sha)
        return self.write_tree(files)

    # -- commits -----------------------------------------------------------------------------

    def put_commit(
        self,
        tree: str,
        parents: Iterable[str],
        message: str,
        author: Mapping[str, str],
        committer: Mapping[str, str],
    ) -> Commit:
        self.tree(tree)
        parent_list = tuple(parents)
        for parent in parent_list:
            self.commit(parent)
        body = commit_body(tree, parent_list, _signature(author), _signature(committer), message)
        commit = Commit(
            object_sha("commit", body), tree, parent_list, message, dict(author), dict(committer)
        )
        self.commits[commit.sha] = commit
        return commit

    def commit_files(
        self,
        parent: str | None,
        files: Mapping[str, bytes | None],
        message: str,
        who: Mapping[str, str],
    ) -> Commit:
        """A commit on ``parent`` changing ``files`` (None deletes): what a push would make."""
        base_tree = self.commit(parent).tree if parent else None
        changes = [
            TreeChange(path, FILE_MODE, None if data is None else self.put_blob(data))
            for path, data in files.items()
        ]
        tree = self.tree_with(base_tree, changes)
        return self.put_commit(tree, [parent] if parent else [], message, who, who)

    def files_at(self, commit_sha: str) -> dict[str, bytes]:
        """Every file of a commit with its content."""
        flat = self.flatten(self.commit(commit_sha).tree)
        return {path: self.blobs[sha] for path, (_mode, sha) in flat.items()}

    def ancestors(self, commit_sha: str) -> list[str]:
        """``commit_sha`` and every commit reachable from it, nearest first."""
        seen: list[str] = []
        todo = [commit_sha]
        while todo:
            sha = todo.pop(0)
            if sha in seen:
                continue
            seen.append(sha)
            todo.extend(self.commit(sha).parents)
        return seen

    def is_ancestor(self, maybe_ancestor: str, of: str) -> bool:
        return maybe_ancestor in self.ancestors(of)

    def merge_base(self, a: str, b: str) -> str | None:
        theirs = set(self.ancestors(b))
        return next((sha for sha in self.ancestors(a) if sha in theirs), None)


def _signature(who: Mapping[str, str]) -> str:
    return f"{who.get('name', '')} <{who.get('email', '')}> {who.get('date', '')}"
