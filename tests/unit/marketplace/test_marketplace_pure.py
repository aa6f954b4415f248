"""The pure parts of marketplace-changeset: which AMIs, which product, what a product holds,
the change set's name, token and rules, and the waiting policy."""

from __future__ import annotations

import json

import pytest

from imgpub.cancel import Cancellation
from imgpub.errors import InputError
from imgpub.marketplace.amis import AmiFacts, amis_from_results, parse_ami_ids
from imgpub.marketplace.entity import (
    instance_architecture,
    parse_entity,
    versions_to_restrict,
)
from imgpub.marketplace.products import load_products, parse_products
from imgpub.marketplace.render import (
    change_set_name,
    client_token,
    load_change_set_template,
    render_change_set,
    security_group_rules,
)
from imgpub.marketplace.waiting import PollSchedule, WaitEnd, poll
from imgpub.results import ResultsDocument, Section, Target

X86 = "ami-0123456789abcdef0"
ARM = "ami-0123456789abcdef1"


def ami(name: str, version: str, architecture: str = "x86_64", image_id: str = X86) -> AmiFacts:
    return AmiFacts(image_id, name, architecture, version)


@pytest.mark.parametrize(
    ("version", "os_version", "major", "minor"),
    [
        ("9.6.20250522", "9.6", "9", "6"),
        ("10.1.20251124.0", "10.1", "10", "1"),
        ("10.20250904.0", "10", "10", ""),  # Kitten
        ("8.10.20240530", "8.10", "8", "10"),
    ],
)
def test_the_version_tag_splits_like_almalinux_workflow(version, os_version, major, minor):
    facts = ami("x", version)
    assert (facts.os_version, facts.major, facts.minor) == (os_version, major, minor)


def test_ami_ids_from_a_list_or_from_mirror_amis_output():
    assert parse_ami_ids(f"{X86}, {ARM}\n{X86}") == (X86, ARM)
    mirror = {X86: {"us-east-1": X86, "eu-west-1": ARM}, "ami-00000000": {"us-east-1": ARM}}
    assert parse_ami_ids(json.dumps(mirror)) == (X86, ARM)
    with pytest.raises(InputError, match="no us-east-1 AMI"):
        parse_ami_ids(json.dumps({X86: {"eu-west-1": ARM}}))
    with pytest.raises(InputError, match="not an AMI ID"):
        parse_ami_ids("ami-XYZ")


def test_amis_from_the_results_document_are_the_us_east_1_ones():
    doc = ResultsDocument()
    mirror = Section("mirror-ami")
    mirror.add(Target("ami-source", "s@us-east-1", "existed", "us-east-1", X86, X86))
    mirror.add(Target("ami-copy", "s@eu-west-1", "created", "eu-west-1", ARM, X86))
    mirror.add(Target("ami-copy", "t@us-east-1", "failed", "us-east-1", None, ARM))
    doc.put(mirror)
    build = Section("build-ami")
    build.add(Target("ami", "b", "created", "us-east-1", ARM))
    doc.put(build)
    assert amis_from_results(doc) == ((X86, ARM), "mirror-ami, build-ami")
    only_west = ResultsDocument()
    west = Section("build-ami")
    west.add(Target("ami", "b", "created", "us-west-2", ARM))
    only_west.put(west)
    with pytest.raises(InputError, match=r"only ami-0123456789abcdef1 \(us-west-2\)"):
        amis_from_results(only_west)


@pytest.mark.parametrize(
    ("name", "version", "arch", "product"),
    [
        ("AlmaLinux OS 8.10.20240530 x86_64", "8.10.20240530", "x86_64", "c076b20a-2305-4771-823f-944909847a05"),
        ("AlmaLinux OS 8.10.20240530 aarch64", "8.10.20240530", "arm64", "744775f7-4efd-4c75-ac32-eb2540b4030c"),
        ("AlmaLinux OS 9.6.20250522 x86_64", "9.6.20250522", "x86_64", "3c74c2ba-21a2-4dc1-a65d-fd0ee7d79900"),
        ("AlmaLinux OS 9.6.20250522 aarch64", "9.6.20250522", "arm64", "2d219cc1-aa44-4a1e-b6fe-258d4ebd3cdb"),
        ("AlmaLinux OS 10.1.20251124.0 x86_64", "10.1.20251124.0", "x86_64", "prod-cvyxsvsdzfjx4"),
        ("AlmaLinux OS 10.1.20251124.0 aarch64", "10.1.20251124.0", "arm64", "prod-qgpr5bqxuzt5i"),
        ("AlmaLinux OS Kitten 10.20250904.0 x86_64", "10.20250904.0", "x86_64", "prod-svbminwb7w5se"),
        ("AlmaLinux OS Kitten 10.20250904.0 aarch64", "10.20250904.0", "arm64", "prod-npz256ulofnae"),
    ],
)  # fmt: skip
def test_the_builtin_table_is_almalinux_products(name, version, arch, product):
    table = load_products("")
    facts = ami(name, version, arch)
    assert table.product_for(facts, public=True).product_id == product
    dev = table.product_for(facts, public=False)
    assert dev.product_id == "prod-t4oyq2p42jn2u" and "architecture" in dev.version_title
    assert table.access_role_arn.endswith(":role/alma-images-marketplace-role")


def test_an_ami_no_rule_knows_is_refused_even_for_the_dev_product():
    with pytest.raises(InputError, match=r"no rule in imgpub/data/marketplace-products\.yml"):
        load_products("").product_for(ami("Rocky Linux 9", "9.6.20250522"), public=False)


def test_rules_are_checked_and_the_first_match_wins():
    table = parse_products(
        {
            "products": [
                {
                    "product-id": "prod-first",
                    "match": {"version": "9.*", "architecture": "aarch64"},
                },
                {"product-id": "prod-second", "match": {"major": 9}},
            ]
        },
        "p.yml",
    )
    assert table.product_for(ami("a", "9.6.1", "arm64"), public=True).product_id == "prod-first"
    assert table.product_for(ami("a", "9.6.1", "x86_64"), public=True).product_id == "prod-second"
    with pytest.raises(InputError, match="no dev-product"):
        table.product_for(ami("a", "9.6.1"), public=False)
    for bad in (
        {"products": [{"product-id": "p!", "match": {"major": 9}}]},
        {"products": [{"product-id": "prod-a", "match": {}}]},
        {"products": [{"product-id": "prod-a", "match": {"architecture": "sparc"}}]},
        {"product": []},
    ):
        with pytest.raises(InputError, match=r"p\.yml"):
            parse_products(bad, "p.yml")


def entity(*versions):
    return parse_entity(
        "prod-x",
        {
            "Description": {"ProductTitle": "X"},
            "Versions": [
                {
                    "Id": f"v{i}",
                    "VersionTitle": title,
                    "CreationDate": created,
                    "DeliveryOptions": [
                        {
                            "Id": f"o{i}",
                            "Visibility": visibility,
                            "Recommendations": {"InstanceType": itype},
                        }
                    ],
                    "Sources": [{"Architecture": arch}],
                }
                for i, (title, created, visibility, arch, itype) in enumerate(versions)
            ],
        },
    )


def test_the_recommendation_comes_from_the_newest_offered_version_of_the_architecture():
    state = entity(
        ("a", "2024-01-01T00:00:00Z", "Public", "x86_64", "m5.large"),
        ("b", "2025-01-01T00:00:00Z", "Public", "arm64", "m7g.large"),
        ("c", "2025-06-01T00:00:00Z", "Restricted", "x86_64", "c5.large"),
    )
    assert state.recommended_instance_type("x86_64") == "m5.large"
    assert state.recommended_instance_type("arm64") == "m7g.large"
    assert entity().recommended_instance_type("arm64") == "t4g.small"
    assert entity().recommended_instance_type("x86_64") == "t3.small"
    assert [instance_architecture(t) for t in ("t4g.small", "c6gn.large", "g5.xlarge")] == [
        "arm64",
        "arm64",
        "x86_64",
    ]


def test_keep_versions_counts_per_architecture_and_planned_versions_first():
    state = entity(
        ("x1", "2024-01-01T00:00:00Z", "Public", "x86_64", "t3.small"),
        ("x2", "2024-06-01T00:00:00Z", "Public", "x86_64", "t3.small"),
        ("x0", "2023-01-01T00:00:00Z", "Restricted", "x86_64", "t3.small"),
        ("a1", "2024-03-01T00:00:00Z", "Limited", "arm64", "t4g.small"),
    )
    assert [v.title for v in versions_to_restrict(state, 1)] == ["x1"]
    assert [v.title for v in versions_to_restrict(state, 1, [("new", "x86_64")])] == ["x2", "x1"]
    assert [v.title for v in versions_to_restrict(state, 1, [("new", "arm64")])] == ["a1", "x1"]
    assert versions_to_restrict(state, 2) == []
    with pytest.raises(ValueError):
        versions_to_restrict(state, 0)


def test_names_and_tokens_are_deterministic_and_within_the_api_limits():
    name = change_set_name("Release", "AlmaLinux OS 9.6 (test/1) " + "x" * 200)
    assert len(name) <= 100 and "(" not in name and "/" not in name
    token = client_token("prod-x", X86, "9.6", "0")
    assert token == client_token("prod-x", X86, "9.6", "0") and len(token) <= 64
    assert token != client_token("prod-x", X86, "9.6", "1")


def test_security_groups_and_the_builtin_template():
    rules = security_group_rules(["tcp 22 0.0.0.0/0", "udp 500-501 10.0.0.0/8,192.168.0.0/16"])
    assert rules[1] == {
        "IpProtocol": "udp",
        "FromPort": 500,
        "ToPort": 501,
        "IpRanges": ["10.0.0.0/8", "192.168.0.0/16"],
    }
    for bad in (["icmp 22 0.0.0.0/0"], ["tcp 22 300.0.0.0/0"], ["tcp 30-20 0.0.0.0/0"], []):
        with pytest.raises(InputError, match="security-groups"):
            security_group_rules(bad)
    origin, text = load_change_set_template("")
    context = {
        "product_id": "prod-x", "ami_id": X86, "version_title": 'Say "hi"\n',
        "release_notes": "<b>n</b>", "usage_instructions": "u", "access_role_arn": "arn",
        "user_name": "ec2-user", "os_name": "OTHERLINUX", "os_version": "9.6",
        "scanning_port": 22, "instance_type": "t3.small", "security_groups": rules,
    }  # fmt: skip
    [change] = render_change_set(text, origin, context, product_id="prod-x", ami_id=X86)
    details = change["DetailsDocument"]
    assert details["Version"]["VersionTitle"] == 'Say "hi"\n'  # quotes and newlines survive
    option = details["DeliveryOptions"][0]["Details"]["AmiDeliveryOptionDetails"]
    assert option["AmiSource"]["ScanningPort"] == 22 and option["SecurityGroups"] == rules


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now


class ClockCancel(Cancellation):
    def __init__(self, clock: FakeClock, cancel_at: float | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.cancel_at = cancel_at

    def sleep(self, seconds: float) -> bool:
        self.clock.sleeps.append(seconds)
        self.clock.now += seconds
        if self.cancel_at is not None and self.clock.now >= self.cancel_at:
            self.cancel("test")
        return self.is_set


def test_polling_backs_off_with_the_time_waited_and_stops_at_the_deadline_or_a_cancel():
    clock = FakeClock()
    value, end = poll(
        lambda: None,
        deadline=600,
        cancel=ClockCancel(clock),
        schedule=PollSchedule(first=1, ratio=0.2, cap=60),
        monotonic=clock.monotonic,
    )
    assert (value, end) == (None, WaitEnd.DEADLINE) and clock.now == 600
    assert clock.sleeps[:5] == [1, 1, 1, 1, 1] and max(clock.sleeps) == 60
    assert len(clock.sleeps) < 40  # ten minutes of waiting costs few calls
    clock = FakeClock()
    answers = iter([None, None, "done"])
    assert poll(
        lambda: next(answers), deadline=10, cancel=ClockCancel(clock), schedule=PollSchedule(),
        monotonic=clock.monotonic,
    ) == ("done", WaitEnd.DONE)  # fmt: skip
    clock = FakeClock()
    _, end = poll(
        lambda: None, deadline=600, cancel=ClockCancel(clock, cancel_at=3),
        schedule=PollSchedule(), monotonic=clock.monotonic,
    )  # fmt: skip
    assert end is WaitEnd.CANCELLED and clock.now < 5
