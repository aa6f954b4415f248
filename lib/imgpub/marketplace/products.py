"""Which Marketplace product an AMI becomes a version of: rules in a YAML file, not code.

AlmaLinux's workflow picks the product with a shell ``case`` over "<name> <major> <arch>"
and eight hard-coded IDs, with a dev/test product for rehearsals. Here the same table is
data (``imgpub/data/marketplace-products.yml`` is AlmaLinux's and doubles as the example)::

    access-role-arn: arn:aws:iam::123456789012:role/marketplace-ami-ingestion
    dev-product:                      # where every AMI goes unless public-product is true
      product-id: prod-devdevdevdev1
      version-title: "{{ version }} {{ architecture }}"   # optional: both arches share it
    products:                         # the first rule that matches wins
      - product-id: prod-abcdefghijklm
        title: My OS 9 (x86_64)       # for people; the catalog's own title is shown too
        match: {name: "My OS 9.*", major: 9, architecture: x86_64}

``match`` keys: ``name`` and ``version`` are shell-style patterns over the AMI's name and
``Version`` tag; ``major`` is the major version; ``architecture`` is x86_64 or arm64
(aarch64 is read as arm64). A rule may give its own ``version-title`` template.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from imgpub.errors import InputError
from imgpub.marketplace.amis import AmiFacts, read_input_file

PRODUCT_ID = re.compile(r"^[\w-]{1,255}$")
BUILTIN = "imgpub/data/marketplace-products.yml"
_MATCH_KEYS = ("name", "version", "major", "architecture")
_RULE_KEYS = ("product-id", "title", "match", "version-title")
_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}


@dataclass(frozen=True)
class ProductRule:
    """One product and the AMIs that belong to it."""

    product_id: str
    title: str
    match: Mapping[str, str]
    version_title: str = ""

    def matches(self, ami: AmiFacts) -> bool:
        return all(_matches(ami, key, value) for key, value in self.match.items())

    def describe(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.match.items())


def _matches(ami: AmiFacts, key: str, pattern: str) -> bool:
    if key == "name":
        return fnmatch.fnmatchcase(ami.name, pattern)
    if key == "version":
        return fnmatch.fnmatchcase(ami.version, pattern)
    if key == "major":
        return ami.major == pattern
    return ami.architecture == pattern


@dataclass(frozen=True)
class ProductTable:
    """The rules of one products file, its dev/test product and its access role."""

    source: str
    rules: tuple[ProductRule, ...]
    dev_product: ProductRule | None
    access_role_arn: str = ""

    def product_for(self, ami: AmiFacts, *, public: bool) -> ProductRule:
        """The rule for ``ami``; the dev/test product unless ``public``.

        An AMI that no rule knows is refused even for the dev product, as AlmaLinux's
        workflow does: a release the table does not know is a mistake, not a rehearsal.
        """
        rule = next((r for r in self.rules if r.matches(ami)), None)
        if rule is None:
            raise InputError(
                "products",
                f"no rule in {self.source} matches AMI {ami.image_id} ('{ami.name}', "
                f"{ami.architecture}, version {ami.version})",
                f"add a rule for it to {self.source} (or pass its own file with 'products'), "
                "or name the product with product-id",
            )
        if public:
            return rule
        if self.dev_product is None:
            raise InputError(
                "public-product",
                f"is false but {self.source} has no dev-product",
                "add a dev-product to the products file, or set public-product: true",
            )
        return self.dev_product


def load_products(path_text: str) -> ProductTable:
    """The table from ``path_text``, or the built-in AlmaLinux table when empty."""
    source, text = read_input_file("products", path_text, BUILTIN)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise InputError("products", f"{source} is not valid YAML: {first}", "fix it") from None
    return parse_products(data, source)


def parse_products(data: Any, source: str) -> ProductTable:
    if not isinstance(data, dict):
        raise _bad(source, "the file must be a mapping with a products list")
    unknown = sorted(set(data) - {"access-role-arn", "dev-product", "products"})
    if unknown:
        raise _bad(source, f"unknown keys {unknown}")
    rules_data = data.get("products") or []
    if not isinstance(rules_data, list):
        raise _bad(source, "products must be a list of rules")
    rules = tuple(_rule(r, f"products[{i}]", source) for i, r in enumerate(rules_data))
    dev = data.get("dev-product")
    dev_rule = _rule({**dev, "match": {}}, "dev-product", source) if isinstance(dev, dict) else None
    if dev is not None and dev_rule is None:
        raise _bad(source, "dev-product must be a mapping with a product-id")
    role = data.get("access-role-arn", "")
    if not isinstance(role, str):
        raise _bad(source, "access-role-arn must be a string")
    return ProductTable(source, rules, dev_rule, role)


def _rule(data: Any, where: str, source: str) -> ProductRule:
    if not isinstance(data, dict):
        raise _bad(source, f"{where} must be a mapping")
    unknown = sorted(set(data) - set(_RULE_KEYS))
    if unknown:
        raise _bad(source, f"{where} has unknown keys {unknown}")
    product_id = str(data.get("product-id", ""))
    if not PRODUCT_ID.match(product_id):
        raise _bad(source, f"{where}: product-id {product_id!r} is not a product ID")
    match = data.get("match", {})
    if not isinstance(match, dict) or (where != "dev-product" and not match):
        raise _bad(source, f"{where}: match must name at least one of {list(_MATCH_KEYS)}")
    bad = sorted(set(match) - set(_MATCH_KEYS))
    if bad:
        raise _bad(source, f"{where}: match has unknown keys {bad}")
    normal = {k: str(v) for k, v in match.items()}
    if "architecture" in normal:
        arch = _ARCH.get(normal["architecture"])
        if arch is None:
            raise _bad(source, f"{where}: architecture must be x86_64 or arm64")
        normal["architecture"] = arch
    return ProductRule(
        product_id=product_id,
        title=str(data.get("title", "")),
        match=normal,
        version_title=str(data.get("version-title", "") or ""),
    )


def _bad(source: str, problem: str) -> InputError:
    return InputError("products", f"{source}: {problem}", "fix the products file")
