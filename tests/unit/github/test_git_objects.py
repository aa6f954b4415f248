"""Object names computed as git computes them (checked against git itself)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from imgpub.github.git_objects import (
    FILE_MODE,
    TREE_MODE,
    TreeEntry,
    blob_sha,
    object_sha,
    tree_body,
)
from imgpub.sandbox.github_git import GitStore, TreeChange

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(tmp_path, *args, data=b""):
    return (
        subprocess.run(["git", *args], cwd=tmp_path, input=data, capture_output=True, check=True)
        .stdout.decode()
        .strip()
    )


def test_blob_sha_is_git_hash_object(tmp_path):
    for content in (b"", b"hello\n", "Ärger ✓\n".encode(), bytes(range(256))):
        assert blob_sha(content) == git(tmp_path, "hash-object", "--stdin", data=content)


def test_nested_trees_match_git_write_tree(tmp_path):
    git(tmp_path, "init", "-q")
    files = {
        "README.md": b"# wiki\n",
        "docs/cloud/AWS_AMIS_9.md": b"table\n",
        "docs/.vuepress/public/ci-data/aws_amis_9.csv": b'"a"\n',
        "docs-other": b"x",  # sorts between "docs" (a tree, sorted as "docs/") and others
    }
    for path, data in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    git(tmp_path, "add", "-A")
    expected = git(tmp_path, "write-tree")
    store = GitStore()
    changes = [TreeChange(p, FILE_MODE, store.put_blob(d)) for p, d in files.items()]
    assert store.tree_with(None, changes) == expected


def test_tree_body_orders_subtrees_as_git_does():
    a = TreeEntry("a.b", FILE_MODE, "blob", "0" * 40)
    sub = TreeEntry("a", TREE_MODE, "tree", "1" * 40)
    body = tree_body([sub, a])
    assert body.index(b"a.b") < body.index(b"40000 a\0")  # "a.b" < "a/"
    assert object_sha("tree", body) == object_sha("tree", tree_body([a, sub]))
