"""The few places where imgpub's EC2 extensions reach into moto's in-process EC2 model.

Copy latency and deprecation times must show up everywhere moto reports an image —
DescribeImages output, its ``state`` filter, the ``image_available`` waiter — so rather
than rewriting moto's XML we set the image's own ``state`` and ``deprecation_time``
attributes, which moto's model-driven serializer and filters already read. Keeping that
coupling to moto 5.x internals in this one module makes it easy to find when moto changes.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import Any

_COPYING_CLASSES: dict[type, type] = {}


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


def image_state(account: str, region: str, image_id: str) -> str | None:
    """An image's state (``pending``, ``available`` …), or None when it does not exist."""
    image = find_image(account, region, image_id)
    return None if image is None else str(image.state)


def image_snapshot_ids(account: str, region: str, image_id: str) -> list[str]:
    """The snapshots backing an image (moto gives every AMI exactly one)."""
    image = find_image(account, region, image_id)
    snapshot = getattr(image, "ebs_snapshot", None)
    return [] if snapshot is None else [str(snapshot.id)]


def image_tags(account: str, region: str, image_id: str) -> dict[str, str]:
    """The user tags of an image (empty when it does not exist)."""
    from moto.ec2.models import ec2_backends

    try:
        backend = ec2_backends[account][region]
    except KeyError:
        return {}
    return dict(backend.tags.get(image_id, {}))


def add_tags(account: str, region: str, resource_ids: list[str], tags: dict[str, str]) -> None:
    """Tag images and snapshots the way CreateTags would (moto validates and stores)."""
    from moto.ec2.models import ec2_backends

    if resource_ids and tags:
        ec2_backends[account][region].create_tags(resource_ids, tags)


def snapshot_audience(account: str, region: str) -> dict[str, tuple[str, set[str], set[str]]]:
    """snapshot → (owner, groups, user IDs) with create-volume permission, for one region."""
    from moto.ec2.models import ec2_backends

    try:
        backend = ec2_backends[account][region]
    except KeyError:
        return {}
    return {
        snap_id: (
            str(snap.owner_id),
            set(snap.create_volume_permission_groups),
            set(snap.create_volume_permission_userids),
        )
        for snap_id, snap in backend.snapshots.items()
    }


def _copying(snapshot: Any) -> None:
    """Give a moto ``Snapshot`` a live ``progress`` (moto's is a constant ``100%``).

    The instance's class is swapped for a subclass whose ``progress`` reads the copy window
    set by :func:`start_snapshot_copy`; outside a window it is moto's own.
    """
    base = type(snapshot)
    if getattr(base, "_imgpub_copying", False):
        return
    cls = _COPYING_CLASSES.get(base)
    if cls is None:

        def progress(self: Any) -> str:
            window = getattr(self, "_imgpub_window", None)
            if window is None:
                return str(base.progress.fget(self))
            started, seconds = window
            done = int(100 * (time.monotonic() - started) / seconds) if seconds > 0 else 100
            return f"{max(0, min(99, done))}%"

        cls = type(
            f"Copying{base.__name__}",
            (base,),
            {"progress": property(progress), "_imgpub_copying": True},
        )
        _COPYING_CLASSES[base] = cls
    snapshot.__class__ = cls


def start_snapshot_copy(account: str, region: str, image_id: str, seconds: float) -> None:
    """The image's snapshots are ``pending``, their progress rising linearly over ``seconds``.

    This is how EC2 shows the snapshots of an AMI copy in flight, and what lets a client
    estimate when the copy will be done.
    """
    image = find_image(account, region, image_id)
    snapshot = getattr(image, "ebs_snapshot", None)
    if snapshot is None:
        return
    _copying(snapshot)
    snapshot._imgpub_window = (time.monotonic(), seconds)
    snapshot.status = "pending"
    # StartTime is when the copy started, the same instant the progress counts from.
    snapshot.start_time = datetime.now(UTC).replace(tzinfo=None)  # moto keeps naive UTC


def complete_snapshot_copy(account: str, region: str, image_id: str) -> None:
    """The copy is done: its snapshots are ``completed`` at ``100%``."""
    image = find_image(account, region, image_id)
    snapshot = getattr(image, "ebs_snapshot", None)
    if snapshot is None:
        return
    snapshot._imgpub_window = None
    snapshot.status = "completed"


# -- EBS direct snapshots and registered images (build-ami) ----------------------------------

_REGISTERED_CLASSES: dict[type, type] = {}


def _backend(account: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def create_snapshot(
    account: str, region: str, size_gib: int, description: str, tags: dict[str, str]
) -> tuple[str, str]:
    """A ``pending`` EC2 snapshot of ``size_gib`` GiB, as EBS StartSnapshot makes one.

    moto needs a volume to snapshot; like the EC2 snapshot of an EBS direct upload, the
    result belongs to no volume a caller can see (the volume is deleted at once).
    Returns (snapshot ID, owner account).
    """
    backend = _backend(account, region)
    volume = backend.create_volume(size=size_gib, zone_name=f"{region}a")
    snapshot = backend.create_snapshot(volume.id, description, account)
    backend.delete_volume(volume.id)
    snapshot.status = "pending"
    if tags:
        backend.create_tags([snapshot.id], tags)
    return str(snapshot.id), str(snapshot.owner_id)


def find_snapshot(account: str, region: str, snapshot_id: str) -> Any | None:
    try:
        return _backend(account, region).snapshots.get(snapshot_id)
    except KeyError:
        return None


def set_snapshot_state(account: str, region: str, snapshot_id: str, state: str) -> bool:
    """``pending`` → ``completed`` (or ``error``); False when the snapshot is gone."""
    snapshot = find_snapshot(account, region, snapshot_id)
    if snapshot is None:
        return False
    snapshot.status = state
    return True


def images_named(account: str, region: str, name: str) -> list[str]:
    """The account's images in ``region`` called ``name`` (EC2 allows one)."""
    try:
        backend = _backend(account, region)
    except KeyError:
        return []
    return [
        str(ami.id)
        for ami in backend.amis.values()
        if ami.name == name and str(ami.owner_id) == account
    ]


def _registered(image: Any) -> None:
    """Let a moto ``Ami`` report the block device mappings it was registered with."""
    base = type(image)
    if getattr(base, "_imgpub_registered", False):
        return
    cls = _REGISTERED_CLASSES.get(base)
    if cls is None:

        def mappings(self: Any) -> list[dict[str, Any]]:
            kept = getattr(self, "_imgpub_mappings", None)
            return list(kept) if kept is not None else list(base.block_device_mappings.fget(self))

        cls = type(
            f"Registered{base.__name__}",
            (base,),
            {"block_device_mappings": property(mappings), "_imgpub_registered": True},
        )
        _REGISTERED_CLASSES[base] = cls
    image.__class__ = cls


def keep_registration(account: str, region: str, image_id: str, attributes: dict[str, Any]) -> None:
    """Give a moto ``Ami`` what RegisterImage asked for and moto dropped.

    ``attributes`` holds the image's attributes by moto's names (architecture,
    boot_mode, ena_support …), ``mappings`` (DescribeImages' BlockDeviceMappings) and
    ``snapshot_id`` (the root snapshot, which replaces the synthetic one moto made).
    """
    image = find_image(account, region, image_id)
    if image is None:
        return
    backend = _backend(account, region)
    mappings = attributes.pop("mappings")
    root_snapshot = attributes.pop("snapshot_id", None)
    for name, value in attributes.items():
        setattr(image, name, value)
    if mappings:  # without a snapshot moto's synthetic one stays (older seeds rely on it)
        _registered(image)
        image._imgpub_mappings = mappings
    snapshot = find_snapshot(account, region, root_snapshot) if root_snapshot else None
    if snapshot is not None:
        synthetic = image.ebs_snapshot
        image.ebs_snapshot = snapshot
        if synthetic is not None and synthetic.id != snapshot.id:
            backend.snapshots.pop(synthetic.id, None)


def instance_user_data(account: str, region: str, instance_id: str) -> str | None:
    """The user data an instance was launched with (decoded), or None if unknown."""
    import base64

    try:
        backend = _backend(account, region)
        instance = backend.get_instance(instance_id)
    except Exception:  # moto raises its own InvalidInstanceID error
        return None
    data = getattr(instance, "user_data", None)
    if isinstance(data, list):
        data = data[0] if data else None
    if not data:
        return None
    raw = data if isinstance(data, bytes) else str(data).encode()
    try:
        return base64.b64decode(raw).decode("utf-8", "replace")
    except ValueError:
        return raw.decode("utf-8", "replace")


def instance_launch(account: str, region: str, instance_id: str) -> tuple[str, datetime] | None:
    """(state, launch time) of an instance, or None."""
    try:
        instance = _backend(account, region).get_instance(instance_id)
    except Exception:  # moto raises its own InvalidInstanceID error
        return None
    launched = getattr(instance, "launch_time", None)
    when = datetime.now(UTC)
    if isinstance(launched, str):
        with contextlib.suppress(ValueError):
            when = datetime.fromisoformat(launched.replace("Z", "+00:00"))
    return str(instance.state), when
