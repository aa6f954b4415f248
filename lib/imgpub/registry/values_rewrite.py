"""Point a chart's ``values.yaml`` at the mirrored images, keeping every other byte.

Charts name images two ways: a whole reference (``image: docker.io/camunda/zeebe:8.3.4``)
or a mapping (``image: {registry: docker.io, repository: camunda/zeebe, tag: 8.3.4}``).
PyYAML's node marks give each scalar's exact span in the text, so only those spans are
replaced: comments, order and quoting stay as the chart's authors wrote them (a re-dump
would lose them, and change the chart's digest for nothing).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from imgpub.oci.reference import DOCKER_HUB, Reference, ReferenceError, parse_reference


@dataclass(frozen=True)
class Rewrite:
    path: str
    old: str
    new: str
    start: int
    end: int
    style: str | None


def rewrite_values(
    text: str, mirrored: Mapping[Reference, Reference]
) -> tuple[str, list[tuple[str, str, str]], list[str]]:
    """(new text, [(path, old, new)], notes) for every reference to a mirrored source."""
    by_name = {(src.name, src.tag): dst for src, dst in mirrored.items()}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        return text, [], [f"values.yaml is not YAML, left as is: {str(exc).splitlines()[0]}"]
    if root is None:
        return text, [], []
    edits: list[Rewrite] = []
    notes: list[str] = []
    for path, node in _walk(root, ""):
        if isinstance(node, MappingNode):
            edits += _mapping(path, node, by_name, notes)
        elif isinstance(node, ScalarNode) and node.tag.endswith(":str"):
            edits += _whole(path, node, by_name)
    out = text
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        quote = edit.style if edit.style in ('"', "'") else ""
        out = out[: edit.start] + f"{quote}{edit.new}{quote}" + out[edit.end :]
    return out, [(e.path, e.old, e.new) for e in sorted(edits, key=lambda e: e.start)], notes


def _walk(node: Node, path: str) -> Iterator[tuple[str, Node]]:
    yield path, node
    if isinstance(node, MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else "?"
            yield from _walk(value, f"{path}.{name}" if path else str(name))
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            yield from _walk(item, f"{path}[{i}]")


def _edit(path: str, node: ScalarNode, new: str) -> Rewrite:
    return Rewrite(
        path, str(node.value), new, node.start_mark.index, node.end_mark.index, node.style
    )


def _whole(
    path: str, node: ScalarNode, by_name: Mapping[tuple[str, str | None], Reference]
) -> list[Rewrite]:
    value = str(node.value)
    if "/" not in value and ":" not in value:
        return []
    try:
        ref = parse_reference(value, default_tag=None)
    except ReferenceError:
        return []
    dest = by_name.get((ref.name, ref.tag))
    return [_edit(path, node, str(dest))] if dest is not None else []


def _mapping(
    path: str,
    node: MappingNode,
    by_name: Mapping[tuple[str, str | None], Reference],
    notes: list[str],
) -> list[Rewrite]:
    fields = {
        k.value: v for k, v in node.value if isinstance(k, ScalarNode) and isinstance(v, ScalarNode)
    }
    repo = fields.get("repository")
    if repo is None:
        return []
    registry = fields.get("registry")
    tag = fields.get("tag")
    host = str(registry.value) if registry is not None and registry.value else DOCKER_HUB
    try:
        ref = parse_reference(f"{host}/{repo.value}", default_tag=None)
    except ReferenceError:
        return []
    matches = [
        (src_tag, dst)
        for (name, src_tag), dst in by_name.items()
        if name == ref.name and (tag is None or str(tag.value) == src_tag)
    ]
    if not matches:
        return []
    src_tag, dest = matches[0]
    where = f"{path}." if path else ""
    edits: list[Rewrite] = []
    if registry is not None:
        edits.append(_edit(where + "registry", registry, dest.registry))
        edits.append(_edit(where + "repository", repo, dest.repository))
    else:
        edits.append(_edit(where + "repository", repo, dest.name))
    if tag is not None and dest.tag != src_tag:
        edits.append(_edit(where + "tag", tag, str(dest.tag)))
    elif tag is None and dest.tag != src_tag:
        notes.append(
            f"{where}repository now names {dest.name}; its tag comes from the chart: "
            f"check that it is {dest.tag}"
        )
    return edits
