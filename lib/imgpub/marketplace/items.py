"""The value objects of a marketplace-changeset run: what is planned per AMI and product.

One :class:`VersionItem` is one AMI becoming one version of one product: its rendered
change set, the deterministic name and token that let a re-run find it again, and what
discovery decided (add it, it exists, or adopt the change set already running). A
:class:`ProductPlan` holds a product's items in the order they are submitted — a product
takes one change set at a time — and the versions ``keep-versions`` would restrict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from imgpub.aws.marketplace_catalog import ChangeError, ChangeSetRef
from imgpub.marketplace.amis import AmiFacts
from imgpub.marketplace.entity import ProductVersion


class Action(StrEnum):
    ADD = "add"  # start a change set
    EXISTS = "exists"  # a version with this title is in the product
    ADOPT = "adopt"  # this AMI's change set is already open: wait for it


@dataclass(frozen=True)
class Validation:
    """A dry run's ``Intent: VALIDATE`` verdict for one change set."""

    status: str  # SUCCEEDED, FAILED, ..., or "" when it could not be asked
    change_set: ChangeSetRef | None = None
    errors: tuple[ChangeError, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class VersionItem:
    ami: AmiFacts
    product_id: str
    product_title: str
    title: str
    instance_type: str
    change_set_name: str
    token: str
    changes: tuple[Mapping[str, Any], ...]
    action: Action
    existing_version_id: str = ""
    #: ADOPT: the open change set to wait for; EXISTS: the one that made the version, if known
    adopt: ChangeSetRef | None = None
    validation: Validation | None = None

    @property
    def version_key(self) -> str:
        return f"version:{self.product_id}:{self.ami.image_id}"

    @property
    def change_set_key(self) -> str:
        return f"change-set:{self.product_id}:{self.ami.image_id}"

    def describe(self) -> str:
        return f"{self.ami.image_id} ({self.ami.name}, {self.ami.architecture})"


@dataclass(frozen=True)
class ProductPlan:
    product_id: str
    title: str
    items: tuple[VersionItem, ...]
    busy: tuple[ChangeSetRef, ...] = ()  # change sets of other requests open on it
    keep_versions: int | None = None
    restrict: tuple[ProductVersion, ...] = ()

    @property
    def restrict_key(self) -> str:
        return f"restrict:{self.product_id}"
