"""Region resolution, the planner over discovered state, and the poll schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from imgpub.aws.ec2_images import ImageRecord
from imgpub.aws.image_sharing import ShareAudience
from imgpub.errors import InputError
from imgpub.mirror.model import MirrorInputs, RegionSelection
from imgpub.mirror.plan import Action, SourceImage
from imgpub.mirror.planning import build_plan, client_token, copy_tags, missing_tags
from imgpub.mirror.regions import KnownRegion, check_kms_keys, resolve_regions
from imgpub.mirror.ssm_names import parse_template
from imgpub.mirror.waiting import CopyProgress, Next, PollPlanner, PollPolicy, after_progress

NOW = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
KNOWN = [
    KnownRegion("us-east-1", "opt-in-not-required"),
    KnownRegion("eu-west-1", "opt-in-not-required"),
    KnownRegion("af-south-1", "not-opted-in"),
    KnownRegion("ap-east-1", "opted-in"),
    KnownRegion("cn-north-1", "opt-in-not-required"),
    KnownRegion("us-gov-west-1", "opt-in-not-required"),
]


def test_all_means_enabled_in_partition_without_source() -> None:
    got = resolve_regions(RegionSelection(everything=True), "us-east-1", KNOWN)
    assert got == ("ap-east-1", "eu-west-1")


def test_exclude_and_explicit() -> None:
    sel = RegionSelection(everything=True, exclude=("ap-east-1",))
    assert resolve_regions(sel, "us-east-1", KNOWN) == ("eu-west-1",)
    sel = RegionSelection(everything=False, explicit=("eu-west-1", "us-east-1"))
    assert resolve_regions(sel, "us-east-1", KNOWN) == ("eu-west-1",)


def test_bad_regions_all_named_in_one_error() -> None:
    sel = RegionSelection(
        everything=False, explicit=("af-south-1", "cn-north-1", "xx-east-9", "eu-west-1")
    )
    with pytest.raises(InputError) as err:
        resolve_regions(sel, "us-east-1", KNOWN)
    line = err.value.one_line()
    assert "af-south-1 (not enabled" in line
    assert "cn-north-1 (unknown in partition aws)" in line
    assert "xx-east-9" in line
    assert err.value.name == "regions"


def test_china_partition_source() -> None:
    known = [*KNOWN, KnownRegion("cn-northwest-1", "opt-in-not-required")]
    assert resolve_regions(RegionSelection(True), "cn-north-1", known) == ("cn-northwest-1",)


def test_kms_keys_only_for_regions_that_get_a_copy() -> None:
    check_kms_keys({"eu-west-1": "alias/x"}, "us-east-1", ("eu-west-1", "ap-east-1"))
    check_kms_keys({}, "us-east-1", ())
    with pytest.raises(InputError) as err:
        check_kms_keys(
            {"eu-west-1": "alias/x", "ap-south-1": "alias/y", "us-east-1": "k"},
            "us-east-1",
            ("eu-west-1",),
        )
    assert err.value.name == "kms-keys"
    line = err.value.one_line()
    assert "ap-south-1, us-east-1 (the source region" in line and "eu-west-1" not in line


# -- planner -----------------------------------------------------------------------------


def record(
    image_id: str,
    region: str,
    name: str,
    tags: dict[str, str] | None = None,
    state: str = "available",
) -> ImageRecord:
    return ImageRecord(
        image_id=image_id,
        region=region,
        name=name,
        description="d",
        state=state,
        architecture="arm64",
        public=False,
        encrypted=False,
        snapshot_ids=("snap-1",),
        tags=tags or {},
    )


SRC = SourceImage(
    record(
        "ami-11111111",
        "us-east-1",
        "Alma 9 aarch64",
        {"Architecture": "aarch64", "Version": "9.7", "aws:x": "y"},
    )
)


def inputs(**kw: object) -> MirrorInputs:
    base: dict[str, object] = {
        "source_amis": ("ami-11111111",),
        "source_region": "us-east-1",
        "regions": RegionSelection(
            False, explicit=("eu-west-1", "ap-east-1", "us-west-2", "eu-north-1")
        ),
        "share": ShareAudience(public=True),
        "tags": (("Team", "cloud"),),
    }
    base.update(kw)
    return MirrorInputs(**base)  # type: ignore[arg-type]


def test_plan_copies_only_what_is_missing() -> None:
    discovered = {
        "eu-west-1": [
            record("ami-e1", "eu-west-1", "Alma 9 aarch64", {"SourceAMI": "ami-11111111"})
        ],
        "ap-east-1": [
            record("ami-a1", "ap-east-1", "Alma 9 aarch64", {"SourceAMI": "ami-99999999"})
        ],
        "us-west-2": [],
        "eu-north-1": "RequestLimitExceeded: slow down",
    }
    plan = build_plan(
        inputs(),
        [SRC],
        ("ap-east-1", "eu-north-1", "eu-west-1", "us-west-2"),
        discovered,
        {"us-east-1": "unblocked", "eu-west-1": "block-new-sharing"},
        NOW,
    )
    by_region = {t.region: t for t in plan.copy_targets}
    assert by_region["us-east-1"].action is Action.SOURCE
    assert by_region["eu-west-1"].action is Action.EXISTING
    assert by_region["eu-west-1"].image_id == "ami-e1"
    assert by_region["ap-east-1"].action is Action.BLOCKED
    assert "copy of ami-99999999" in by_region["ap-east-1"].problem
    assert by_region["eu-north-1"].action is Action.BLOCKED
    assert "discovery failed" in by_region["eu-north-1"].problem
    assert by_region["us-west-2"].action is Action.COPY
    assert by_region["us-west-2"].client_token == "imgpub-ami-11111111-us-west-2"
    assert plan.unblock_regions == ("eu-west-1",)
    assert plan.count(Action.COPY) == 1


def test_untagged_same_name_image_is_adopted_and_failed_one_is_blocked() -> None:
    found = {
        "eu-west-1": [record("ami-e1", "eu-west-1", "Alma 9 aarch64")],
        "us-west-2": [record("ami-w1", "us-west-2", "Alma 9 aarch64", state="failed")],
    }
    plan = build_plan(inputs(), [SRC], ("eu-west-1", "us-west-2"), found, {}, NOW)
    by_region = {t.region: t for t in plan.copy_targets}
    assert by_region["eu-west-1"].action is Action.EXISTING
    assert by_region["us-west-2"].action is Action.BLOCKED
    assert "deregister" in by_region["us-west-2"].problem


def test_copy_tags_and_missing_tags() -> None:
    tags = copy_tags(SRC, "us-east-1", (("Team", "cloud"),), NOW)
    assert tags == {
        "Architecture": "aarch64",
        "Version": "9.7",
        "Team": "cloud",
        "SourceAMI": "ami-11111111",
        "SourceRegion": "us-east-1",
        "ManagedBy": "imgpub",
        "CopiedAt": "2026-11-21T20:00:00Z",
    }
    have = {**tags, "CopiedAt": "2025-01-01T00:00:00Z"}
    assert missing_tags(have, tags) == {}
    assert missing_tags({}, tags) == tags


def test_too_many_tags() -> None:
    many = SourceImage(record("ami-11111111", "us-east-1", "n", {f"k{i}": "v" for i in range(47)}))
    with pytest.raises(InputError, match="tags"):
        copy_tags(many, "us-east-1", (), NOW)


def test_client_token_is_deterministic_and_short() -> None:
    token = client_token("ami-0123456789abcdef0", "ap-southeast-7")
    assert token == client_token("ami-0123456789abcdef0", "ap-southeast-7")
    assert len(token) <= 64
    assert client_token("ami-0123456789abcdef0", "eu-west-1") != token


def test_ssm_preview_in_plan_detects_collisions_before_any_change() -> None:
    src2 = SourceImage(
        record("ami-22222222", "us-east-1", "Alma 9 x86_64", {"Architecture": "x86_64"})
    )
    given = inputs(
        source_amis=("ami-11111111", "ami-22222222"),
        ssm_templates=(parse_template("/g/{region}/latest"),),
    )
    with pytest.raises(InputError, match="for both"):
        build_plan(given, [SRC, src2], ("eu-west-1",), {"eu-west-1": []}, {}, NOW)
    given = inputs(ssm_templates=(parse_template("/g/{arch}/latest"),))
    plan = build_plan(given, [SRC], ("eu-west-1",), {"eu-west-1": []}, {}, NOW)
    assert [(p.region, p.name) for p in plan.ssm_preview] == [
        ("us-east-1", "/g/aarch64/latest"),
        ("eu-west-1", "/g/aarch64/latest"),
    ]


# -- poll schedule -----------------------------------------------------------------------


def test_canary_is_the_last_started_followers_poll_rarely_and_are_woken() -> None:
    planner = PollPlanner(
        PollPolicy(
            leader_first=3,
            leader_min=2,
            leader_ratio=0.2,
            leader_max=30,
            follower_first=30,
            follower_max=300,
            wake_gap=5,
        )
    )
    assert planner.start("eu-west-1", 0.0) == 3  # the canary's first look
    assert planner.start("us-west-2", 0.5) == 3  # started later: the new canary
    assert planner.leader == "us-west-2"
    assert planner.next_delay("eu-west-1", 0.5) == 30  # demoted: a rare fallback poll
    assert planner.start("ap-east-1", 0.6) == 3
    assert planner.next_delay("us-west-2", 0.6) == 30
    assert planner.next_delay("ap-east-1", 100.6) == 20  # 20% of the time waited
    assert planner.next_delay("ap-east-1", 1000.0) == 30  # capped
    assert planner.next_delay("eu-west-1", 31.0) == 60  # doubling
    assert planner.settled("ap-east-1", 200.0) == ("eu-west-1", "us-west-2")
    assert planner.leader == "us-west-2"
    # A second settle right after does not wake the same regions again (wake_gap), but the
    # new canary is always tried.
    assert planner.settled("us-west-2", 201.0) == ("eu-west-1",)
    assert planner.pending == ("eu-west-1",)


def test_progress_gives_one_attempt_when_the_copy_should_be_done() -> None:
    policy = PollPolicy(leader_max=30, eta_margin=0.01, eta_margin_min=0.2)
    # 15% after 3 s: at most 20 s in all (the percentage is floored), 17 s to go + margin.
    action, delay = after_progress([CopyProgress(15, 3.0, False)], policy)
    assert action is Next.TRY and delay == pytest.approx(17.2)
    # The slowest snapshot decides; completed ones do not count.
    action, delay = after_progress(
        [CopyProgress(50, 3.0, False), CopyProgress(10, 3.0, False), CopyProgress(100, 9, True)],
        policy,
    )
    assert action is Next.TRY and delay == pytest.approx(27.3)
    assert after_progress([CopyProgress(100, 5.0, True)] * 2, policy) == (Next.TRY, 0.0)


def test_progress_far_from_done_is_read_again_halfway_and_nothing_means_poll() -> None:
    policy = PollPolicy(leader_max=30)
    # 2% after 60 s: ~49 min to go; look again in half that.
    action, delay = after_progress([CopyProgress(2, 60.0, False)], policy)
    assert action is Next.READ and delay == pytest.approx(1470)
    assert after_progress([CopyProgress(0, 60.0, False)], policy) == (Next.READ, -1.0)
    assert after_progress([], policy) == (Next.POLL, 0.0)


def test_canary_schedule_for_twenty_second_copies_in_thirty_regions() -> None:
    """Simulated: the canary looks once, the others are woken when it is done."""
    policy = PollPolicy()
    planner = PollPlanner(policy)
    regions = [f"r{i}" for i in range(30)]
    due: dict[str, float] = {}
    for i, region in enumerate(regions):  # starts spread over 0.3 s, later ones are canaries
        now = i * 0.01
        previous = planner.leader
        due[region] = now + planner.start(region, now)
        if previous is not None:
            due[previous] = now + planner.next_delay(previous, now)
    reads, attempts, now, copy_time = 0, 0, 0.0, 20.0
    while due:
        region = min(due, key=due.__getitem__)
        now = due.pop(region)
        started = regions.index(region) * 0.01
        if region != planner.leader or now >= started + copy_time:
            attempts += 1
            assert now >= started + copy_time, "an attempt before the copy was done"
            for woken in planner.settled(region, now):
                due[woken] = now
            continue
        reads += 1
        elapsed = now - started
        action, delay = after_progress(
            [CopyProgress(int(100 * elapsed / copy_time), elapsed, False)], policy
        )
        assert action is Next.TRY
        due[region] = now + (delay if delay > 0 else planner.next_delay(region, now))
    assert reads == 1  # one DescribeSnapshots for the whole wait
    assert attempts == 30  # every region's share succeeds at its first attempt
    assert now <= copy_time + 0.3 + 2  # lateness stays far under the benchmark's 5 s
