"""What to do about an Azure error: the next step, in ``az`` terms where one exists.

Remedies are Azure knowledge (which role, which ``az`` command), so they live next to the
adapters and not in a stage; the gallery planner and engine only pick one.
"""

from __future__ import annotations

from typing import Protocol

RERUN = "re-run the same command: imgpub finds what exists and finishes only what is missing"
ROLES = "check the Azure role assignments of the workflow's identity"


class VersionPath(Protocol):
    """Where an image version is: enough to name it in an ``az`` command."""

    @property
    def resource_group(self) -> str: ...

    @property
    def gallery(self) -> str: ...

    @property
    def definition_name(self) -> str: ...

    @property
    def version(self) -> str: ...


def delete_version_command(v: VersionPath) -> str:
    return (
        f"az sig image-version delete -g {v.resource_group} -r {v.gallery}"
        f" -i {v.definition_name} -e {v.version}"
    )


def failed_create(v: VersionPath) -> str:
    """A create whose long-running operation ended Failed."""
    return f"fix the cause, delete the failed version ({delete_version_command(v)}) and re-run"


def existing_failed(v: VersionPath) -> str:
    """A version found in state Failed before anything was sent."""
    return f"delete it ({delete_version_command(v)}) and re-run"


def in_progress() -> str:
    return "wait for the operation in progress to finish, then re-run"


def still_running() -> str:
    return "re-run later: the next run waits for the version and reports it"


def other_source() -> str:
    return "publish under the next index (a new version) or delete that version first"


def arm_error(status: int | None) -> str:
    """A Resource Manager call that failed: a role is missing, or it was transient."""
    if status in (401, 403):
        return ROLES
    return "re-run; the run resumes where it stopped"


def missing_definitions() -> str:
    return "create them (az sig image-definition create) or set create-definitions to true"


def definition_mismatch() -> str:
    return (
        "fix the definition's generation or architecture in the naming file, or publish to "
        "a definition that has them (Azure cannot change them on an existing definition)"
    )


def missing_gallery() -> str:
    return "create the gallery, or fix the gallery/resource-group inputs"


def storage_error() -> str:
    return (
        "check the storage account, its network rules and the identity's Storage Blob Data "
        "Contributor role (or the connection string); a re-run resumes the upload"
    )
