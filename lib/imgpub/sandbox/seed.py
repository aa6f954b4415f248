"""Test images for the local EC2, tagged the way a release build tags them.

moto keeps only an AMI's name and description from RegisterImage, so the Name, Version and
Architecture tags a real build sets are added explicitly; stages read the architecture
from the tag (``aarch64``), as AlmaLinux's tables do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def register_release_ami(ec2: EC2Client, name: str, version: str, arch: str) -> str:
    """Register an AMI named ``name`` tagged with Name, Version and Architecture=``arch``."""
    image_id = ec2.register_image(
        Name=name,
        Description=f"Official {name} image",
        Architecture="x86_64" if arch == "x86_64" else "arm64",
        RootDeviceName="/dev/sda1",
        VirtualizationType="hvm",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 10}}],
    )["ImageId"]
    ec2.create_tags(
        Resources=[image_id],
        Tags=[
            {"Key": "Name", "Value": name},
            {"Key": "Version", "Value": version},
            {"Key": "Architecture", "Value": arch},
        ],
    )
    return image_id
