"""Inputs: every bad value is a one-line InputError naming the input and the fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from imgpub.errors import InputError
from imgpub.mirror.durations import parse_deprecate_after, parse_timeout
from imgpub.mirror.model import MirrorInputs, parse_mirror_inputs

NOW = datetime(2026, 11, 21, 20, 0, 30, tzinfo=UTC)
GOOD = "ami-0123456789abcdef0"


class Reader:
    """The four typed reads of imgpub.inputs.InputReader over a dict (defaults applied)."""

    DEFAULTS: ClassVar[dict[str, str]] = {"share-snapshots": "true", "max-concurrency": "16"}

    def __init__(self, **values: str) -> None:
        self.values = {**self.DEFAULTS, **{k.replace("_", "-"): v for k, v in values.items()}}

    def text(self, name: str) -> str:
        return self.values.get(name, "")

    def boolean(self, name: str) -> bool:
        return self.text(name).lower() == "true"

    def items(self, name: str) -> list[str]:
        return [p.strip() for p in self.text(name).replace(",", "\n").splitlines() if p.strip()]

    def integer(self, name: str) -> int:
        return int(self.text(name))


def parse(**values: str) -> MirrorInputs:
    values.setdefault("source_ami", GOOD)
    return parse_mirror_inputs(Reader(**values), now=NOW, environ={"AWS_REGION": "us-east-1"})


def bad(name: str, **values: str) -> str:
    with pytest.raises(InputError) as err:
        parse(**values)
    assert err.value.name == name
    line = err.value.one_line()
    assert "\n" not in line and " — " in line  # problem — fix
    return line


def test_defaults() -> None:
    got = parse(source_ami=f"{GOOD}, ami-12345678")
    assert got.source_amis == (GOOD, "ami-12345678")
    assert got.source_region == "us-east-1"
    assert got.regions.everything and not got.regions.explicit
    assert not got.share.any and got.share.snapshots
    assert got.timeout == timedelta(minutes=60)
    assert got.max_concurrency == 16
    assert got.deprecate_at is None


@pytest.mark.parametrize(
    "ami", ["ami-123", "ami-0123456789ABCDEF0", "img-12345678", "ami-0123456789abcdef"]
)
def test_malformed_ami(ami: str) -> None:
    assert "not an AMI ID" in bad("source-ami", source_ami=ami)


def test_regions_list_exclude_and_all() -> None:
    got = parse(regions="eu-west-1\nus-east-2", exclude_regions="me-south-1")
    assert got.regions.explicit == ("eu-west-1", "us-east-2")
    assert got.regions.exclude == ("me-south-1",)
    assert parse(regions="all").regions.everything
    bad("regions", regions="all, eu-west-1")
    bad("regions", regions="Europe")
    bad("exclude-regions", exclude_regions="eu_west_1")


def test_config_file_regions_and_override(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text("distribution:\n  target_regions: [eu-west-1, ap-south-1]\n")
    assert parse(config=str(cfg)).regions.explicit == ("eu-west-1", "ap-south-1")
    assert parse(config=str(cfg)).regions.origin == "config"
    assert parse(config=str(cfg), regions="us-west-2").regions.explicit == ("us-west-2",)


def test_unreadable_or_bad_config(tmp_path: Path) -> None:
    assert "cannot read" in bad("config", config=str(tmp_path / "missing.yml"))
    broken = tmp_path / "b.yml"
    broken.write_text("distribution: [\n")
    assert "not valid YAML" in bad("config", config=str(broken))
    wrong = tmp_path / "w.yml"
    wrong.write_text("distribution:\n  target_regions: eu-west-1\n")
    assert "not a list" in bad("config", config=str(wrong))


def test_tags() -> None:
    got = parse(tags="Team=cloud\n# comment\n\nRelease = 9.7 GA")
    assert got.tags == (("Team", "cloud"), ("Release", "9.7 GA"))
    assert "not KEY=VALUE" in bad("tags", tags="Team")
    assert "aws:" in bad("tags", tags="aws:foo=1")
    assert "set by imgpub" in bad("tags", tags="SourceAMI=x")
    assert "twice" in bad("tags", tags="a=1\na=2")
    assert "tag rules" in bad("tags", tags="a=semi;colon")
    assert "tag rules" in bad("tags", tags="k" * 129 + "=v")


def test_share_targets() -> None:
    got = parse(
        share_accounts="123456789012",
        share_organizations="arn:aws:organizations::123456789012:organization/o-abcdefghij",
        share_ous="arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-abcdefgh",
        make_public="true",
    )
    assert got.share.public and got.share.accounts == ("123456789012",)
    assert got.share.organizations and got.share.ous
    bad("share-accounts", share_accounts="12345")
    bad("share-organizations", share_organizations="o-abcdefghij")
    bad("share-ous", share_ous="ou-ab12-abcdefgh")


def test_encryption_rules() -> None:
    got = parse(encrypt="true", kms_keys="eu-west-1=alias/images")
    assert got.kms_keys == {"eu-west-1": "alias/images"}
    assert "without encryption" in bad("kms-keys", kms_keys="eu-west-1=alias/x")
    assert "region=key" in bad("kms-keys", encrypt="true", kms_keys="alias/x")
    assert "cannot be public" in bad("encrypt", encrypt="true", make_public="true")


def test_concurrency_and_timeout() -> None:
    assert parse(max_concurrency="4", timeout="90").timeout == timedelta(minutes=90)
    assert parse(timeout="2h").timeout == timedelta(hours=2)
    assert parse(timeout="45s").timeout == timedelta(seconds=45)
    bad("max-concurrency", max_concurrency="0")
    bad("max-concurrency", max_concurrency="65")
    bad("timeout", timeout="soon")
    with pytest.raises(InputError):
        parse_timeout("0")


def test_source_region_required_and_checked() -> None:
    with pytest.raises(InputError, match="source-region"):
        parse_mirror_inputs(Reader(source_ami=GOOD), now=NOW, environ={})
    bad("source-region", source_region="mars")


def test_ssm_templates_checked_at_parse_time() -> None:
    assert parse(ssm_parameters="/g/{arch}/latest").ssm_templates[0].latest_style
    bad("ssm-parameters", ssm_parameters="/g/{release}")


def test_deprecate_after_grammar() -> None:
    assert parse_deprecate_after("365d", now=NOW, public=False) == datetime(
        2027, 11, 21, 20, 0, tzinfo=UTC
    )
    assert parse_deprecate_after("2w", now=NOW, public=False) == datetime(
        2026, 12, 5, 20, 0, tzinfo=UTC
    )
    assert parse_deprecate_after("1y", now=NOW, public=False) == datetime(
        2027, 11, 21, 20, 0, tzinfo=UTC
    )
    assert parse_deprecate_after("2027-06-30", now=NOW, public=False) == datetime(
        2027, 6, 30, tzinfo=UTC
    )
    assert parse_deprecate_after("", now=NOW, public=False) is None
    for raw, problem in [
        ("6m", "not a duration"),
        ("0d", "zero"),
        ("2020-01-01", "in the past"),
        ("2027-02-30", "not a date"),
        ("3651d", "3650 days"),
    ]:
        with pytest.raises(InputError, match=problem):
            parse_deprecate_after(raw, now=NOW, public=False)
    with pytest.raises(InputError, match="730 days ahead, EC2's limit for public AMIs"):
        parse_deprecate_after("3y", now=NOW, public=True)
    assert "public AMIs" in bad("deprecate-after", deprecate_after="800d", make_public="true")


def test_declared_inputs_feed_the_parser_through_the_real_reader() -> None:
    from imgpub.inputs import InputReader
    from imgpub.mirror.spec import MIRROR_INPUTS

    reader = InputReader(
        MIRROR_INPUTS,
        env={
            "INPUT_SOURCE_AMI": f"{GOOD}\nami-12345678",
            "INPUT_SOURCE_REGION": "eu-west-1",
            "INPUT_MAKE_PUBLIC": "true",
            "INPUT_TAGS": "Team=cloud infra\nRelease=9.7",
            "INPUT_SSM_PARAMETERS": "/g/{arch}/latest",
        },
    )
    got = parse_mirror_inputs(reader, now=NOW, environ={})
    assert got.source_amis == (GOOD, "ami-12345678")
    assert got.share.public and got.share.snapshots
    assert got.max_concurrency == 16
    assert got.timeout == timedelta(minutes=60)
    assert got.tags == (("Team", "cloud infra"), ("Release", "9.7"))
