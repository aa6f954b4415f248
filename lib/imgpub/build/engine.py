"""build-ami's apply: make the AMI (upload + register, or Packer), share it, boot-test it.

Each step starts only when the one before succeeded, and each is idempotent: the plan
holds only what is missing, an AMI name already taken by this image counts as ``existed``
(EC2 refuses duplicates), sharing adds only missing permissions, and a test that passed
before (the AMI's ``imgpub:test`` tag) is not repeated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from imgpub.aws import ec2_builds, ec2_images
from imgpub.aws.errors import error_code, error_text, remedy_for
from imgpub.aws.image_sharing import ImageSharer
from imgpub.aws.session import ClientFactory
from imgpub.build import packer
from imgpub.build.boot import BootTest, record_result, run_boot_test, write_package_list
from imgpub.build.naming import TAG_IDENTITY
from imgpub.build.packer_output import declared_variables
from imgpub.build.plan import BuildPlan
from imgpub.build.result import BuildResult
from imgpub.build.upload import SnapshotUploader, UploadOutcome
from imgpub.cancel import Cancellation
from imgpub.results import TargetState

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

REGISTER_PERMISSIONS = ("ec2:RegisterImage", "ec2:CreateTags", "ec2:DescribeImages")
AVAILABLE_POLL = 3.0


class BuildEngine:
    def __init__(
        self,
        factory: ClientFactory,
        environ: Mapping[str, str],
        *,
        say: Callable[[str], None],
        on_upload: Callable[[UploadOutcome], None],
    ) -> None:
        self.factory = factory
        self.environ = environ
        self.say = say
        self.on_upload = on_upload

    def apply(self, plan: BuildPlan, cancel: Cancellation) -> BuildResult:
        deadline = plan.started + plan.inputs.timeout.total_seconds()
        if plan.decision.mode == "existed":
            result = BuildResult(
                plan, "existed", plan.existing_ami or "", plan.ami_name, plan.architecture,
                plan.existing_snapshot, how="found: an AMI of this name from this image",
            )
        elif plan.decision.mode == "packer":
            result = self._packer(plan, cancel)
        else:
            result = self._upload_and_register(plan, cancel, deadline)
        if result.ami_state not in ("created", "existed"):
            return result
        if plan.inputs.share.any:
            result = self._share(plan, result)
            if result.ami_state == "failed":
                return result
        if plan.test.enabled and not plan.test.already_passed:
            result = self._test(plan, result, cancel)
        return result

    # -- make the AMI ------------------------------------------------------------------------

    def _upload_and_register(
        self, plan: BuildPlan, cancel: Cancellation, deadline: float
    ) -> BuildResult:
        upload = SnapshotUploader(
            self.factory, plan, cancel=cancel, deadline=deadline, on_progress=self.on_upload
        ).run()
        base = BuildResult(plan, "failed", "", plan.ami_name, plan.architecture, upload.snapshot_id)
        base.upload = upload
        self.say(f"upload: {upload.state}: {upload.note or upload.error}")
        if upload.state == "cancelled":
            return replace(base, ami_state="cancelled", error=upload.error, remedy=upload.remedy)
        if upload.state == "failed":
            return replace(base, error=upload.error, remedy=upload.remedy)
        if cancel.is_set:
            return replace(
                base, ami_state="cancelled", error=cancel.reason,
                remedy="re-run: the completed snapshot is registered",
            )
        assert plan.register is not None
        request = dict(plan.register)
        mapping = dict(request["BlockDeviceMappings"][0])
        mapping["Ebs"] = dict(mapping["Ebs"], SnapshotId=upload.snapshot_id)
        request["BlockDeviceMappings"] = [mapping]
        ec2 = self.factory.ec2(plan.region)
        try:
            image_id = ec2_builds.register_image(ec2, request)
            how = f"{upload.note or 'snapshot ' + upload.snapshot_id}; registered"
            state: TargetState = "created"
        except ClientError as exc:
            found = self._same_image(plan) if error_code(exc) == "InvalidAMIName.Duplicate" else None
            if found is None:
                return replace(
                    base, error=error_text(exc),
                    remedy=remedy_for(error_text(exc), permissions=REGISTER_PERMISSIONS, or_else=""),
                )
            image_id, how = found, "found: registered by a concurrent run"
            state = "existed"
        self.say(f"AMI {image_id} {state} from snapshot {upload.snapshot_id}")
        waited = self._wait_available(ec2, image_id, cancel, deadline)
        if waited:
            return replace(base, ami_id=image_id, ami_state="failed", error=waited,
                           remedy="re-run: the AMI is found and the rest finished")
        return replace(base, ami_state=state, ami_id=image_id, how=how)

    def _same_image(self, plan: BuildPlan) -> str | None:
        assert plan.image is not None
        found = ec2_images.images_by_name(self.factory.ec2(plan.region), plan.region, [plan.ami_name])
        if found and found[0].tags.get(TAG_IDENTITY) == plan.image.identity:
            return found[0].image_id
        return None

    def _wait_available(
        self, ec2: EC2Client, image_id: str, cancel: Cancellation, deadline: float
    ) -> str:
        """'' once the AMI is available, else why not."""
        while True:
            state = ec2_builds.image_state(ec2, image_id)
            if state == "available":
                return ""
            if state in ("failed", "invalid", "missing", "error"):
                return f"AMI {image_id} is {state}"
            if time.monotonic() >= deadline or cancel.sleep(AVAILABLE_POLL):
                return f"AMI {image_id} still {state} at the deadline or cancel"

    def _packer(self, plan: BuildPlan, cancel: Cancellation) -> BuildResult:
        spec = plan.inputs.packer
        assert spec is not None and plan.base_image is not None
        declared = declared_variables(spec.template)
        env = packer.packer_env(self.environ, declared)
        ours = {"region": plan.region, "source_ami": plan.base_image.image_id, "ami_name": plan.ami_name}
        run = packer.build(
            plan.packer_command[0],
            spec,
            packer.variable_args(spec, ours, declared),
            env,
            cancel=cancel,
            on_text=self.say,
        )
        base = BuildResult(plan, "failed", ami_name=plan.ami_name, architecture=plan.architecture)
        base.packer_tail = run.tail
        ami = run.amis.get(plan.region, "")
        if run.cancelled:
            return replace(base, ami_state="cancelled", error="Packer was cancelled",
                           remedy="re-run the build (Packer cleaned up what it had made)")
        if run.returncode != 0 or not ami:
            why = "; ".join(run.errors[-3:]) or f"packer exited {run.returncode} with no AMI"
            keep = f" The full log is at {spec.log_path}." if spec.log_path else ""
            return replace(base, error=f"Packer build failed: {why}",
                           remedy="read the last lines below and fix the template or variables." + keep)
        found = ec2_images.images_by_id(self.factory.ec2(plan.region), plan.region, [ami])
        record = found[0] if found else None
        return replace(
            base,
            ami_state="created",
            ami_id=ami,
            ami_name=record.name if record else plan.ami_name,
            architecture=record.architecture if record else plan.architecture,
            snapshot_id=record.snapshot_ids[0] if record and record.snapshot_ids else "",
            how=f"built by Packer from {plan.base_image.image_id}",
        )

    # -- share and test ----------------------------------------------------------------------

    def _share(self, plan: BuildPlan, result: BuildResult) -> BuildResult:
        ec2 = self.factory.ec2(plan.region)
        try:
            found = ec2_images.images_by_id(ec2, plan.region, [result.ami_id])
            outcome = ImageSharer(ec2, plan.inputs.share).share(
                found[0], fresh=result.ami_state == "created"
            )
        except (ClientError, BotoCoreError, IndexError) as exc:
            text = error_text(exc)
            permissions = ("ec2:ModifyImageAttribute", "ec2:ModifySnapshotAttribute")
            return replace(result, ami_state="failed", error=f"sharing failed: {text}",
                           remedy=remedy_for(text, permissions=permissions, or_else=""))
        audience = plan.inputs.share.describe()
        shared = tuple(audience.split(", "))
        if not outcome.ok:
            return replace(result, ami_state="failed", shared=shared, share_problems=outcome.problems,
                           error="; ".join(outcome.problems), remedy="re-run to repair the share")
        self.say(f"shared {result.ami_id} with {audience}")
        return replace(result, shared=shared)

    def _test(self, plan: BuildPlan, result: BuildResult, cancel: Cancellation) -> BuildResult:
        spec = plan.inputs.test
        ec2 = self.factory.ec2(plan.region)
        outcome = run_boot_test(
            ec2,
            BootTest(
                image_id=result.ami_id,
                architecture=result.architecture,
                instance_type=plan.test.instance_type,
                expected_release=plan.test.expected_release,
                commands=spec.commands,
                subnet_id=spec.subnet_id,
                security_groups=spec.security_groups,
                timeout_seconds=spec.timeout.total_seconds(),
            ),
            cancel=cancel,
            on_text=self.say,
        )
        write_package_list(spec.package_list, outcome)
        try:
            record_result(ec2, result.ami_id, result.snapshot_id, outcome)
        except ClientError as exc:
            result.notes.append(f"could not tag the test result: {error_text(exc)}")
        updated = replace(result, test=outcome)
        if outcome.result == "passed":
            return updated
        if outcome.result == "cancelled":
            return updated
        return replace(
            updated,
            ami_state="failed",
            error=f"boot test {outcome.result}: {outcome.detail or outcome.error}",
            remedy=outcome.remedy,
        )
