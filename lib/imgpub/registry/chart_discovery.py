"""The chart's discovery (read-only): pull the source, repack it, look at the destination.

A chart source that cannot be read or is not a chart stops the run with exit 2 before
anything is copied: the chart is the release, and a half release is worse than none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from imgpub.errors import ConfigError, InputError
from imgpub.oci.chart_repo import ChartRepoError, fetch_chart
from imgpub.oci.client import OciClients, RegistryError
from imgpub.oci.media import HELM_CHART, HELM_CHART_LEGACY, HELM_CONFIG
from imgpub.oci.reference import Reference
from imgpub.registry.chart import ChartError, repack
from imgpub.registry.chart_inputs import ChartInputs
from imgpub.registry.chart_plan import ChartAction, ChartPlan
from imgpub.registry.model import RegistryTarget


def plan_chart(
    chart: ChartInputs,
    registry: RegistryTarget,
    clients: OciClients,
    mirrored: Mapping[Reference, Reference],
    *,
    marketplace: bool,
) -> ChartPlan:
    archive = _source_archive(chart, clients)
    try:
        packed = repack(
            archive,
            name=chart.name,
            version=chart.version,
            hook=chart.hook,
            mirrored=mirrored,
            rewrite=chart.rewrite_values,
        )
    except ChartError as exc:
        raise InputError("chart", f"{chart.source}: {exc}", "point chart at a Helm chart") from None
    tag = chart.version.replace("+", "_")  # Helm's rule: a tag cannot hold '+'
    dest = registry.reference(chart.repository or chart.name, tag)
    existing = destination_digest(clients, dest)
    if existing is None:
        action = ChartAction.PUSH
    elif existing == packed.manifest_digest:
        action = ChartAction.EXISTS
    else:
        action = ChartAction.CONFLICT
    return ChartPlan(chart.source, dest, action, packed, existing or "")


def destination_digest(clients: OciClients, dest: Reference) -> str | None:
    """What the destination tag holds (one HEAD); an unreadable destination is exit 2."""
    try:
        return clients(dest).manifest_digest(dest)
    except RegistryError as exc:
        raise ConfigError(
            f"cannot read {dest}: {exc}", remedy="check the registry permissions"
        ) from None


def _source_archive(chart: ChartInputs, clients: OciClients) -> bytes:
    if chart.oci is None:
        host = chart.host
        creds = clients.credentials_for(host)
        try:
            data, _ = fetch_chart(chart.repo_url, chart.name, chart.version, creds)
        except ChartRepoError as exc:
            raise InputError(
                "chart", str(exc), "check chart, chart-name and chart-version"
            ) from None
        return data
    ref = chart.oci
    try:
        client = clients(ref)
        found = client.manifest(ref)
        if found is None:
            raise InputError(
                "chart", f"{ref} does not exist", "check the chart's reference and version"
            )
        _, raw = found
        doc = json.loads(raw)
        if (doc.get("config") or {}).get("mediaType") != HELM_CONFIG:
            raise InputError(
                "chart",
                f"{ref} is not a Helm chart (config media type)",
                "point chart at a Helm chart",
            )
        layer = next(
            (
                x
                for x in doc.get("layers", [])
                if x.get("mediaType") in (HELM_CHART, HELM_CHART_LEGACY)
            ),
            None,
        )
        if layer is None:
            raise InputError("chart", f"{ref} has no chart layer", "point chart at a Helm chart")
        return client.blob(ref, str(layer["digest"]))
    except RegistryError as exc:
        raise ConfigError(
            f"cannot read the chart {ref}: {exc}",
            remedy="check source-credentials and the reference",
        ) from None
