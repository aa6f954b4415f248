"""mirror-ami's engine stopped mid-apply: nothing new starts, what started is named.

The cancel is set by the SDK's own call hook as the first CopyImage is sent, so the test
does not race the engine: that copy is in flight when the cancel comes, every other copy
and share is still to start.
"""

from __future__ import annotations

from typing import Any

import pytest

from imgpub.aws.image_sharing import ShareAudience
from imgpub.aws.session import ClientFactory
from imgpub.cancel import Cancellation
from imgpub.errors import CloudError
from imgpub.mirror.engine import MirrorEngine
from imgpub.mirror.model import MirrorInputs, RegionSelection
from imgpub.mirror.result import CopyState
from imgpub.mirror.waiting import PollPolicy

from .conftest import SOURCE_REGION, Aws

REGIONS = ("ap-south-1", "eu-central-1", "eu-west-1")
FAST = PollPolicy(leader_first=0.2, leader_min=0.2, follower_first=1.0, wake_gap=0.0)


def public_inputs(sources: tuple[str, ...], max_concurrency: int = 4) -> MirrorInputs:
    return MirrorInputs(
        source_amis=sources,
        source_region=SOURCE_REGION,
        regions=RegionSelection(everything=False, explicit=REGIONS),
        share=ShareAudience(public=True),
        max_concurrency=max_concurrency,
    )


def cancelling_factory(aws: Aws, cancel: Cancellation, on: str) -> ClientFactory:
    def observe(service: str, operation: str, region: str) -> None:
        aws.counter.observe(service, operation, region)
        if operation == on:
            cancel.cancel("cancelled by the test")

    return ClientFactory(environ=aws.env, max_attempts=3, observer=observe)


def test_a_cancel_starts_no_new_copy_and_names_the_one_in_flight(
    aws: Aws, ec2_control: Any
) -> None:
    sources = (
        aws.make_source("AlmaLinux OS 9.7.20260518 x86_64", "x86_64"),
        aws.make_source("AlmaLinux OS 9.7.20260518 aarch64", "aarch64"),
    )
    ec2_control.configure(copy_pending_seconds=2)
    cancel = Cancellation()
    engine = MirrorEngine(
        cancelling_factory(aws, cancel, on="CopyImage"),
        poll_policy=FAST,
        verify_retry_seconds=0.1,
    )
    plan = engine.prepare(public_inputs(sources))
    ec2_control.reset_stats()
    result = engine.apply(plan, cancel=cancel)

    assert result.cancelled == "cancelled by the test"
    stats = ec2_control.stats()
    assert stats.count("CopyImage") == 1, "no copy starts after the cancel"
    copies = [o for o in result.outcomes if not o.is_source]
    assert len(copies) == 6 and {o.state for o in copies} == {CopyState.CANCELLED}
    started = [o for o in copies if o.image_id]
    assert len(started) == 1 and started[0].changes == ("copy",)
    assert "the re-run adopts it" in started[0].error
    image = aws.ec2(started[0].region).describe_images(ImageIds=[started[0].image_id])
    assert image["Images"][0]["Name"] == started[0].name
    for region in REGIONS:  # nothing of the run's copies was shared
        assert stats.count("ModifyImageAttribute", region) == 0
        assert stats.count("ModifySnapshotAttribute", region) == 0
    assert all(set(regions) <= {SOURCE_REGION} for regions in result.ami_map().values())

    # The re-run adopts the copy that was started and makes only the five others.
    ec2_control.reset_stats()
    again = MirrorEngine(aws.factory(), poll_policy=FAST, verify_retry_seconds=0.1)
    second = again.apply(again.prepare(public_inputs(sources)))
    assert not second.failed and not second.not_finished
    assert ec2_control.stats().count("CopyImage") == 5
    adopted = {(o.source_ami, o.region): o for o in second.outcomes}
    first = adopted[(started[0].source_ami, started[0].region)]
    assert first.image_id == started[0].image_id and first.state is CopyState.EXISTED
    for region in REGIONS:
        assert len(aws.ec2(region).describe_images(Owners=["self"])["Images"]) == 2


def test_a_cancel_during_discovery_stops_before_any_change(aws: Aws, ec2_control: Any) -> None:
    """One region at a time: the cancel comes while the first is read, the rest never are."""
    sources = (aws.make_source("AlmaLinux OS 9.7.20260518 x86_64", "x86_64"),)
    cancel = Cancellation()
    engine = MirrorEngine(cancelling_factory(aws, cancel, on="GetImageBlockPublicAccessState"))
    ec2_control.reset_stats()
    with pytest.raises(CloudError, match="discovery stopped"):
        engine.prepare(public_inputs(sources, max_concurrency=1), cancel=cancel)
    assert ec2_control.stats().count("GetImageBlockPublicAccessState") == 1
    assert all(a.startswith(("Describe", "Get")) for (a, _r) in ec2_control.stats().calls)
