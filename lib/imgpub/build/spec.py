"""The declared inputs and outputs of build-ami, next to the parser that reads them
(:func:`imgpub.build.model.parse_build_inputs`)."""

from __future__ import annotations

from imgpub.inputs import InputSpec, OutputSpec

DEFAULT_AMI_NAME = "AlmaLinux OS {version} {arch}"
DEFAULT_DESCRIPTION = "AlmaLinux OS {release} {arch} image built by imgpub from {source}"
DEFAULT_UPLOAD_CONCURRENCY = 16

BUILD_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "image",
        "The raw disk image to upload into an EBS snapshot: a local path, an https:// or "
        "s3:// URL, optionally .xz or .gz (a fixed .vhd works too). Release, date and "
        "architecture are read from the file name, e.g. "
        "AlmaLinux-9-GenericCloud-9.6-20250522.0.x86_64.raw. Give this or packer-template.",
        kind="path",
    ),
    InputSpec(
        "packer-template",
        "A Packer template (HCL2 file or folder: packer/almalinux-ebssurrogate.pkr.hcl, say) "
        "to build the AMI with instead. Give this or image.",
        kind="path",
    ),
    InputSpec("region", "Region to build in. Default: AWS_REGION."),
    InputSpec(
        "ami-name",
        "Name of the AMI, a template with {release} {version} {date} {arch} {name} "
        "(the image file name without extensions). Unique per region: an AMI of that name "
        "from the same image is reused.",
        default=DEFAULT_AMI_NAME,
    ),
    InputSpec(
        "description",
        "Description of the AMI (a template like ami-name, {source} is the image file name).",
        default=DEFAULT_DESCRIPTION,
    ),
    InputSpec(
        "version",
        "The version for names and the Version tag, e.g. 9.6.20250522. Default: "
        "<release>.<date> from the image file name.",
    ),
    InputSpec(
        "architecture",
        "x86_64 or arm64 (aarch64 is accepted). Default: from the image file name.",
    ),
    InputSpec(
        "boot-mode",
        "uefi, legacy-bios or uefi-preferred. Default: uefi-preferred for x86_64, uefi for arm64.",
    ),
    InputSpec("ena-support", "Enable ENA networking (needed by Nitro types).", "true", kind="bool"),
    InputSpec(
        "sriov-net-support", "Intel SR-IOV networking (x86_64 only).", "true", kind="bool"
    ),
    InputSpec(
        "imds-v2",
        "Make instances of the AMI require IMDSv2 (ImdsSupport v2.0).",
        "true",
        kind="bool",
    ),
    InputSpec(
        "tpm-support", "NitroTPM v2.0 (needs uefi or uefi-preferred boot).", "false", kind="bool"
    ),
    InputSpec("root-device-name", "Root device name of the AMI.", default="/dev/sda1"),
    InputSpec(
        "volume-type",
        "Root volume type: gp3, gp2, io1, io2, st1, sc1 or standard.",
        default="gp3",
    ),
    InputSpec(
        "volume-size",
        "Size of the snapshot and root volume in GiB. Default: the image size rounded up. "
        "Needed for a .gz or a remote compressed image, whose size is unknown before reading.",
    ),
    InputSpec(
        "billing-products",
        "Billing product codes (bp-…) for the AMI; only accounts AWS authorised may set them.",
        kind="list",
    ),
    InputSpec(
        "tags",
        "KEY=VALUE lines added to the AMI and its snapshot (imgpub sets Name, Version, "
        "Architecture, SourceImage and ManagedBy).",
        kind="lines",
    ),
    InputSpec("share-accounts", "12-digit account IDs to give launch permission.", kind="list"),
    InputSpec("share-organizations", "Organization ARNs to give launch permission.", kind="list"),
    InputSpec("share-ous", "Organizational unit ARNs to give launch permission.", kind="list"),
    InputSpec(
        "share-snapshots",
        "Give the accounts create-volume permission on the snapshot too.",
        "true",
        kind="bool",
    ),
    InputSpec(
        "test",
        "Boot one instance of the new AMI and check it through its serial console.",
        "false",
        kind="bool",
    ),
    InputSpec(
        "instance-type",
        "Instance type of the boot test. Default: t3.small (x86_64) or t4g.small (arm64).",
    ),
    InputSpec("subnet-id", "Subnet of the test instance. Default: the default VPC."),
    InputSpec("security-group-id", "Security groups of the test instance.", kind="list"),
    InputSpec(
        "test-commands",
        "Commands the test instance runs, one per line; any non-zero exit fails the test. "
        "Default: dnf -q check-update (the repositories answer and no update is pending).",
        kind="lines",
    ),
    InputSpec(
        "expected-release",
        "Text /etc/almalinux-release (or os-release) must contain. "
        "Default: AlmaLinux release {release}.",
    ),
    InputSpec(
        "test-timeout", "How long to wait for the test result: minutes, or 90s.", default="15"
    ),
    InputSpec(
        "package-list", "Write the test instance's installed packages here.", kind="output"
    ),
    InputSpec("source-ami", "Packer: the base AMI to build from."),
    InputSpec(
        "source-ami-owner",
        "Packer: owner of the base AMI found by source-ami-name (e.g. AlmaLinux's "
        "764336703387).",
        default="self",
    ),
    InputSpec(
        "source-ami-name",
        "Packer: name pattern of the base AMI (the newest available match is taken), e.g. "
        "AlmaLinux OS 9*x86_64.",
    ),
    InputSpec(
        "packer-vars",
        "Packer: NAME=VALUE lines, or paths of .pkrvars.hcl / .json variable files.",
        kind="lines",
    ),
    InputSpec(
        "log-path",
        "Packer: keep Packer's full log here (upload it with actions/upload-artifact).",
        kind="output",
    ),
    InputSpec(
        "upload-concurrency",
        "Blocks sent at once.",
        default=str(DEFAULT_UPLOAD_CONCURRENCY),
        kind="int",
    ),
    InputSpec("timeout", "Overall deadline: minutes, or 90m, 2h, 3600s.", default="60"),
)

BUILD_OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec("ami-id", "ID of the AMI made or found (empty if none)."),
    OutputSpec("ami-name", "Name of the AMI."),
    OutputSpec("snapshot-id", "ID of the AMI's root snapshot."),
    OutputSpec("architecture", "EC2 architecture of the AMI (x86_64 or arm64)."),
    OutputSpec(
        "test-result", "passed, failed, timed-out, skipped (test not asked) or not-run."
    ),
)
