"""Sharing an AMI and its snapshots with an audience, and reading the shares back.

mirror-ami shares every copy in every region; build-ami shares the one image it makes.
Both need the same EC2 knowledge, kept here:

* launch permission for everyone (``Group: all``), accounts, organizations and OUs goes
  into one ModifyImageAttribute; EC2 refuses it while the image is pending
  (``InvalidAMIID.Unavailable``), which a caller may use as a free availability probe;
* ``Public`` in DescribeImages proves a public share; accounts, organizations and OUs can
  only be read back with DescribeImageAttribute;
* snapshots have no organization or OU audience (launch permission on the AMI is what
  those need); everyone and accounts get create-volume permission, read back with one
  DescribeSnapshots ``RestorableByUserIds`` per audience member for all the snapshots;
* reads are eventually consistent, so a read-back that disagrees gets one more try.

Methods take batches (all the images of one region), so a caller pays per region and
audience member, not per image: that is how mirror-ami stays within 5 EC2 calls per
(image, region). :meth:`ImageSharer.share` does the whole job for one image.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from imgpub.aws import ec2_images as ec2x
from imgpub.aws.ec2_images import ImageRecord

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import LaunchPermissionTypeDef

PUBLIC = ec2x.PUBLIC_GROUP
SnapshotCheck = Literal["attribute", "restorable-by"]


@dataclass(frozen=True)
class ShareAudience:
    """Who gets launch permission (and, for snapshots, create-volume permission)."""

    public: bool = False
    accounts: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    ous: tuple[str, ...] = ()
    snapshots: bool = True

    @property
    def any(self) -> bool:
        return self.public or bool(self.accounts or self.organizations or self.ous)

    @property
    def private_entities(self) -> bool:
        """Audiences that only DescribeImageAttribute can verify (``Public`` covers ``all``)."""
        return bool(self.accounts or self.organizations or self.ous)

    @property
    def snapshot_audience(self) -> tuple[str, ...]:
        """Who gets create-volume permission on the snapshots: ``all`` and the accounts."""
        if not self.snapshots:
            return ()
        return ((PUBLIC,) if self.public else ()) + self.accounts

    def describe(self) -> str:
        """The audience in words, for plans and summaries."""
        parts = (["everyone (public)"] if self.public else []) + [
            *self.accounts,
            *self.organizations,
            *self.ous,
        ]
        return ", ".join(parts)


@dataclass(frozen=True)
class SharingOutcome:
    """What :meth:`ImageSharer.share` did to one image and what the read-back found."""

    image_id: str
    launch_added: bool
    snapshots_shared: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class ImageSharer:
    """Share images of one region with one audience; the caller owns the client and region."""

    def __init__(
        self,
        ec2: EC2Client,
        audience: ShareAudience,
        *,
        snapshot_check: SnapshotCheck = "restorable-by",
        retry_seconds: float = 2.0,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.ec2 = ec2
        self.audience = audience
        self.snapshot_check = snapshot_check
        self.retry_seconds = retry_seconds
        self.sleep = sleep

    # -- launch permission

    def missing_launch_permissions(
        self, image: ImageRecord, *, fresh: bool
    ) -> list[LaunchPermissionTypeDef]:
        """What ModifyImageAttribute must add to ``image``.

        ``fresh``: nobody but its owner can have the image yet (a copy this run made), so
        its accounts, organizations and OUs are not read first.
        """
        a = self.audience
        accounts, orgs, ous = a.accounts, a.organizations, a.ous
        if a.private_entities and not fresh:
            have = ec2x.launch_permissions(self.ec2, image.image_id)
            accounts = tuple(x for x in accounts if {"UserId": x} not in have)
            orgs = tuple(x for x in orgs if {"OrganizationArn": x} not in have)
            ous = tuple(x for x in ous if {"OrganizationalUnitArn": x} not in have)
        return ec2x.launch_permission_items(
            public=a.public and not image.public, accounts=accounts, organizations=orgs, ous=ous
        )

    def add_launch_permissions(
        self, image_id: str, items: Sequence[LaunchPermissionTypeDef]
    ) -> bool:
        """One ModifyImageAttribute for every audience; False when there was nothing to add."""
        if not items:
            return False
        ec2x.add_launch_permission(self.ec2, image_id, items)
        return True

    def launch_problem(self, image: ImageRecord, *, read_private: bool) -> str | None:
        """What a fresh DescribeImages record of ``image`` shows missing, or None.

        ``read_private``: also read accounts, organizations and OUs back (one
        DescribeImageAttribute), e.g. right after adding them.
        """
        if self.audience.public and not image.public:
            return f"{image.image_id} is not public after ModifyImageAttribute"
        if not (read_private and self.audience.private_entities):
            return None
        have = ec2x.launch_permissions(self.ec2, image.image_id)
        want = ec2x.launch_permission_items(
            public=False,
            accounts=self.audience.accounts,
            organizations=self.audience.organizations,
            ous=self.audience.ous,
        )
        lacking = [str(next(iter(w.values()))) for w in want if dict(w) not in have]
        return f"{image.image_id} is not shared with {', '.join(lacking)}" if lacking else None

    # -- snapshots

    def share_snapshots(
        self, images: Iterable[ImageRecord], *, fresh: Collection[str] = ()
    ) -> dict[str, tuple[str, ...]]:
        """Give every backing snapshot the audience; image ID → the snapshots changed.

        Snapshots of the ``fresh`` images (copied or shared by this run) cannot have the
        audience yet and are shared without reading first; the others (a re-run) are read
        with one call per audience member for all of them.
        """
        audience = self.audience.snapshot_audience
        if not audience:
            return {}
        wanted = list(images)
        new = {s for image in wanted if image.image_id in fresh for s in image.snapshot_ids}
        have = self.snapshot_users({s for image in wanted for s in image.snapshot_ids} - new)
        changed: dict[str, tuple[str, ...]] = {}
        for image in wanted:
            for snap in image.snapshot_ids:
                users = [u for u in audience if snap in new or u not in have.get(snap, set())]
                if not users:
                    continue
                ec2x.add_create_volume_permission(
                    self.ec2,
                    snap,
                    public=PUBLIC in users,
                    accounts=[u for u in users if u != PUBLIC],
                )
                changed[image.image_id] = (*changed.get(image.image_id, ()), snap)
        return changed

    def snapshot_problems(self, snapshot_ids: Iterable[str]) -> dict[str, str]:
        """Snapshot → the audience member it is not shared with; one retry for consistency."""
        snaps = sorted(set(snapshot_ids))
        if not snaps or not self.audience.snapshot_audience:
            return {}
        problems = self._snapshot_problems(snaps)
        if problems:
            self.sleep(self.retry_seconds)
            problems = self._snapshot_problems(snaps)
        return problems

    def _snapshot_problems(self, snaps: Sequence[str]) -> dict[str, str]:
        users = self.snapshot_users(snaps)
        problems: dict[str, str] = {}
        for snap in snaps:
            for user in self.audience.snapshot_audience:
                if user not in users.get(snap, set()):
                    problems.setdefault(snap, f"snapshot {snap} is not shared with {user}")
        return problems

    def snapshot_users(self, snapshots: Iterable[str]) -> dict[str, set[str]]:
        """Snapshot → the audience members that may create volumes from it.

        ``restorable-by`` (default) reads DescribeSnapshots once per audience member,
        whatever the number of snapshots; ``attribute`` reads DescribeSnapshotAttribute
        per snapshot (for endpoints that ignore ``RestorableByUserIds``).
        """
        snaps = sorted(set(snapshots))
        audience = self.audience.snapshot_audience
        out: dict[str, set[str]] = {s: set() for s in snaps}
        if not snaps or not audience:
            return out
        if self.snapshot_check == "restorable-by":
            for user in audience:
                for snap in ec2x.snapshots_restorable_by(self.ec2, snaps, user):
                    out[snap].add(user)
            return out
        for snap in snaps:
            for perm in ec2x.create_volume_permissions(self.ec2, snap):
                out[snap].add(perm.get("Group") or perm.get("UserId", ""))
        return out

    # -- one image, start to end

    def share(self, image: ImageRecord, *, fresh: bool = False) -> SharingOutcome:
        """Share one available image and its snapshots, then read everything back.

        Only what is missing is added, so calling it again changes nothing. A ClientError
        of the change itself (the image is pending, access denied) is raised; what the
        read-back finds missing is returned in ``problems``.
        """
        added = self.add_launch_permissions(
            image.image_id, self.missing_launch_permissions(image, fresh=fresh)
        )
        problem: str | None = None
        for attempt in range(2):
            current = self._reread(image) if added or attempt else image
            problem = self.launch_problem(current, read_private=added)
            if problem is None:
                break
            self.sleep(self.retry_seconds)
        fresh_ids = {image.image_id} if fresh or added else set()
        shared = self.share_snapshots([image], fresh=fresh_ids).get(image.image_id, ())
        problems = [problem] if problem else []
        problems.extend(self.snapshot_problems(shared).values())
        return SharingOutcome(image.image_id, added, shared, tuple(problems))

    def _reread(self, image: ImageRecord) -> ImageRecord:
        found = ec2x.images_by_id(self.ec2, image.region, [image.image_id], own=False)
        return found[0] if found else image
