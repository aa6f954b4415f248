"""Unpack, change and repack a Helm chart deterministically, as Helm's OCI artifact (pure).

Same input, same bytes, same digest: that is what makes a re-run ``existed`` (the
destination tag already holds exactly this chart) and what lets the immutable-tag guard
tell "already pushed" from "something else is there". So the archive is written with
sorted entries, fixed owners, modes and times, and gzip without a name or time; the
OCI config and manifest are compact JSON with sorted keys and no creation time (Helm
stamps ``org.opencontainers.image.created``, which would change the digest every run).
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from imgpub.oci.media import HELM_CHART, HELM_CONFIG, OCI_MANIFEST, sha256_digest
from imgpub.oci.reference import Reference
from imgpub.registry.chart_inputs import HookValues
from imgpub.registry.chart_plan import PackedChart
from imgpub.registry.hook import hook_problems, render_hook
from imgpub.registry.values_rewrite import rewrite_values

MAX_CHART_BYTES = 64 * 1024 * 1024  # unpacked; Helm's own limit is in this range
_ANNOTATIONS = {
    "description": "org.opencontainers.image.description",
    "home": "org.opencontainers.image.url",
}


class ChartError(ValueError):
    """An archive that is not a chart imgpub can repack."""


@dataclass(frozen=True)
class ChartFiles:
    """A chart's files by path below its top folder (``<name>/``)."""

    top: str
    files: Mapping[str, bytes]

    @property
    def chart_yaml(self) -> bytes:
        return self.files["Chart.yaml"]

    def metadata(self) -> dict[str, Any]:
        try:
            meta = yaml.safe_load(self.chart_yaml)
        except yaml.YAMLError as exc:
            raise ChartError(f"Chart.yaml is not YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
            raise ChartError("Chart.yaml has no name or version")
        return meta


def unpack(archive: bytes) -> ChartFiles:
    """The chart's regular files; links, devices, absolute paths and ``..`` are refused."""
    try:
        raw = gzip.decompress(archive)
    except (OSError, EOFError) as exc:
        raise ChartError(f"the chart is not gzip: {exc}") from None
    files: dict[str, bytes] = {}
    top = ""
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for member in tar.getmembers():
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ChartError(f"the chart holds {member.name}, which is not a regular file")
                parts = member.name.split("/")
                if member.name.startswith("/") or ".." in parts or len(parts) < 2:
                    raise ChartError(f"the chart holds an unsafe path {member.name!r}")
                if top and parts[0] != top:
                    raise ChartError("the chart has more than one top folder")
                top = parts[0]
                total += member.size
                if total > MAX_CHART_BYTES:
                    raise ChartError("the chart is larger than 64 MiB unpacked")
                handle = tar.extractfile(member)
                assert handle is not None
                files["/".join(parts[1:])] = handle.read()
    except tarfile.TarError as exc:
        raise ChartError(f"the chart is not a tar archive: {exc}") from None
    if "Chart.yaml" not in files:
        raise ChartError("the chart has no Chart.yaml")
    return ChartFiles(top, files)


def pack(chart: ChartFiles) -> bytes:
    """A deterministic ``.tgz`` of the chart (see the module docstring)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(chart.files):
            data = chart.files[path]
            info = tarfile.TarInfo(f"{chart.top}/{path}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(buf.getvalue())
    return out.getvalue()


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def oci_artifact(meta: Mapping[str, Any], archive: bytes) -> tuple[bytes, bytes]:
    """(config, manifest) bytes of the chart as Helm pushes it, minus the creation time."""
    config = _json(dict(meta))
    annotations = {
        "org.opencontainers.image.title": str(meta["name"]),
        "org.opencontainers.image.version": str(meta["version"]),
    }
    for key, name in _ANNOTATIONS.items():
        if meta.get(key):
            annotations[name] = str(meta[key])
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": HELM_CONFIG,
                "digest": sha256_digest(config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": HELM_CHART, "digest": sha256_digest(archive), "size": len(archive)}
            ],
            "annotations": annotations,
        }
    )
    return config, manifest


def repack(
    archive: bytes,
    *,
    name: str,
    version: str,
    hook: HookValues,
    mirrored: Mapping[Reference, Reference],
    rewrite: bool,
) -> PackedChart:
    """The source chart with the hook and Secret injected (and values rewritten if asked)."""
    chart = unpack(archive)
    meta = chart.metadata()
    if str(meta["name"]) != name or str(meta["version"]) != version:
        raise ChartError(f"the chart is {meta['name']} {meta['version']}, not {name} {version}")
    files = dict(chart.files)
    files.update(render_hook(hook))
    rewrites: list[tuple[str, str, str]] = []
    notes: list[str] = []
    if rewrite and "values.yaml" in files:
        text, rewrites, notes = rewrite_values(files["values.yaml"].decode("utf-8"), mirrored)
        files["values.yaml"] = text.encode("utf-8")
    elif rewrite:
        notes.append("the chart has no values.yaml: nothing to rewrite")
    packed = pack(ChartFiles(chart.top, files))
    config, manifest = oci_artifact(meta, packed)
    return PackedChart(
        name=name,
        version=version,
        archive=packed,
        config=config,
        manifest=manifest,
        manifest_digest=sha256_digest(manifest),
        archive_digest=sha256_digest(packed),
        config_digest=sha256_digest(config),
        chart_yaml=chart.chart_yaml,
        rewrites=tuple(rewrites),
        notes=tuple(notes),
    )


def verify(archive: bytes, packed: PackedChart) -> list[str]:
    """What is wrong with a chart pulled back after the push (empty: it is as planned)."""
    try:
        chart = unpack(archive)
    except ChartError as exc:
        return [str(exc)]
    problems = hook_problems(dict(chart.files))
    if chart.chart_yaml != packed.chart_yaml:
        problems.append("Chart.yaml differs from the source's")
    return problems
