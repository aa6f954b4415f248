"""The few places where imgpub's EC2 extensions reach into moto's in-process EC2 model.

Copy latency and deprecation times must show up everywhere moto reports an image —
DescribeImages output, its ``state`` filter, the ``image_available`` waiter — so rather
than rewriting moto's XML we set the image's own ``state`` and ``deprecation_time``
attributes, which moto's model-driven serializer and filters already read. Keeping that
coupling to moto 5.x internals in this one module makes it easy to find when moto changes.
"""

from __future__ import annotations

from typing import Any


def account_for(access_key: str) -> str:
    """The account moto attributes to ``access_key`` (123456789012 unless STS says else)."""
    from moto.iam.models import get_account_id_from

    return str(get_account_id_from(access_key))


def find_image(account: str, region: str, image_id: str) -> Any | None:
    """moto's ``Ami`` object, or None when the image (or the region) does not exist."""
    from moto.ec2.models import ec2_backends

    try:
        backend = ec2_backends[account][region]
    except KeyError:
        return None
    return backend.amis.get(image_id)


def set_image_state(account: str, region: str, image_id: str, state: str) -> bool:
    """Set an image's state (``pending``/``available``); False if it is gone."""
    image = find_image(account, region, image_id)
    if image is None:
        return False
    image.state = state
    return True


def set_deprecation_time(account: str, region: str, image_id: str, when: str | None) -> bool:
    """Set or clear the ``DeprecationTime`` DescribeImages shows; False if the image is gone."""
    image = find_image(account, region, image_id)
    if image is None:
        return False
    image.deprecation_time = when
    return True
