"""A WSGI middleware that makes moto's EC2 behave like the real one where imgpub depends on it.

moto answers most AMI calls well, but some that mirror-ami and build-ami rely on are
missing (image block public access, image deprecation) or too kind to be a useful
rehearsal (copies are ``available`` at once, client tokens are ignored, no throttling, no
region failures, 38 regions in every partition). This middleware sits in front of moto's
``DomainDispatcherApplication`` and, for EC2 Query API requests only:

* answers Get/Enable/DisableImageBlockPublicAccess and refuses public launch permission
  while a region is blocked, with EC2's ``OperationNotPermitted``;
* answers Enable/DisableImageDeprecation with EC2's validations, and shows
  ``DeprecationTime`` in DescribeImages;
* makes CopyImage ``ClientToken`` idempotent, applies its ``TagSpecifications`` (image and
  snapshot) and ``CopyImageTags`` to the copy, and keeps copies optionally ``pending`` for a
  while — during which its snapshots are ``pending`` with a rising ``Progress`` and
  ModifyImageAttribute's launch permission answers ``InvalidAMIID.Unavailable``, as EC2
  does for an image not yet available;
* honours DescribeSnapshots ``RestorableByUserIds`` (account IDs, ``self``, ``all``);
* answers DescribeRegions with the account's enabled regions of the ``aws`` partition;
* translates ModifySnapshotAttribute's structured ``CreateVolumePermission`` (which moto
  silently ignores) into the flat form moto implements;
* injects throttling and per-region failures, and counts calls — all off by default.

Requests for other services (SSM, STS, ECR) pass through untouched, only counted. EBS
direct API requests are answered by :class:`imgpub.sandbox.fake_ebs.FakeEbs` (moto's EBS
checks nothing), on moto's own snapshots; RegisterImage keeps what moto drops and
GetConsoleOutput answers for boot-test instances (:mod:`imgpub.sandbox.ec2_registration`).
The control endpoint (:mod:`imgpub.sandbox.control`) is served from the same port, and the
EBS fake's control API under ``/_fake/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from imgpub.sandbox import ec2_backend, ec2_registration
from imgpub.sandbox.control import CONTROL_PREFIX, handle_control
from imgpub.sandbox.ec2_config import error_message, error_status
from imgpub.sandbox.ec2_protocol import (
    Ec2Error,
    Environ,
    Reply,
    SigningScope,
    StartResponse,
    WsgiApp,
    call_app,
    dry_run,
    error_reply,
    filters,
    form_params,
    format_timestamp,
    indexed_structs,
    indexed_values,
    is_true,
    parse_timestamp,
    read_body,
    required,
    signing_scope,
    success_reply,
    with_body,
)
from imgpub.sandbox.ec2_regions import describe_regions_xml, partition_regions
from imgpub.sandbox.ec2_state import Ec2State, TokenRecord
from imgpub.sandbox.fake_ebs import FakeEbs
from imgpub.sandbox.fake_server import CONTROL_PREFIX as FAKE_CONTROL_PREFIX

BLOCKED_PUBLIC_SHARE_MESSAGE = (
    "You can\u2019t publicly share this image because block public access for AMIs is enabled "
    "for this account. To publicly share the image, you must call the "
    "DisableImageBlockPublicAccess API."
)
BLOCK_STATE = "block-new-sharing"
UNBLOCKED_STATE = "unblocked"
MAX_DEPRECATION = timedelta(days=3652)  # "at most 10 years"
MAX_PUBLIC_DEPRECATION = timedelta(days=730)  # public AMIs: 2 years from creation
_IMAGE_ID = re.compile(r"<imageId>(ami-[0-9a-zA-Z]+)</imageId>")
# Parameters that do not make two CopyImage requests different.
_NOT_IN_FINGERPRINT = frozenset({"Action", "Version", "ClientToken"})


@dataclass(frozen=True)
class Ec2Call:
    """One EC2 Query API request, parsed once."""

    environ: Environ
    scope: SigningScope
    account: str
    action: str
    params: dict[str, str]

    @property
    def region(self) -> str:
        """The region the request was signed for (and that moto serves it in)."""
        return self.scope.region


class Ec2Extras:
    """The middleware. ``app`` is moto's WSGI application; ``state`` is shared with control."""

    def __init__(self, app: WsgiApp, state: Ec2State | None = None) -> None:
        self.app = app
        self.state = state or Ec2State()
        self.ebs = FakeEbs()
        self._universe = partition_regions()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(CONTROL_PREFIX):
            if path.rstrip("/").endswith("/ec2/reset"):
                self.ebs.reset()
            return handle_control(environ, self.state, self.app).send(start_response)
        if path.startswith(FAKE_CONTROL_PREFIX):
            return self.ebs.wsgi(environ, start_response)
        if path.startswith("/moto-api/reset"):
            reset_reply = call_app(self.app, environ)
            self.state.forget_resources()
            self.ebs.reset()
            return reset_reply.send(start_response)
        scope = signing_scope(environ)
        if scope is not None and scope.service == "ebs":
            self.state.record_other("ebs")
            return self.ebs.wsgi(environ, start_response)
        if scope is None or scope.service != "ec2":
            if scope is not None:
                self.state.record_other(scope.service)
            return self.app(environ, start_response)
        body = read_body(environ)
        params = form_params(environ, body)
        action = params.get("Action")
        if not action:
            return self.app(environ, start_response)
        call = Ec2Call(
            environ=environ,
            scope=scope,
            account=ec2_backend.account_for(scope.access_key),
            action=action,
            params=params,
        )
        reply: Reply | None
        try:
            reply = self._handle(call)
        except Ec2Error as error:
            reply = error_reply(error)
        if reply is None:
            return self.app(environ, start_response)
        return reply.send(start_response)

    # --- the common path -----------------------------------------------------------

    def _handle(self, call: Ec2Call) -> Reply | None:
        """Count, settle pending copies, inject faults, then answer or pass to moto."""
        self._settle_pending()
        self.state.record_call(call.action, call.region)
        self.state.record_images(call.region, _named_images(call.params))
        source_region = call.params.get("SourceRegion")
        if source_region and call.params.get("SourceImageId"):
            self.state.record_images(source_region, [call.params["SourceImageId"]])
        config = self.state.config
        if config.reject_disabled_regions and call.region not in self.state.enabled_regions():
            raise Ec2Error("AuthFailure", error_message("AuthFailure"), error_status("AuthFailure"))
        failure = self.state.injected_failure(call.region)
        if failure is not None:
            raise Ec2Error(failure, error_message(failure), error_status(failure))
        if self.state.should_throttle():
            raise Ec2Error("RequestLimitExceeded", error_message("RequestLimitExceeded"), 503)
        handler = _HANDLERS.get(call.action)
        return None if handler is None else handler(self, call)

    def _settle_pending(self) -> None:
        """Turn copies whose latency is over ``available``; lazily, before each EC2 call.

        State can only be observed through a request, so flipping it at request time is
        indistinguishable from a timer and needs no thread.
        """
        for account, region, image_id in self.state.take_due():
            ec2_backend.set_image_state(account, region, image_id, "available")
            ec2_backend.complete_snapshot_copy(account, region, image_id)
        self.ebs.settle()

    def _forward(self, call: Ec2Call, params: dict[str, str] | None = None) -> Reply:
        environ = call.environ if params is None else with_body(call.environ, params)
        return call_app(self.app, environ)

    # --- image block public access -------------------------------------------------

    def get_image_bpa(self, call: Ec2Call) -> Reply:
        dry_run(call.params)
        state = BLOCK_STATE if self.state.is_blocked(call.region) else UNBLOCKED_STATE
        return success_reply(
            call.action, [("imageBlockPublicAccessState", state), ("managedBy", "account")]
        )

    def enable_image_bpa(self, call: Ec2Call) -> Reply:
        wanted = required(call.params, "ImageBlockPublicAccessState")
        if wanted != BLOCK_STATE:
            raise Ec2Error(
                "InvalidParameterValue",
                f"Value ({wanted}) for parameter ImageBlockPublicAccessState is invalid. "
                f"Valid value: {BLOCK_STATE}.",
            )
        dry_run(call.params)
        self.state.set_blocked(call.region, True)
        return success_reply(call.action, [("imageBlockPublicAccessState", BLOCK_STATE)])

    def disable_image_bpa(self, call: Ec2Call) -> Reply:
        dry_run(call.params)
        self.state.set_blocked(call.region, False)
        return success_reply(call.action, [("imageBlockPublicAccessState", UNBLOCKED_STATE)])

    def modify_image_attribute(self, call: Ec2Call) -> Reply | None:
        """Launch permission needs an available image, then an unblocked region for ``all``.

        EC2 refuses attribute changes on an image that is not yet ``available`` (a copy in
        progress) with ``InvalidAMIID.Unavailable``; moto would accept them.
        """
        image_id = call.params.get("ImageId", "")
        if _changes_launch_permission(call.params) and (
            ec2_backend.image_state(call.account, call.region, image_id) == "pending"
        ):
            raise Ec2Error("InvalidAMIID.Unavailable", unavailable_message(image_id))
        if self.state.is_blocked(call.region) and _adds_public(call.params):
            raise Ec2Error("OperationNotPermitted", BLOCKED_PUBLIC_SHARE_MESSAGE)
        return None

    # --- deprecation ---------------------------------------------------------------

    def enable_image_deprecation(self, call: Ec2Call) -> Reply:
        image = self._image(call)
        raw = required(call.params, "DeprecateAt")
        when = parse_timestamp(raw, "DeprecateAt")
        now = datetime.now(UTC)
        if when < now:
            raise Ec2Error(
                "InvalidParameterValue",
                f"The deprecation time ({raw}) must be in the future.",
            )
        if when > now + MAX_DEPRECATION:
            raise Ec2Error(
                "InvalidParameterValue",
                f"The deprecation time ({raw}) can't be more than 10 years in the future.",
            )
        created = getattr(image, "creation_date", None)
        if getattr(image, "is_public", False) and isinstance(created, datetime):
            created_utc = created if created.tzinfo else created.replace(tzinfo=UTC)
            if when > created_utc + MAX_PUBLIC_DEPRECATION:
                raise Ec2Error(
                    "InvalidParameterValue",
                    f"The deprecation time ({raw}) of a public image can't be more than "
                    "2 years after its creation.",
                )
        dry_run(call.params)
        ec2_backend.set_deprecation_time(
            call.account, call.region, image.id, format_timestamp(_round_to_minute(when))
        )
        return success_reply(call.action, [("return", "true")])

    def disable_image_deprecation(self, call: Ec2Call) -> Reply:
        image = self._image(call)
        dry_run(call.params)
        ec2_backend.set_deprecation_time(call.account, call.region, image.id, None)
        return success_reply(call.action, [("return", "true")])

    def _image(self, call: Ec2Call) -> Any:
        image_id = required(call.params, "ImageId")
        if not image_id.startswith("ami-"):
            raise Ec2Error("InvalidAMIID.Malformed", f'Invalid id: "{image_id}"')
        image = ec2_backend.find_image(call.account, call.region, image_id)
        if image is None:
            raise Ec2Error("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
        return image

    # --- copies, registrations -----------------------------------------------------

    def copy_image(self, call: Ec2Call) -> Reply:
        _copy_tag_specifications(call.params)  # invalid ones fail before any copy
        token = call.params.get("ClientToken")
        if not token:
            return self._copy(call)
        key = (call.account, call.region, token)
        fingerprint = tuple(
            sorted((k, v) for k, v in call.params.items() if k not in _NOT_IN_FINGERPRINT)
        )
        with self.state.token_lock(key):
            record = self.state.token(key)
            if record is not None:
                if record.fingerprint != fingerprint:
                    raise Ec2Error(
                        "IdempotentParameterMismatch",
                        f"The client token '{token}' was already used for a request "
                        "with different parameters.",
                    )
                return success_reply(call.action, [("imageId", record.image_id)])
            reply = self._copy(call)
            image_id = _created_image(reply)
            if image_id is not None:
                self.state.remember_token(key, TokenRecord(fingerprint, image_id))
            return reply

    def _copy(self, call: Ec2Call) -> Reply:
        reply = self._forward(call)
        image_id = _created_image(reply)
        if image_id is not None:
            self.state.record_images(call.region, [image_id])
            self._tag_copy(call, image_id)
            latency = self.state.config.copy_pending_seconds
            if latency > 0 and ec2_backend.set_image_state(
                call.account, call.region, image_id, "pending"
            ):
                self.state.add_pending((call.account, call.region, image_id), latency)
                ec2_backend.start_snapshot_copy(call.account, call.region, image_id, latency)
        return reply

    def _tag_copy(self, call: Ec2Call, image_id: str) -> None:
        """What EC2 does with a CopyImage's tags and moto ignores.

        ``CopyImageTags=true`` copies the source's user-defined tags (not ``aws:`` ones) to
        the new AMI; ``TagSpecifications`` put their tags on the new AMI (``image``) and on
        every new snapshot (``snapshot``), atomically with the copy. Explicit tags win over
        copied ones with the same key.
        """
        image_tags: dict[str, str] = {}
        if is_true(call.params.get("CopyImageTags")):
            source = ec2_backend.image_tags(
                call.account, call.params.get("SourceRegion", ""), call.params["SourceImageId"]
            )
            image_tags.update({k: v for k, v in source.items() if not k.startswith("aws:")})
        specs = _copy_tag_specifications(call.params)
        image_tags.update(specs.get("image", {}))
        ec2_backend.add_tags(call.account, call.region, [image_id], image_tags)
        snapshots = ec2_backend.image_snapshot_ids(call.account, call.region, image_id)
        ec2_backend.add_tags(call.account, call.region, snapshots, specs.get("snapshot", {}))

    def register_with_moto(self, call: Ec2Call) -> Reply:
        """moto's RegisterImage/CreateImage (it keeps the name and description only)."""
        reply = self._forward(call)
        image_id = _created_image(reply)
        if image_id is not None:
            self.state.record_images(call.region, [image_id])
        return reply

    # --- regions, snapshots --------------------------------------------------------

    def describe_regions(self, call: Ec2Call) -> Reply:
        dry_run(call.params)
        fragment = describe_regions_xml(call.params, self.state.enabled_regions(), self._universe)
        return success_reply(call.action, raw_xml=fragment)

    def describe_snapshots(self, call: Ec2Call) -> Reply | None:
        """Honour ``RestorableByUserIds``, which moto ignores (it lists every snapshot).

        EC2 returns only snapshots those accounts can create volumes from: an account ID
        (of the caller's own snapshots) matches its explicit permission, public snapshots
        and its own; ``self`` the caller's own and explicitly shared ones; ``all`` public
        ones. The answer is computed here and handed to moto as an extra ``snapshot-id``
        filter, so moto's other filters and its response format stay in charge.
        """
        users = indexed_values(call.params, "RestorableBy")
        if not users:
            return None
        allowed = {
            snap
            for snap, (owner, groups, user_ids) in ec2_backend.snapshot_audience(
                call.account, call.region
            ).items()
            if any(_may_restore(user, call.account, owner, groups, user_ids) for user in users)
        }
        given = filters(call.params)
        if "snapshot-id" in given:
            allowed &= set(given["snapshot-id"])
        given["snapshot-id"] = sorted(allowed) or ["snap-00000000000000000"]  # matches none
        params = {
            k: v for k, v in call.params.items() if not k.startswith(("Filter.", "RestorableBy."))
        }
        for i, (name, values) in enumerate(sorted(given.items()), 1):
            params[f"Filter.{i}.Name"] = name
            params.update({f"Filter.{i}.Value.{j}": v for j, v in enumerate(values, 1)})
        return self._forward(call, params)

    def modify_snapshot_attribute(self, call: Ec2Call) -> Reply | None:
        """Replay ``CreateVolumePermission={"Add"/"Remove": …}`` as moto's flat form."""
        prefix = "CreateVolumePermission"
        adds = indexed_structs(call.params, f"{prefix}.Add")
        removes = indexed_structs(call.params, f"{prefix}.Remove")
        if not adds and not removes:
            return None
        base = {k: v for k, v in call.params.items() if not k.startswith(prefix + ".")}
        base["Attribute"] = "createVolumePermission"
        reply: Reply | None = None
        for operation, items in (("add", adds), ("remove", removes)):
            if not items:
                continue
            flat = dict(base, OperationType=operation)
            users = [item["UserId"] for item in items if "UserId" in item]
            groups = [item["Group"] for item in items if "Group" in item]
            flat.update({f"UserId.{i}": user for i, user in enumerate(users, 1)})
            flat.update({f"UserGroup.{i}": group for i, group in enumerate(groups, 1)})
            reply = self._forward(call, flat)
            if reply.status != 200:
                return reply
        return reply


_HANDLERS: dict[str, Callable[[Ec2Extras, Ec2Call], Reply | None]] = {
    "GetImageBlockPublicAccessState": Ec2Extras.get_image_bpa,
    "EnableImageBlockPublicAccess": Ec2Extras.enable_image_bpa,
    "DisableImageBlockPublicAccess": Ec2Extras.disable_image_bpa,
    "ModifyImageAttribute": Ec2Extras.modify_image_attribute,
    "EnableImageDeprecation": Ec2Extras.enable_image_deprecation,
    "DisableImageDeprecation": Ec2Extras.disable_image_deprecation,
    "CopyImage": Ec2Extras.copy_image,
    "RegisterImage": ec2_registration.register_image,
    "CreateImage": Ec2Extras.register_with_moto,
    "DescribeImageAttribute": ec2_registration.describe_image_attribute,
    "GetConsoleOutput": ec2_registration.get_console_output,
    "DescribeRegions": Ec2Extras.describe_regions,
    "ModifySnapshotAttribute": Ec2Extras.modify_snapshot_attribute,
    "DescribeSnapshots": Ec2Extras.describe_snapshots,
}


def unavailable_message(image_id: str) -> str:
    """EC2's ``InvalidAMIID.Unavailable`` for an image not (yet) in a state that allows this."""
    return (
        f"The image id '[{image_id}]' is not in a state from which you can modify "
        "attributes; it is pending, not available."
    )


def _changes_launch_permission(params: dict[str, str]) -> bool:
    """Does a ModifyImageAttribute touch launch permission (structured or flat form)?"""
    if any(k.startswith("LaunchPermission.") for k in params):
        return True
    flat = ("UserId.", "UserGroup.", "OrganizationArn.", "OrganizationalUnitArn.")
    return params.get("Attribute", "").lower() == "launchpermission" or any(
        k.startswith(flat) for k in params
    )


def _copy_tag_specifications(params: dict[str, str]) -> dict[str, dict[str, str]]:
    """CopyImage's ``TagSpecification.N``: resource type → tags; only image and snapshot."""
    out: dict[str, dict[str, str]] = {}
    for spec in indexed_structs(params, "TagSpecification"):
        kind = spec.get("ResourceType", "")
        if kind not in ("image", "snapshot"):
            raise Ec2Error(
                "InvalidParameterValue",
                f"'{kind}' is not a valid taggable resource type for this operation.",
            )
        tags = out.setdefault(kind, {})
        for tag in indexed_structs(spec, "Tag"):
            if "Key" in tag:
                tags[tag["Key"]] = tag.get("Value", "")
    return out


def _may_restore(user: str, caller: str, owner: str, groups: set[str], users: set[str]) -> bool:
    """Can ``user`` (an account ID, ``self`` or ``all``) create volumes from the snapshot?"""
    if user == "all":
        return "all" in groups
    if user == "self":
        return owner == caller or caller in users
    return user == owner or user in users or "all" in groups


def _adds_public(params: dict[str, str]) -> bool:
    """Does a ModifyImageAttribute add ``Group=all``, in the structured or the flat form?"""
    structured = indexed_structs(params, "LaunchPermission.Add")
    if any(item.get("Group") == "all" for item in structured):
        return True
    flat_add = params.get("OperationType", "").lower() == "add"
    return flat_add and "all" in indexed_values(params, "UserGroup")


def _named_images(params: dict[str, str]) -> list[str]:
    """AMI IDs a request names (for the distinct-images statistic)."""
    named = [params.get("ImageId", "")]
    named += indexed_values(params, "ImageId")
    named += indexed_values(params, "ResourceId")
    named += filters(params).get("image-id", [])
    return [image for image in named if image.startswith("ami-")]


def _created_image(reply: Reply) -> str | None:
    if reply.status != 200:
        return None
    match = _IMAGE_ID.search(reply.body.decode("utf-8", "replace"))
    return match.group(1) if match else None


def _round_to_minute(when: datetime) -> datetime:
    """EC2 rounds the seconds of a deprecation time to the nearest minute."""
    floor = when.astimezone(UTC).replace(second=0, microsecond=0)
    return floor + timedelta(minutes=1) if when.second >= 30 else floor
