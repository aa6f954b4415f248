"""Which regions an account sees, and DescribeRegions answered the way real EC2 answers it.

moto lists 38 regions, China and GovCloud included, all ``opt-in-not-required``. A real
commercial account sees only its own partition: without ``AllRegions`` the enabled regions,
with it every region of the partition, the disabled opt-in ones marked ``not-opted-in``.
Region fan-out code (mirror-ami's ``regions: all``) must be tested against the real shape,
so this module builds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from imgpub.sandbox.ec2_protocol import Ec2Error, filters, indexed_values, is_true

# Regions launched before 2019-03-20 are enabled in every account and cannot be disabled.
# Every later region of the aws partition is opt-in (EC2 UG "Regions and Zones").
DEFAULT_ENABLED_REGIONS: frozenset[str] = frozenset(
    {
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)


def partition_regions() -> frozenset[str]:
    """Every region of the commercial ``aws`` partition that botocore knows for EC2."""
    import botocore.session

    session = botocore.session.get_session()
    known = session.get_available_regions("ec2", partition_name="aws")
    return frozenset(known) | DEFAULT_ENABLED_REGIONS


def opt_in_status(region: str, enabled: frozenset[str]) -> str:
    """EC2's ``OptInStatus`` for ``region`` in an account with ``enabled`` regions.

    The enabled set is exact, so a test can give the account only a few regions; a
    region left out is shown as ``not-opted-in`` (and only with ``AllRegions``), even one
    that real accounts cannot disable.
    """
    if region not in enabled:
        return "not-opted-in"
    return "opt-in-not-required" if region in DEFAULT_ENABLED_REGIONS else "opted-in"


def describe_regions_xml(
    params: Mapping[str, str], enabled: frozenset[str], universe: Iterable[str]
) -> str:
    """The ``<regionInfo>`` fragment of a DescribeRegions answer.

    Honours ``AllRegions``, ``RegionName.N`` and the ``region-name``, ``endpoint`` and
    ``opt-in-status`` filters, which is what region-selection code uses.
    """
    show_all = is_true(params.get("AllRegions"))
    names = set(indexed_values(params, "RegionName"))
    wanted = filters(params)
    unknown = sorted(names - set(universe))
    if unknown:
        raise Ec2Error(
            "InvalidParameterValue",
            f"Invalid region: {unknown[0]}",
        )
    items: list[str] = []
    for region in sorted(universe):
        status = opt_in_status(region, enabled)
        endpoint = f"ec2.{region}.amazonaws.com"
        if not show_all and status == "not-opted-in" and region not in names:
            continue
        if names and region not in names:
            continue
        if "region-name" in wanted and region not in wanted["region-name"]:
            continue
        if "endpoint" in wanted and endpoint not in wanted["endpoint"]:
            continue
        if "opt-in-status" in wanted and status not in wanted["opt-in-status"]:
            continue
        items.append(
            f"<item><regionName>{region}</regionName><regionEndpoint>{endpoint}</regionEndpoint>"
            f"<optInStatus>{status}</optInStatus></item>"
        )
    return "<regionInfo>" + "".join(items) + "</regionInfo>"
