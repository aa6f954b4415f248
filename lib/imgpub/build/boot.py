"""The boot test: one instance of the new AMI, its console read, always terminated.

The instance runs the script of :mod:`imgpub.build.console` from its user data; imgpub
reads GetConsoleOutput until the result line for this run's nonce appears, the test's
deadline passes or the job is cancelled — and then terminates the instance in every case
(a ``finally``), tagged ``imgpub:boot-test`` so that a cleanup job could find it too.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import BotoCoreError, ClientError

from imgpub.aws import ec2_builds
from imgpub.aws.errors import error_text
from imgpub.build.console import BootCheck, BootReport, read_console, user_data
from imgpub.build.naming import ARCH_TAG, TAG_TEST
from imgpub.cancel import Cancellation

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

BootResult = Literal["passed", "failed", "timed-out", "cancelled", "error"]
POLL_SECONDS = 5.0


@dataclass(frozen=True)
class BootOutcome:
    result: BootResult
    instance_id: str = ""
    detail: str = ""
    packages: tuple[str, ...] = ()
    terminated: bool = False
    error: str = ""

    @property
    def remedy(self) -> str:
        if self.result == "failed":
            return "fix the image (see the detail), build a new version; this AMI stays private"
        if self.result == "timed-out":
            return "raise test-timeout, or check the instance type and the image's boot"
        return "re-run: the AMI is reused and the test repeated"


@dataclass(frozen=True)
class BootTest:
    image_id: str
    architecture: str
    instance_type: str
    expected_release: str
    commands: tuple[str, ...]
    subnet_id: str
    security_groups: tuple[str, ...]
    timeout_seconds: float


def run_boot_test(
    ec2: EC2Client,
    test: BootTest,
    *,
    cancel: Cancellation,
    on_text: Callable[[str], None],
    poll_seconds: float = POLL_SECONDS,
) -> BootOutcome:
    nonce = uuid.uuid4().hex[:16]
    check = BootCheck(
        nonce, test.expected_release, ARCH_TAG.get(test.architecture, test.architecture), test.commands
    )
    instance_id = ""
    outcome: BootOutcome
    try:
        instance_id = ec2_builds.launch_instance(
            ec2,
            ec2_builds.LaunchRequest(
                image_id=test.image_id,
                instance_type=test.instance_type,
                user_data=user_data(check),
                client_token=hashlib.sha256(f"{test.image_id}:{nonce}".encode()).hexdigest()[:64],
                tags={"Name": f"imgpub boot test of {test.image_id}", "imgpub:boot-test": test.image_id},
                subnet_id=test.subnet_id,
                security_group_ids=test.security_groups,
            ),
        )
        on_text(f"boot test: {instance_id} ({test.instance_type}) launched from {test.image_id}")
        outcome = _watch(ec2, instance_id, nonce, test.timeout_seconds, cancel, poll_seconds)
    except (ClientError, BotoCoreError) as exc:
        outcome = BootOutcome("error", instance_id, error=error_text(exc))
    finally:
        terminated = _terminate(ec2, instance_id) if instance_id else False
    if instance_id:
        on_text(f"boot test: {instance_id} " + ("terminated" if terminated else "NOT terminated"))
    return BootOutcome(
        outcome.result, instance_id, outcome.detail, outcome.packages, terminated, outcome.error
    )


def _watch(
    ec2: EC2Client,
    instance_id: str,
    nonce: str,
    timeout: float,
    cancel: Cancellation,
    poll_seconds: float,
) -> BootOutcome:
    deadline = time.monotonic() + timeout
    while True:
        report: BootReport | None = read_console(ec2_builds.console_output(ec2, instance_id), nonce)
        if report is not None:
            result: BootResult = "passed" if report.passed else "failed"
            return BootOutcome(result, instance_id, report.detail, report.packages)
        left = deadline - time.monotonic()
        if left <= 0:
            return BootOutcome(
                "timed-out", instance_id, f"no result on the console after {timeout:.0f} s"
            )
        if cancel.sleep(min(poll_seconds, left)):
            return BootOutcome("cancelled", instance_id, cancel.reason)


def _terminate(ec2: EC2Client, instance_id: str) -> bool:
    """TerminateInstances, tried twice; True once EC2 accepted it."""
    for _ in range(2):
        try:
            ec2_builds.terminate_instance(ec2, instance_id)
            return True
        except (ClientError, BotoCoreError):
            time.sleep(1)
    return False


def record_result(ec2: EC2Client, image_id: str, snapshot_id: str, outcome: BootOutcome) -> None:
    """Tag the AMI (and snapshot) with the verdict: ``imgpub:test=passed|failed``."""
    if outcome.result in ("passed", "failed"):
        resources = [image_id] + ([snapshot_id] if snapshot_id else [])
        ec2_builds.create_tags(ec2, resources, {TAG_TEST: outcome.result})


def write_package_list(path: Path | None, outcome: BootOutcome) -> None:
    if path is not None and outcome.packages:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(outcome.packages) + "\n", "utf-8")
