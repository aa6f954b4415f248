"""What later stages take from build-ami's section of the results document.

mirror-ami (``source-ami``) and marketplace-changeset (``ami-id``) default to the AMIs an
earlier build-ami recorded when their own input is empty, the way a workflow chains
``needs.build.outputs.ami-id`` — read from the document, never from logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgpub.results import DONE_STATES, ResultsDocument

STAGE = "build-ami"


@dataclass(frozen=True)
class BuiltAmi:
    image_id: str
    region: str
    name: str
    architecture: str
    snapshot_id: str


def built_amis(previous: ResultsDocument) -> list[BuiltAmi]:
    """The AMIs build-ami made or found (state created/existed), in recorded order."""
    section = previous.section(STAGE)
    if section is None or section.dry_run:
        return []
    out: list[BuiltAmi] = []
    for target in section.targets:
        if target.kind != "ami" or target.state not in DONE_STATES or not target.resource_id:
            continue
        details = target.details
        out.append(
            BuiltAmi(
                image_id=target.resource_id,
                region=target.region or str(details.get("region", "")),
                name=str(details.get("name", "")),
                architecture=str(details.get("architecture", "")),
                snapshot_id=str(details.get("snapshot_id", "")),
            )
        )
    return out
