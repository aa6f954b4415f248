"""SSM Parameter Store calls for AMI-ID parameters.

``DataType=aws:ec2:image`` makes SSM check the value is an AMI in that region, but the check
is asynchronous: PutParameter answers 200 and then silently drops a bad value. So every
write is read back (one GetParameters per region for all names) and compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

AMI_DATA_TYPE = "aws:ec2:image"
_BATCH = 10  # GetParameters takes at most 10 names


def current_values(ssm: SSMClient, names: Iterable[str]) -> dict[str, str]:
    """name → value for the names that exist."""
    wanted = sorted(set(names))
    out: dict[str, str] = {}
    for i in range(0, len(wanted), _BATCH):
        answer = ssm.get_parameters(Names=wanted[i : i + _BATCH])
        out.update({p["Name"]: p["Value"] for p in answer.get("Parameters", [])})
    return out


def put_ami_parameter(
    ssm: SSMClient, name: str, value: str, *, overwrite: bool, description: str = ""
) -> int:
    """Write one parameter; returns its new version."""
    answer = ssm.put_parameter(
        Name=name,
        Value=value,
        Type="String",
        DataType=AMI_DATA_TYPE,
        Overwrite=overwrite,
        Description=description[:1024],
    )
    return int(answer.get("Version", 0))
