"""mirror-ami under the local EC2's faults: block public access, failing regions,
throttling, slow copies; and its EC2 call budget.

These need imgpub's EC2 extensions (the ``ec2_control`` fixture of tests/conftest.py).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from imgpub.aws.image_sharing import ShareAudience
from imgpub.errors import InputError
from imgpub.mirror.engine import MirrorEngine
from imgpub.mirror.model import MirrorInputs, RegionSelection
from imgpub.mirror.result import CopyState, MirrorResult
from imgpub.mirror.waiting import PollPolicy

from .conftest import SOURCE_REGION, Aws

REGIONS = ("ap-south-1", "eu-central-1", "eu-west-1")
FAST = PollPolicy(
    leader_first=0.2, leader_min=0.2, leader_ratio=0.2, follower_first=1.0, wake_gap=0.0
)


def public_inputs(sources: tuple[str, ...], **overrides: object) -> MirrorInputs:
    base: dict[str, object] = {
        "source_amis": sources,
        "source_region": SOURCE_REGION,
        "regions": RegionSelection(everything=False, explicit=REGIONS),
        "share": ShareAudience(public=True),
        "max_concurrency": 4,
    }
    base.update(overrides)
    return MirrorInputs(**base)  # type: ignore[arg-type]


def run(
    aws: Aws, given: MirrorInputs, attempts: int = 3, policy: PollPolicy = FAST
) -> MirrorResult:
    factory = aws.factory()
    factory_attempts = (
        factory
        if attempts == 3
        else type(factory)(environ=aws.env, max_attempts=attempts, observer=aws.counter.observe)
    )
    engine = MirrorEngine(factory_attempts, poll_policy=policy, verify_retry_seconds=0.1)
    return engine.apply(engine.prepare(given))


def two_sources(aws: Aws) -> tuple[str, str]:
    return (
        aws.make_source("AlmaLinux OS 9.7.20260518 x86_64", "x86_64"),
        aws.make_source("AlmaLinux OS 9.7.20260518 aarch64", "aarch64"),
    )


def test_blocked_public_access_fails_before_any_change(aws: Aws, ec2_control: Any) -> None:
    ec2_control.configure(blocked_regions=["eu-west-1", "ap-south-1"])
    sources = two_sources(aws)
    with pytest.raises(InputError) as err:
        run(aws, public_inputs(sources))
    line = err.value.one_line()
    assert err.value.name == "allow-unblock-public-access"
    assert "ap-south-1, eu-west-1" in line
    writes = [
        op for (_, op, _), n in aws.counter.calls.items() if not op.startswith(("Describe", "Get"))
    ]
    assert writes == []
    assert ec2_control.stats().count("CopyImage") == 0


def test_allowed_unblock_turns_it_off_says_so_and_publishes(aws: Aws, ec2_control: Any) -> None:
    ec2_control.configure(blocked_regions=["eu-west-1"])
    sources = two_sources(aws)
    result = run(aws, public_inputs(sources, allow_unblock_public_access=True))
    assert not result.failed, result.failed
    assert result.unblocked_regions == ("eu-west-1",)
    assert any("eu-west-1" in n and "block public access" in n for n in result.notices)
    assert all(t.public for t in result.outcomes)
    for t in result.outcomes:
        ec2 = aws.ec2(t.region)
        for snap in t.snapshot_ids:
            perms = ec2.describe_snapshot_attribute(
                SnapshotId=snap, Attribute="createVolumePermission"
            )
            assert {"Group": "all"} in perms["CreateVolumePermissions"]


def test_failing_region_is_partial_and_rerun_repairs_only_it(aws: Aws, ec2_control: Any) -> None:
    sources = two_sources(aws)
    ec2_control.configure(failing_regions={"eu-central-1": "UnauthorizedOperation"})
    first = run(aws, public_inputs(sources))
    failed = {(t.source_ami, t.region) for t in first.failed}
    assert failed == {(s, "eu-central-1") for s in sources}
    assert all("UnauthorizedOperation" in t.error for t in first.failed)
    assert Counter(t.state.value for t in first.succeeded) == {"copied": 4, "existed": 2}

    ec2_control.configure(failing_regions={})
    ec2_control.reset_stats()
    second = run(aws, public_inputs(sources))
    assert not second.failed
    copied = {(t.source_ami, t.region) for t in second.outcomes if t.state is CopyState.COPIED}
    assert copied == failed
    stats = ec2_control.stats()
    assert stats.count("CopyImage") == 2 and stats.count("CopyImage", "eu-central-1") == 2


@pytest.mark.slow
def test_throttling_reaches_the_same_end_state(aws: Aws, ec2_control: Any) -> None:
    sources = two_sources(aws)
    ec2_control.configure(throttle_rate=0.3, seed=7)
    result = run(aws, public_inputs(sources), attempts=12)
    assert not result.failed, result.failed
    assert ec2_control.stats().throttled > 0
    ec2_control.configure(throttle_rate=0.0)
    assert all(t.public for t in result.outcomes)
    for region in REGIONS:
        images = aws.ec2(region).describe_images(Owners=["self"])["Images"]
        assert len(images) == 2  # no duplicates despite retried CopyImage


def test_pending_copies_are_waited_for_on_one_canary(aws: Aws, ec2_control: Any) -> None:
    sources = two_sources(aws)
    ec2_control.configure(copy_pending_seconds=1.5)
    patient = PollPolicy(leader_first=0.5, follower_first=60.0)  # no fallback polls
    result = run(aws, public_inputs(sources), policy=patient)
    assert not result.failed, result.failed
    assert all(t.public for t in result.outcomes)
    stats = ec2_control.stats()
    # Only the canary region looks at progress; nobody polls DescribeImages while waiting:
    # one for the sources, one discovery and one read-back per copy region, one read-back
    # in the source region.
    assert stats.count("DescribeSnapshots") - (len(REGIONS) + 1) <= 2  # minus the read-backs
    assert stats.count("DescribeImages") == 1 + 2 * len(REGIONS) + 1


def test_share_refused_while_pending_goes_back_to_waiting(aws: Aws, ec2_control: Any) -> None:
    """A region tried too early (its copy still pending) waits again and then finishes."""
    sources = two_sources(aws)
    ec2_control.configure(copy_pending_seconds=1.5)
    too_early = PollPolicy(
        leader_first=0.2,
        leader_min=0.2,
        follower_first=0.3,
        wake_gap=0.0,
        eta_margin=-1.0,  # try at once, whatever the progress says
        eta_margin_min=-100.0,
    )
    result = run(aws, public_inputs(sources), policy=too_early)
    assert not result.failed, result.failed
    assert all(t.public for t in result.outcomes)
    pairs = len(result.outcomes)
    assert ec2_control.stats().count("ModifyImageAttribute") > pairs  # some were refused
    for region in REGIONS:
        assert len(aws.ec2(region).describe_images(Owners=["self"])["Images"]) == 2


def test_deadline_fails_pending_copies_and_rerun_resumes(aws: Aws, ec2_control: Any) -> None:
    from datetime import timedelta

    sources = two_sources(aws)
    ec2_control.configure(copy_pending_seconds=2.5)
    first = run(aws, public_inputs(sources, timeout=timedelta(seconds=1)))
    assert {t.region for t in first.failed} == set(REGIONS)
    assert all("still pending at the deadline" in t.error for t in first.failed)
    ec2_control.reset_stats()
    second = run(aws, public_inputs(sources))
    assert not second.failed
    assert ec2_control.stats().count("CopyImage") == 0  # resumed the pending copies


def test_ec2_call_budget_per_image_and_region(aws: Aws, ec2_control: Any) -> None:
    """Two sources, public, three regions and the source region: every EC2 call counted."""
    sources = two_sources(aws)
    ec2_control.reset_stats()
    patient = PollPolicy(leader_first=1.0, follower_first=60.0)  # all started; no fallback
    result = run(aws, public_inputs(sources), policy=patient)
    assert not result.failed
    regions = len(REGIONS) + 1
    stats = ec2_control.stats()
    by_action = Counter({a: stats.count(a) for a, _ in stats.calls})
    assert by_action == {
        "DescribeRegions": 1,
        "DescribeImages": 1 + len(REGIONS) + regions,  # sources, discovery, read-backs
        "GetImageBlockPublicAccessState": regions,
        "CopyImage": 2 * len(REGIONS),
        "DescribeSnapshots": 1 + regions,  # the canary's progress, the read-backs
        "ModifyImageAttribute": 2 * regions,
        "ModifySnapshotAttribute": 2 * regions,
    }
    assert stats.total / len(result.outcomes) <= 5.0
    assert aws.counter.total("ec2") == stats.total

    # A re-run: per region the discovery, block-public-access check and one snapshot read.
    ec2_control.reset_stats()
    again = run(aws, public_inputs(sources), policy=patient)
    assert {t.state for t in again.outcomes} == {CopyState.EXISTED}
    assert ec2_control.stats().total == 1 + 1 + len(REGIONS) + 2 * regions


def test_deprecation_on_every_copy_and_not_repeated(aws: Aws, ec2_control: Any) -> None:
    from datetime import UTC, datetime, timedelta

    sources = two_sources(aws)
    when = (datetime.now(UTC) + timedelta(days=365)).replace(second=0, microsecond=0)
    given = public_inputs(sources, deprecate_at=when)
    first = run(aws, given)
    assert not first.failed, first.failed
    for t in first.outcomes:
        image = aws.ec2(t.region).describe_images(ImageIds=[t.image_id])["Images"][0]
        if t.is_source:
            assert "DeprecationTime" not in image
        else:
            assert image["DeprecationTime"].startswith(when.strftime("%Y-%m-%dT%H:%M"))
    ec2_control.reset_stats()
    second = run(aws, given)
    assert not second.failed
    assert ec2_control.stats().count("EnableImageDeprecation") == 0


def test_dry_run_is_read_only(aws: Aws, ec2_control: Any) -> None:
    sources = two_sources(aws)
    ec2_control.reset_stats()
    plan = MirrorEngine(aws.factory()).prepare(public_inputs(sources))
    summary = plan.summary_data()
    assert len(summary["copies"]) == 6  # type: ignore[arg-type]
    assert all(a.startswith(("Describe", "Get")) for (a, _r) in ec2_control.stats().calls)
