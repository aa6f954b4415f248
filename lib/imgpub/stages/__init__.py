"""The stage registry: what every stage is called, what it does and which extras it needs.

This module imports nothing but the standard library, so ``imgpub --help`` lists every
stage from a core install, and a stage module is imported only when that stage runs. Each
action installs ``imgpub[<extras>]`` as declared here (``imgpub.actionyml`` writes it into
the action's install step), so what an action installs and what its stage imports cannot
drift: a clean-install test runs each action from exactly those extras.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class StageInfo:
    """One stage as the CLI, the action generator and the docs know it."""

    name: str
    help: str
    extras: tuple[str, ...]
    icon: str
    color: str

    @property
    def module(self) -> str:
        return "imgpub.stages." + self.name.replace("-", "_")

    @property
    def install_hint(self) -> str:
        return f"pip install 'imgpub[{','.join(self.extras)}]'"

    def present(self) -> bool:
        """True when the stage's module ships in this installation (importing nothing)."""
        return importlib.util.find_spec(self.module) is not None


#: Every stage, in release order. A stage is offered once its module exists.
STAGES: dict[str, StageInfo] = {
    info.name: info
    for info in (
        StageInfo(
            "build-ami",
            "Make an AMI from a raw disk (EBS direct APIs) or with Packer, share it and "
            "boot-test it.",
            ("aws",),
            "box",
            "orange",
        ),
        StageInfo(
            "mirror-ami",
            "Copy AMIs to every enabled region (or a list), tag them, share them or make them "
            "public, publish SSM parameters and AlmaLinux-format region tables. Re-runs finish "
            "what is missing and change nothing else.",
            ("aws",),
            "copy",
            "orange",
        ),
        StageInfo(
            "marketplace-changeset",
            "Add AMIs as new versions of their AWS Marketplace products and wait for the verdict.",
            ("aws",),
            "shopping-cart",
            "orange",
        ),
        StageInfo(
            "azure-gallery",
            "Stream a RAW or VHD disk image (local, https:// or s3://) into an Azure page blob "
            "and publish it as Compute Gallery image versions (Gen1 and Gen2 for x86_64, Gen2 "
            "for arm64), replicated to the target regions. Dry run by default.",
            # s3:// images are read with boto3, so the action installs the aws extra too.
            ("azure", "aws"),
            "upload-cloud",
            "blue",
        ),
        StageInfo(
            "ecr-mirror",
            "Mirror container images and Helm charts into (Marketplace) ECR, immutably.",
            ("aws", "oci"),
            "layers",
            "orange",
        ),
        StageInfo(
            "wiki-pr",
            "Open or update one pull request per release with the per-region AMI tables "
            "(AlmaLinux's wiki formats), built from mirror-ami's results documents: one commit "
            "through the Git Data API; a re-run with the same data changes nothing.",
            ("github",),
            "git-pull-request",
            "gray-dark",
        ),
        StageInfo(
            "push",
            "Push staged images to every destination a StArMap-style mapping names (AWS "
            "Marketplace, community regions with billing codes, Azure Compute Gallery) by "
            "running the stages above with each account's credentials; pre-push, skip and a "
            "dry run that prints the whole plan.",
            ("aws", "azure"),
            "send",
            "purple",
        ),
    )
}

#: Top-level modules of the optional SDKs → the extra that installs them.
SDK_EXTRAS: dict[str, str] = {
    "boto3": "aws",
    "botocore": "aws",
    "s3transfer": "aws",
    "azure": "azure",
    "msal": "azure",
    "github": "github",
    "moto": "sandbox",
    "werkzeug": "sandbox",
}


class MissingExtra(Exception):
    """A stage's module needs an SDK this installation lacks."""

    def __init__(self, info: StageInfo, missing: str, extra: str) -> None:
        super().__init__(
            f"imgpub {info.name} needs the '{extra}' extra (module {missing!r} is not "
            f"installed) — install it with: {info.install_hint}"
        )
        self.info = info
        self.missing = missing
        self.extra = extra


def present_stages() -> dict[str, StageInfo]:
    """The registered stages whose modules exist in this installation."""
    return {name: info for name, info in STAGES.items() if info.present()}


def load_stage(info: StageInfo) -> ModuleType:
    """Import a stage's module; a missing SDK becomes :class:`MissingExtra`, not a traceback."""
    try:
        return importlib.import_module(info.module)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".", 1)[0]
        extra = SDK_EXTRAS.get(top)
        if extra is None:
            raise  # not an optional SDK: a packaging bug, shown as such
        raise MissingExtra(info, exc.name or top, extra) from None
