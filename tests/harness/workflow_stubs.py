"""Stand-ins for exactly the third-party actions imgpub's workflows use, and for ours.

* ``actions/upload-artifact`` / ``actions/download-artifact`` (v4) over an
  :class:`ArtifactStore`: one folder per artifact, a second upload of a name in the same run
  refused (409, as the service does), ``name`` extracted into ``path`` itself, ``pattern``
  (or nothing) one folder per artifact under ``path``, a missing ``name`` a failed step;
* ``aws-actions/configure-aws-credentials``: the sandbox's credentials exported the way the
  action exports them (and masked), but only in a job that may mint an OIDC token
  (``id-token: write``), since ``role-to-assume`` without one fails on GitHub too;
* ``azure/login``: checks what an OIDC login needs (the IDs, ``id-token: write``);
* ``actions/checkout``: nothing (the workflows call imgpub's actions by reference);
* ``<owner>/imgpub/actions/<stage>@<sha>``: the action in this checkout, run through the
  harness in the same fake runner (same ``RUNNER_TEMP``), its log and masks passed up.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .runner import ActionResult, run_action
from .stubs import StubCall

_RUNNER_PREFIXES = ("GITHUB_", "INPUT_", "RUNNER_", "ACTIONS_")


class ArtifactStore:
    """The artifacts of one workflow run, kept in a folder per name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def upload(self, call: StubCall) -> None:
        name = call.with_.get("name") or "artifact"
        if (self.root / name).exists() and call.with_.get("overwrite", "false") != "true":
            call.exit_code = 1
            call.stdout = (
                "::error::Failed to CreateArtifact: Received non-retryable error: (409) "
                f"Conflict: an artifact with this name already exists on the workflow run ({name})"
            )
            return
        files = [Path(p.strip()) for p in call.with_.get("path", "").splitlines() if p.strip()]
        present = [p for p in files if p.exists()]
        if not present:
            mode = call.with_.get("if-no-files-found", "warn")
            message = f"No files were found with the provided path: {call.with_.get('path')}."
            if mode == "error":
                call.exit_code, call.stdout = (
                    1,
                    f"::error::{message} No artifacts will be uploaded.",
                )
            elif mode == "warn":
                call.stdout = f"::warning::{message} No artifacts will be uploaded."
            return
        target = self.root / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for path in present:
            if path.is_dir():
                shutil.copytree(path, target, dirs_exist_ok=True)
            else:
                shutil.copy2(path, target / path.name)
        call.outputs["artifact-id"] = str(self.names().index(name) + 1)
        call.stdout = f"Artifact {name} has been successfully uploaded!"

    def download(self, call: StubCall) -> None:
        dest = Path(call.with_.get("path") or call.env["GITHUB_WORKSPACE"])
        name, pattern = call.with_.get("name", ""), call.with_.get("pattern", "")
        if name:
            if not (self.root / name).is_dir():
                call.exit_code = 1
                call.stdout = (
                    f"::error::Unable to download artifact(s): Artifact not found for name: {name}"
                )
                return
            shutil.copytree(self.root / name, dest, dirs_exist_ok=True)
        else:
            merge = call.with_.get("merge-multiple", "false") == "true"
            for found in self.names():
                if not pattern or fnmatch.fnmatchcase(found, pattern):
                    shutil.copytree(
                        self.root / found, dest if merge else dest / found, dirs_exist_ok=True
                    )
        call.outputs["download-path"] = str(dest)


def configure_aws_credentials(credentials: Mapping[str, str]) -> Callable[[StubCall], None]:
    """aws-actions/configure-aws-credentials, handing out the sandbox's credentials."""

    def stub(call: StubCall) -> None:
        region = call.with_.get("aws-region", "")
        if not region:
            call.exit_code, call.stdout = 1, "::error::Input required and not supplied: aws-region"
            return
        if call.with_.get("role-to-assume") and "ACTIONS_ID_TOKEN_REQUEST_URL" not in call.env:
            call.exit_code = 1
            call.stdout = (
                "::error::It looks like you might be trying to authenticate with OIDC. Did you "
                "mean to set the `id-token` permission?"
            )
            return
        secret_values = [
            credentials["AWS_SECRET_ACCESS_KEY"],
            credentials.get("AWS_SESSION_TOKEN", ""),
        ]
        call.stdout = "\n".join(f"::add-mask::{v}" for v in secret_values if v)
        call.exported_env.update(credentials)
        call.exported_env.update({"AWS_REGION": region, "AWS_DEFAULT_REGION": region})
        call.outputs["aws-account-id"] = "123456789012"

    return stub


def azure_login(call: StubCall) -> None:
    """azure/login with OIDC: the three IDs and a job that may mint a token, else it fails.

    The sandbox's Azure needs no login (its fake ARM and Azurite take the sandbox's
    credentials), so nothing is exported: a stage must not depend on what login leaves.
    """
    missing = [k for k in ("client-id", "tenant-id", "subscription-id") if not call.with_.get(k)]
    if missing:
        call.exit_code = 1
        call.stdout = (
            f"::error::Login failed: {', '.join(missing)} not supplied (OIDC login needs all three)"
        )
    elif "ACTIONS_ID_TOKEN_REQUEST_URL" not in call.env:
        call.exit_code = 1
        call.stdout = (
            "::error::Failed to get federated token: is id-token: write granted to the job?"
        )
    else:
        call.stdout = "Login successful."


def checkout(call: StubCall) -> None:
    """actions/checkout: the workflows under test need nothing from the caller's repository."""


@dataclass
class OurActions:
    """Runs ``<owner>/imgpub/actions/<stage>@<ref>`` from this checkout, recording each run."""

    actions_dir: Path
    runs: list[tuple[str, ActionResult]] = field(default_factory=list)

    def stub(self, stage: str) -> Callable[[StubCall], None]:
        def run(call: StubCall) -> None:
            # The job's own variables, without the runner's: run_action sets those afresh,
            # in the same fake runner (RUNNER_TEMP's parent is the job's root).
            env = {
                k: v
                for k, v in call.env.items()
                if not k.startswith(_RUNNER_PREFIXES) and k != "CI" and os.environ.get(k) != v
            }
            result = run_action(
                self.actions_dir / stage,
                inputs=call.with_,
                env=env,
                root=Path(call.env["RUNNER_TEMP"]).parent,
                tool_cache=call.env["RUNNER_TOOL_CACHE"],
            )
            self.runs.append((stage, result))
            call.outputs.update(result.outputs)
            call.exported_env.update(result.env)
            call.path.extend(result.path)
            call.stdout = result.stdout
            call.exit_code = result.exit_code

        return run
