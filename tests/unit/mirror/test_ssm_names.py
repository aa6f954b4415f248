"""SSM parameter names: placeholders, SSM-safe values, SSM's rules, collisions."""

from __future__ import annotations

import pytest

from imgpub.errors import InputError
from imgpub.mirror.ssm_names import ImageFacts, parse_template, plan_parameters, render


def facts(
    source: str = "ami-11111111", region: str = "eu-west-1", arch: str = "x86_64"
) -> ImageFacts:
    return ImageFacts(
        source_ami=source,
        region=region,
        image_id="ami-0123456789abcdef0",
        arch=arch,
        version="9.7.20260518",
        name="AlmaLinux OS 9.7.20260518 x86_64",
    )


def test_render_makes_values_ssm_safe() -> None:
    t = parse_template("/golden-image/{region}/{name}")
    assert render(t, facts()) == "/golden-image/eu-west-1/AlmaLinux-OS-9.7.20260518-x86_64"


@pytest.mark.parametrize(
    ("template", "latest"),
    [
        ("/golden-image/{region}/latest", True),
        ("/golden-image/{arch}/latest", True),
        ("/golden-image/{arch}/{version}", False),
        ("/golden-image/{name}", False),
        ("/golden-image/by-id/{image_id}", False),
    ],
)
def test_latest_style_means_no_per_image_placeholder(template: str, latest: bool) -> None:
    assert parse_template(template).latest_style is latest


@pytest.mark.parametrize(
    "template", ["/x/{nope}", "/x/{region!r}", "/x/{region:>5}", "/x/{}", "/x/{region"]
)
def test_unknown_or_malformed_placeholders_are_bad_input(template: str) -> None:
    with pytest.raises(InputError, match="input 'ssm-parameters'"):
        parse_template(template)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("golden/{arch}", "leading /"),
        ("/aws/golden/{arch}", "reserved"),
        ("/SSM-x/{arch}", "reserved"),
        ("awsome", "reserved"),
        ("/a//b", "empty level"),
        ("/" + "/".join(["l"] * 16), "16 levels"),
        ("/" + "x" * 1000, "too long"),
        ("/golden image/{arch}", "characters"),
    ],
)
def test_ssm_rules_checked_before_any_call(template: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        plan_parameters([parse_template(template)], [facts()])


def test_fifteen_levels_are_fine() -> None:
    params = plan_parameters([parse_template("/" + "/".join(["l"] * 15))], [facts()])
    assert len(params) == 1


def test_two_sources_rendering_one_name_is_bad_input() -> None:
    with pytest.raises(InputError, match="for both ami-11111111 and ami-22222222"):
        plan_parameters(
            [parse_template("/golden-image/{region}/latest")],
            [facts(), facts(source="ami-22222222", arch="aarch64")],
        )


def test_plan_per_region_and_overwrite_flag() -> None:
    params = plan_parameters(
        [parse_template("/g/{arch}/latest"), parse_template("/g/{arch}/{version}")],
        [facts(), facts(region="us-east-1")],
    )
    assert [(p.region, p.name, p.overwrite) for p in params] == [
        ("eu-west-1", "/g/x86_64/latest", True),
        ("us-east-1", "/g/x86_64/latest", True),
        ("eu-west-1", "/g/x86_64/9.7.20260518", False),
        ("us-east-1", "/g/x86_64/9.7.20260518", False),
    ]


def test_missing_version_tag_is_bad_input() -> None:
    f = ImageFacts("ami-11111111", "eu-west-1", "ami-1", "x86_64", "", "n")
    with pytest.raises(InputError, match="has none"):
        plan_parameters([parse_template("/g/{version}")], [f])
