"""Community destinations and their billing codes (pure).

A community destination is ``<region>-<type>`` (``us-east-1-hourly``,
``us-east-1-access``): the region to publish in and the billing type. The entity's
``billing-code-config`` rules pick the BillingProducts codes and the AMI name suffix: the
first rule (in file order) whose ``image_name`` prefixes the item's name (empty: any) and
whose ``image_types`` contain the type. A rule may also say ``release_type: beta`` (or
``ga``) to apply to beta (or GA) pushes only, and such a rule is tried first; without it
the rule applies to both. No
rule: no codes and the default suffix of the type (``Hourly2``, ``Access2``).
"""

from __future__ import annotations

from dataclasses import dataclass

from imgpub.errors import InputError
from imgpub.push.model import BillingRule, PushItem

DEFAULT_SUFFIX = {"hourly": "Hourly2", "access": "Access2", "marketplace": "Marketplace"}


@dataclass(frozen=True)
class CommunityTarget:
    region: str
    billing_type: str


@dataclass(frozen=True)
class Billing:
    codes: tuple[str, ...]
    suffix: str
    rule: str  # the rule's key, or "" for the default


def community_target(destination: str, where: str, input_name: str = "mapping") -> CommunityTarget:
    region, sep, kind = destination.rpartition("-")
    if not sep or kind not in DEFAULT_SUFFIX or region.count("-") < 2:
        raise InputError(
            input_name,
            f"{where}: community destination {destination!r} is not <region>-<type>",
            f"write e.g. us-east-1-hourly; types: {', '.join(DEFAULT_SUFFIX)}",
        )
    return CommunityTarget(region, kind)


def billing_for(rules: tuple[BillingRule, ...], item: PushItem, billing_type: str) -> Billing:
    """Rules that name the item's release type are tried before those that name none."""
    own = [r for r in rules if r.release_type == item.release_type]
    for rule in [*own, *(r for r in rules if not r.release_type)]:
        if rule.image_name and not item.name.startswith(rule.image_name):
            continue
        if billing_type in rule.image_types:
            return Billing(rule.codes, rule.name, rule.key)
    return Billing((), DEFAULT_SUFFIX[billing_type], "")
