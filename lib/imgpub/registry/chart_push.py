"""Push the repacked chart, then pull it back and check it is what was planned."""

from __future__ import annotations

from imgpub.oci.client import OciClients, RegistryError
from imgpub.oci.media import HELM_CHART, HELM_CONFIG, OCI_MANIFEST
from imgpub.registry.chart import verify
from imgpub.registry.chart_plan import ChartPlan
from imgpub.registry.result import RERUN, ChartOutcome


def push_chart(plan: ChartPlan, clients: OciClients) -> ChartOutcome:
    """Blobs (those missing), then the manifest; then the verification pull."""
    dest = plan.destination
    packed = plan.packed
    client = clients(dest)
    try:
        existing = client.manifest_digest(dest)
        if existing == packed.manifest_digest:
            return ChartOutcome(plan, "existed")
        if existing is not None:
            return ChartOutcome(
                plan,
                "failed",
                f"{dest} now holds {existing}, not this chart ({packed.manifest_digest}); "
                "nothing was pushed",
                plan.remedy or "release the chart as a new version",
            )
        client.upload_blob(dest, packed.archive, packed.archive_digest, HELM_CHART)
        client.upload_blob(dest, packed.config, packed.config_digest, HELM_CONFIG)
        client.put_manifest(dest, packed.manifest, OCI_MANIFEST)
        found = client.manifest(dest)
        pulled = client.blob(dest, packed.archive_digest)
    except RegistryError as exc:
        return ChartOutcome(plan, "failed", str(exc), RERUN)
    if found is None or found[0].digest != packed.manifest_digest:
        got = found[0].digest if found else "nothing"
        return ChartOutcome(
            plan,
            "failed",
            f"{dest} reads back as {got}",
            "report it: the registry changed the chart",
        )
    problems = verify(pulled, packed)
    if problems:
        return ChartOutcome(plan, "failed", "verification: " + "; ".join(problems), "report it")
    return ChartOutcome(plan, "created")
