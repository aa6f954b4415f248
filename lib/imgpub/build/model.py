"""The validated inputs of build-ami: every problem is an InputError before any cloud call."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from imgpub.aws.image_sharing import ShareAudience
from imgpub.build.console import DEFAULT_TEST_COMMANDS
from imgpub.build.naming import RESERVED_TAGS, ec2_architecture
from imgpub.build.spec import DEFAULT_UPLOAD_CONCURRENCY
from imgpub.errors import InputError
from imgpub.inputs import InputReader
from imgpub.mirror.durations import parse_timeout
from imgpub.mirror.model import AMI_ID, check_region_name, parse_share, parse_tags

BOOT_MODES = ("uefi", "legacy-bios", "uefi-preferred")
VOLUME_TYPES = ("gp3", "gp2", "io1", "io2", "st1", "sc1", "standard")
BILLING_PRODUCT = re.compile(r"^bp-[0-9a-f]{8,17}$")
DEVICE_NAME = re.compile(r"^/dev/(sd[a-z]1?|xvd[a-z]|nvme\d+n\d+)$")
SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
OWNER = re.compile(r"^(self|amazon|aws-marketplace|\d{12})$")
PACKER_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
MAX_VOLUME_GIB = 65536
INSTANCE_TYPES = {"x86_64": "t3.small", "arm64": "t4g.small"}


@dataclass(frozen=True)
class Registration:
    """What RegisterImage is asked, besides the snapshot (the same for both ways)."""

    ami_name_template: str
    description_template: str
    version: str
    architecture: str  # "" = from the file name
    boot_mode: str  # "" = by architecture
    ena: bool
    sriov: bool
    imds_v2: bool
    tpm: bool
    root_device: str
    volume_type: str
    volume_size: int | None
    billing_products: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class BootTestSpec:
    enabled: bool
    instance_type: str
    subnet_id: str
    security_groups: tuple[str, ...]
    commands: tuple[str, ...]
    expected_release: str  # a template with {release}
    timeout: timedelta
    package_list: Path | None


@dataclass(frozen=True)
class PackerSpec:
    template: Path
    source_ami: str
    source_owner: str
    source_name: str
    variables: tuple[tuple[str, str], ...]
    var_files: tuple[Path, ...]
    log_path: Path | None


@dataclass(frozen=True)
class BuildInputs:
    region: str
    image: str  # "" with Packer
    packer: PackerSpec | None
    registration: Registration
    share: ShareAudience
    test: BootTestSpec
    upload_concurrency: int
    timeout: timedelta


def boot_mode_for(architecture: str, given: str) -> str:
    """AlmaLinux's choice: uefi-preferred on x86_64 (BIOS where a type lacks UEFI), uefi on arm64."""
    if given:
        return given
    return "uefi" if architecture == "arm64" else "uefi-preferred"


def _choice(reader: InputReader, name: str, choices: tuple[str, ...]) -> str:
    value = reader.text(name)
    if value and value not in choices:
        raise InputError(name, f"{value!r} is not one of {', '.join(choices)}", "pick one of them")
    return value


def _matching(name: str, values: list[str], pattern: re.Pattern[str], fix: str) -> tuple[str, ...]:
    for value in values:
        if not pattern.match(value):
            raise InputError(name, f"{value!r} is malformed", fix)
    return tuple(dict.fromkeys(values))


def _registration(reader: InputReader) -> Registration:
    arch = reader.text("architecture")
    if arch:
        arch = ec2_architecture(arch)
    boot_mode = _choice(reader, "boot-mode", BOOT_MODES)
    tpm = reader.boolean("tpm-support")
    if tpm and boot_mode == "legacy-bios":
        raise InputError(
            "tpm-support", "NitroTPM needs UEFI boot", "set boot-mode to uefi or uefi-preferred"
        )
    root = reader.text("root-device-name")
    if not DEVICE_NAME.match(root):
        raise InputError("root-device-name", f"{root!r} is not a device name", "use e.g. /dev/sda1")
    size_text = reader.text("volume-size")
    size = reader.integer("volume-size", minimum=1, maximum=MAX_VOLUME_GIB) if size_text else None
    tags = parse_tags(reader.text("tags"))
    for key, _ in tags:
        if key in RESERVED_TAGS or key.startswith("imgpub:"):
            raise InputError(
                "tags", f"key {key!r} is set by imgpub", f"remove it ({', '.join(sorted(RESERVED_TAGS))})"
            )
    for name in ("ami-name", "description"):
        if not reader.text(name):
            raise InputError(name, "is empty", f"give a template, e.g. the default {reader.spec(name).default!r}")
    return Registration(
        ami_name_template=reader.text("ami-name"),
        description_template=reader.text("description"),
        version=reader.text("version"),
        architecture=arch,
        boot_mode=boot_mode,
        ena=reader.boolean("ena-support"),
        sriov=reader.boolean("sriov-net-support"),
        imds_v2=reader.boolean("imds-v2"),
        tpm=tpm,
        root_device=root,
        volume_type=_choice(reader, "volume-type", VOLUME_TYPES),
        volume_size=size,
        billing_products=_matching(
            "billing-products", reader.items("billing-products"), BILLING_PRODUCT, "write bp-<hex>"
        ),
        tags=tags,
    )


def _test(reader: InputReader) -> BootTestSpec:
    return BootTestSpec(
        enabled=reader.boolean("test"),
        instance_type=reader.text("instance-type"),
        subnet_id=_matching("subnet-id", reader.items("subnet-id"), SUBNET, "write subnet-<hex>")[0]
        if reader.text("subnet-id")
        else "",
        security_groups=_matching(
            "security-group-id", reader.items("security-group-id"), SECURITY_GROUP, "write sg-<hex>"
        ),
        commands=tuple(reader.lines("test-commands")) or DEFAULT_TEST_COMMANDS,
        expected_release=reader.text("expected-release") or "AlmaLinux release {release}",
        timeout=parse_test_timeout(reader.text("test-timeout")),
        package_list=reader.output_path("package-list"),
    )


_TEST_TIMEOUT = re.compile(r"^(\d+)\s*(s|m|)$")


def parse_test_timeout(raw: str) -> timedelta:
    """Minutes (``15``, ``15m``) or seconds (``90s``), between 5 seconds and 3 hours."""
    match = _TEST_TIMEOUT.match(raw.strip().lower())
    seconds = 0
    if match:
        seconds = int(match.group(1)) * (1 if match.group(2) == "s" else 60)
    if not 5 <= seconds <= 3 * 3600:
        raise InputError("test-timeout", f"{raw!r} is not 5 seconds to 3 hours", "write e.g. 15 or 90s")
    return timedelta(seconds=seconds)


def _packer(reader: InputReader, template: str) -> PackerSpec:
    path = Path(template)
    if not path.exists():
        raise InputError("packer-template", f"{path} does not exist", "give a .pkr.hcl file or folder")
    source = reader.text("source-ami")
    name = reader.text("source-ami-name")
    if source and not AMI_ID.match(source):
        raise InputError("source-ami", f"{source!r} is not an AMI ID", "write ami-<hex>")
    if source and name:
        raise InputError("source-ami", "given with source-ami-name", "give one of the two")
    if not source and not name:
        raise InputError(
            "source-ami-name", "Packer needs a base AMI", "give source-ami or source-ami-name"
        )
    owner = reader.text("source-ami-owner")
    if not OWNER.match(owner):
        raise InputError("source-ami-owner", f"{owner!r} is not an owner", "write self or 12 digits")
    variables: list[tuple[str, str]] = []
    files: list[Path] = []
    for line in reader.lines("packer-vars"):
        key, sep, value = line.partition("=")
        if sep and PACKER_VAR.match(key.strip()):
            variables.append((key.strip(), value.strip()))
            continue
        file = Path(line)
        if not file.is_file() or not line.endswith((".pkrvars.hcl", ".json")):
            raise InputError(
                "packer-vars", f"{line!r} is neither NAME=VALUE nor a variables file", "fix the line"
            )
        files.append(file)
    return PackerSpec(
        path, source, owner, name, tuple(variables), tuple(files), reader.output_path("log-path")
    )


def parse_build_inputs(reader: InputReader, environ: Mapping[str, str] | None = None) -> BuildInputs:
    """Read and check every build-ami input; the first bad one raises InputError."""
    env = os.environ if environ is None else environ
    image = reader.text("image")
    template = reader.text("packer-template")
    if bool(image) == bool(template):
        raise InputError(
            "image", "give exactly one of image and packer-template", "set one, not both or none"
        )
    region = reader.text("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", "")
    if not region:
        raise InputError("region", "not given and AWS_REGION is not set", "set region")
    region = check_region_name("region", region)
    audience = parse_share(
        public=False,
        accounts=reader.items("share-accounts"),
        organizations=reader.items("share-organizations"),
        ous=reader.items("share-ous"),
        snapshots=reader.boolean("share-snapshots"),
    )
    concurrency = reader.integer("upload-concurrency", minimum=1, maximum=64)
    return BuildInputs(
        region=region,
        image=image,
        packer=_packer(reader, template) if template else None,
        registration=_registration(reader),
        share=audience,
        test=_test(reader),
        upload_concurrency=concurrency or DEFAULT_UPLOAD_CONCURRENCY,
        timeout=parse_timeout(reader.text("timeout")),
    )


def instance_type_for(architecture: str, given: str) -> str:
    return given or INSTANCE_TYPES.get(architecture, "t3.small")
