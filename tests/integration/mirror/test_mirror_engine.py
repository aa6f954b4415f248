"""mirror-ami's engine against the local EC2 (moto + imgpub's extensions)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from imgpub.aws.image_sharing import ShareAudience
from imgpub.errors import InputError
from imgpub.mirror.engine import MirrorEngine
from imgpub.mirror.model import MirrorInputs, RegionSelection
from imgpub.mirror.result import CopyOutcome, CopyState, MirrorResult, ParameterState
from imgpub.mirror.ssm_names import parse_template
from imgpub.mirror.waiting import PollPolicy

from .conftest import SOURCE_REGION, Aws

REGIONS = ("ap-south-1", "eu-central-1", "eu-west-1")
ACCOUNT = "111122223333"
FAST = PollPolicy(
    leader_first=0.2, leader_min=0.2, leader_ratio=0.2, follower_first=5.0, wake_gap=0.0
)


def inputs(sources: tuple[str, ...], **overrides: object) -> MirrorInputs:
    base: dict[str, object] = {
        "source_amis": sources,
        "source_region": SOURCE_REGION,
        "regions": RegionSelection(everything=False, explicit=REGIONS),
        "share": ShareAudience(accounts=(ACCOUNT,)),
        "tags": (("Team", "cloud"),),
        "ssm_templates": (
            parse_template("/golden-image/{arch}/latest"),
            parse_template("/golden-image/{arch}/{version}"),
        ),
        "max_concurrency": 4,
    }
    base.update(overrides)
    return MirrorInputs(**base)  # type: ignore[arg-type]


class Recorder:
    def __init__(self) -> None:
        self.phases: list[str] = []
        self.notices: list[str] = []
        self.done: list[tuple[int, int]] = []

    def on_phase(self, phase: str) -> None:
        self.phases.append(phase)

    def on_notice(self, message: str) -> None:
        self.notices.append(message)

    def on_target_done(self, outcome: CopyOutcome, done: int, total: int) -> None:
        self.done.append((done, total))

    def on_parameter(self, outcome: object) -> None:
        pass


def run(aws: Aws, given: MirrorInputs, listener: Recorder | None = None) -> MirrorResult:
    engine = MirrorEngine(
        aws.factory(), listener=listener, poll_policy=FAST, verify_retry_seconds=0.1
    )
    plan = engine.prepare(given)
    return engine.apply(plan)


def states(result: MirrorResult) -> Counter[str]:
    return Counter(t.state.value for t in result.outcomes)


def test_copies_tags_shares_and_publishes_parameters(aws: Aws) -> None:
    x86 = aws.make_source("AlmaLinux OS 9.7.20260518 x86_64", "x86_64")
    arm = aws.make_source("AlmaLinux OS 9.7.20260518 aarch64", "aarch64")
    listener = Recorder()
    result = run(aws, inputs((x86, arm)), listener)

    assert not result.failed, result.failed
    assert states(result) == {"copied": 6, "existed": 2}
    assert listener.done[-1] == (8, 8)
    assert set(result.ami_map()) == {x86, arm}
    assert set(result.ami_map()[x86]) == {SOURCE_REGION, *REGIONS}
    for outcome in result.outcomes:
        ec2 = aws.ec2(outcome.region)
        image = ec2.describe_images(ImageIds=[outcome.image_id])["Images"][0]
        perms = ec2.describe_image_attribute(ImageId=outcome.image_id, Attribute="launchPermission")
        assert {"UserId": ACCOUNT} in perms["LaunchPermissions"]
        snaps = [b["Ebs"]["SnapshotId"] for b in image["BlockDeviceMappings"] if "Ebs" in b]
        assert snaps
        for snap in snaps:
            attr = ec2.describe_snapshot_attribute(
                SnapshotId=snap, Attribute="createVolumePermission"
            )
            assert {"UserId": ACCOUNT} in attr["CreateVolumePermissions"]
        if outcome.is_source:
            continue
        tags = {t["Key"]: t["Value"] for t in image["Tags"]}
        assert image["Name"] == outcome.name
        assert image["Description"].startswith("Official AlmaLinux")
        assert tags["SourceAMI"] == outcome.source_ami
        assert tags["SourceRegion"] == SOURCE_REGION
        assert tags["ManagedBy"] == "imgpub"
        assert tags["Team"] == "cloud"
        assert tags["Version"] == "9.7.20260518"
        datetime.strptime(tags["CopiedAt"], "%Y-%m-%dT%H:%M:%SZ")
        snap_tags = ec2.describe_snapshots(SnapshotIds=snaps)["Snapshots"][0].get("Tags", [])
        assert {"Key": "SourceAMI", "Value": outcome.source_ami} in snap_tags

    # SSM: one latest and one per-version name per arch in every region, read back.
    assert {p.state for p in result.parameters} == {ParameterState.CREATED}
    assert len(result.parameters) == 2 * 2 * 4
    for region in (SOURCE_REGION, *REGIONS):
        got = aws.ssm(region).get_parameter(Name="/golden-image/aarch64/latest")["Parameter"]
        assert got["Value"] == result.ami_map()[arm][region]
        assert got["DataType"] == "aws:ec2:image"


def test_rerun_changes_nothing(aws: Aws) -> None:
    x86 = aws.make_source("AlmaLinux OS 9.7.20260518 x86_64", "x86_64")
    first = run(aws, inputs((x86,)))
    aws.counter.calls.clear()
    second = run(aws, inputs((x86,)))

    assert states(second) == {"existed": 4}
    assert second.ami_map() == first.ami_map()
    assert all(not t.changes for t in second.outcomes)
    writes = {
        op
        for (svc, op, _), n in aws.counter.calls.items()
        if not op.startswith(("Describe", "Get"))
    }
    assert writes == set(), writes
    assert {p.state for p in second.parameters} == {ParameterState.EXISTED}


def test_adopts_untagged_copy_left_by_a_crash(aws: Aws) -> None:
    x86 = aws.make_source("AlmaLinux OS 9.7.20260518 x86_64", "x86_64")
    # A crashed run: the copy exists in eu-west-1 but carries no tags.
    leftover = aws.ec2("eu-west-1").copy_image(
        SourceImageId=x86, SourceRegion=SOURCE_REGION, Name="AlmaLinux OS 9.7.20260518 x86_64"
    )["ImageId"]
    result = run(aws, inputs((x86,)))

    by_region = {t.region: t for t in result.outcomes}
    assert by_region["eu-west-1"].state is CopyState.EXISTED
    assert by_region["eu-west-1"].image_id == leftover
    assert "tags" in by_region["eu-west-1"].changes
    assert by_region["eu-central-1"].state is CopyState.COPIED
    names = [i["Name"] for i in aws.ec2("eu-west-1").describe_images(Owners=["self"])["Images"]]
    assert len(names) == 1


def test_unknown_and_other_partition_regions_fail_before_any_change(aws: Aws) -> None:
    x86 = aws.make_source("AlmaLinux OS 9.7.20260518 x86_64", "x86_64")
    given = inputs(
        (x86,), regions=RegionSelection(False, explicit=("eu-west-1", "cn-north-1", "xx-nowhere-9"))
    )
    engine = MirrorEngine(aws.factory())
    with pytest.raises(InputError) as err:
        engine.prepare(given)
    assert "cn-north-1" in err.value.one_line() and "xx-nowhere-9" in err.value.one_line()
    assert aws.counter.total(operation="CopyImage") == 0


def test_missing_source_is_bad_input(aws: Aws) -> None:
    with pytest.raises(InputError, match="source-ami"):
        MirrorEngine(aws.factory()).prepare(inputs(("ami-0123456789abcdef0",)))


def test_ssm_per_image_name_is_never_overwritten(aws: Aws) -> None:
    x86 = aws.make_source("AlmaLinux OS 9.7.20260518 x86_64", "x86_64")
    aws.ssm("eu-west-1").put_parameter(
        Name="/golden-image/x86_64/9.7.20260518", Value="ami-12345678", Type="String"
    )
    result = run(aws, inputs((x86,)))
    failed = result.failed_parameters
    assert [(p.region, p.name) for p in failed] == [
        ("eu-west-1", "/golden-image/x86_64/9.7.20260518")
    ]
    assert "never overwritten" in failed[0].error
    assert not result.failed  # the copies are fine
