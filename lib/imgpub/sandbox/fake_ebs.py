"""The EBS direct APIs as AWS documents them, on the local EC2's own snapshots.

moto answers the six EBS calls but checks nothing: it takes any block size and checksum,
accepts writes after completion, ignores client tokens and timeouts, lets a pending
snapshot be read and answers 500 for an unknown ID (cloud-apis.md §9.10). An uploader
tested against that proves little, so the local EC2 serves EBS itself with this fake
(mounted by :class:`imgpub.sandbox.ec2_extras.Ec2Extras` for requests signed for
``ebs``). Its snapshots are moto's EC2 snapshots — DescribeSnapshots, RegisterImage,
DeleteSnapshot and sharing see them — kept ``pending`` until completed, as on AWS:

* StartSnapshot: size 1-65,536 GiB, timeout 10-4,320 minutes, ≤ 50 tags, the client
  token idempotent (same parameters → the same snapshot, others → ``ConflictException``);
* PutSnapshotBlock: only to a ``pending`` snapshot, exactly 512 KiB, index inside the
  volume, the SHA-256 checksum verified and echoed;
* CompleteSnapshot: ``ChangedBlocksCount`` must be the number of blocks written and a
  LINEAR aggregate checksum, when given, must match; sealing may take ``seal_seconds``;
* ListSnapshotBlocks / GetSnapshotBlock: only on a ``completed`` snapshot, with block
  tokens, ``NextToken`` paging;
* a snapshot whose inactivity timeout passed is ``error`` and takes no more writes; the
  verb :meth:`FakeEbs.expire` makes that happen now (a test cannot wait 10 minutes).

Requests are logged and can be faulted like any fake's (``FakeClient(endpoint).faults``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from imgpub.sandbox import ec2_backend
from imgpub.sandbox.aws_json import AwsError, AwsJsonFake, action
from imgpub.sandbox.fake_http import FakeRequest, Resolved, verb

BLOCK_SIZE = 512 * 1024
MAX_VOLUME_GIB = 65536


@dataclass
class EbsSnapshot:
    """One snapshot as the EBS side knows it."""

    snapshot_id: str
    account: str
    region: str
    volume_size: int
    timeout_minutes: int
    started: datetime
    status: str = "pending"
    last_write: float = field(default_factory=time.monotonic)
    sealed_at: float | None = None
    blocks: dict[int, bytes] = field(default_factory=dict)
    digests: dict[int, bytes] = field(default_factory=dict)


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


class FakeEbs(AwsJsonFake):
    """EBS direct APIs over moto's EC2 snapshots (same process as moto)."""

    SERVICE = "ebs"

    def __init__(self, *, seal_seconds: float = 0.0, keep_data: bool = True, **server: Any) -> None:
        self.seal_seconds = seal_seconds
        self.keep_data = keep_data
        super().__init__(**server)

    def reset_state(self) -> None:
        self.snapshots: dict[str, EbsSnapshot] = {}
        self.tokens: dict[tuple[str, str, str], tuple[str, str]] = {}
        self._caller: tuple[str, str] = ("123456789012", "us-east-1")

    def resolve(self, request: FakeRequest) -> Resolved:
        """Note who signed the request (account, region) before its handler runs."""
        resolved = super().resolve(request)
        caller = _caller(request)

        def serve(req: FakeRequest) -> Any:
            self._caller = caller
            self.settle()
            return resolved.serve(req)

        return Resolved(resolved.operation, serve)

    # -- state changes in time ---------------------------------------------------------------

    def settle(self) -> None:
        """Seal completed snapshots whose sealing time is over; cancel timed-out ones."""
        now = time.monotonic()
        with self.lock:
            for snap in self.snapshots.values():
                if snap.status == "pending" and snap.sealed_at is not None:
                    if now >= snap.sealed_at:
                        self._set(snap, "completed")
                elif snap.status == "pending" and now - snap.last_write > snap.timeout_minutes * 60:
                    self._set(snap, "error")

    def _set(self, snap: EbsSnapshot, status: str) -> None:
        snap.status = status
        ec2_backend.set_snapshot_state(snap.account, snap.region, snap.snapshot_id, status)

    @verb
    def expire(self, snapshot_id: str) -> str:
        """The inactivity timeout fires now: the snapshot turns ``error``, writes fail."""
        snap = self._snapshot(snapshot_id)
        if snap.status == "pending":
            self._set(snap, "error")
        return snap.status

    @verb
    def keep_block_data(self, keep: bool) -> bool:
        """Keep written blocks (for GetSnapshotBlock) or only their checksums (benchmarks)."""
        self.keep_data = bool(keep)
        return self.keep_data

    @verb
    def written_blocks(self, snapshot_id: str) -> list[int]:
        """Indices written so far (the service keeps this to itself; tests may look)."""
        return sorted(self._snapshot(snapshot_id).digests)

    @verb
    def describe(self, snapshot_id: str) -> dict[str, Any]:
        snap = self._snapshot(snapshot_id)
        return {"status": snap.status, "volume_size": snap.volume_size, "blocks": len(snap.digests)}

    def _snapshot(self, snapshot_id: str) -> EbsSnapshot:
        snap = self.snapshots.get(snapshot_id)
        if (
            snap is None
            or ec2_backend.find_snapshot(snap.account, snap.region, snapshot_id) is None
        ):
            raise AwsError(
                "ResourceNotFoundException", f"The snapshot {snapshot_id} does not exist.", 404
            )
        return snap

    # -- the API -----------------------------------------------------------------------------

    @action("StartSnapshot")
    def start_snapshot(self, params: dict[str, Any]) -> dict[str, Any]:
        size = int(params["VolumeSize"])
        if not 1 <= size <= MAX_VOLUME_GIB:
            raise _validation(f"The volume size {size} GiB is not between 1 and {MAX_VOLUME_GIB}.")
        timeout = int(params.get("Timeout", 60))
        if not 10 <= timeout <= 4320:
            raise _validation(f"The timeout {timeout} is not between 10 and 4320 minutes.")
        tags = {t["Key"]: t.get("Value", "") for t in params.get("Tags", [])}
        if len(tags) > 50:
            raise _validation("A snapshot can have at most 50 tags.")
        if len(params.get("Description", "")) > 255:
            raise _validation("The description is longer than 255 characters.")
        if params.get("ParentSnapshotId") and params.get("Encrypted"):
            raise _validation("ParentSnapshotId cannot be combined with Encrypted.")
        token = str(params.get("ClientToken", ""))
        if len(token) > 64:
            raise _validation("The client token is longer than 64 characters.")
        account, region = self._caller
        fingerprint = json.dumps(
            {k: v for k, v in params.items() if k != "ClientToken"}, sort_keys=True, default=str
        )
        key = (account, region, token)
        if token and key in self.tokens:
            first, snapshot_id = self.tokens[key]
            if first != fingerprint:
                raise AwsError(
                    "ConflictException",
                    "The request uses the same client token as a previous, but non-identical "
                    "request.",
                    409,
                )
            return self._started(self._snapshot(snapshot_id), tags)
        snapshot_id, _owner = ec2_backend.create_snapshot(
            account, region, size, str(params.get("Description", "")), tags
        )
        snap = EbsSnapshot(snapshot_id, account, region, size, timeout, datetime.now(UTC))
        self.snapshots[snapshot_id] = snap
        if token:
            self.tokens[key] = (fingerprint, snapshot_id)
        return self._started(snap, tags)

    def _started(self, snap: EbsSnapshot, tags: Mapping[str, str]) -> dict[str, Any]:
        return {
            "SnapshotId": snap.snapshot_id,
            "OwnerId": snap.account,
            "Status": snap.status,
            "StartTime": snap.started,
            "VolumeSize": snap.volume_size,
            "BlockSize": BLOCK_SIZE,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }

    @action("PutSnapshotBlock")
    def put_snapshot_block(self, params: dict[str, Any]) -> dict[str, Any]:
        snap = self._snapshot(params["SnapshotId"])
        if snap.status != "pending":
            raise _validation(f"The snapshot {snap.snapshot_id} is {snap.status}, not pending.")
        index = int(params["BlockIndex"])
        data: bytes = params["BlockData"]
        length = int(params["DataLength"])
        if length != BLOCK_SIZE or len(data) != length:
            raise _validation(
                f"The block is {len(data)} bytes (DataLength {length}); blocks are {BLOCK_SIZE}."
            )
        if not 0 <= index < snap.volume_size * 1024**3 // BLOCK_SIZE:
            raise _validation(f"Block index {index} is outside the {snap.volume_size} GiB volume.")
        if params.get("ChecksumAlgorithm") != "SHA256":
            raise _validation("The checksum algorithm must be SHA256.")
        digest = hashlib.sha256(data).digest()
        checksum = base64.b64encode(digest).decode()
        if params.get("Checksum") != checksum:
            raise _validation(f"The checksum of block {index} does not match its data.")
        snap.digests[index] = digest
        if self.keep_data:
            snap.blocks[index] = data
        snap.last_write = time.monotonic()
        return {"Checksum": checksum, "ChecksumAlgorithm": "SHA256"}

    @action("CompleteSnapshot")
    def complete_snapshot(self, params: dict[str, Any]) -> dict[str, Any]:
        snap = self._snapshot(params["SnapshotId"])
        if snap.status != "pending" or snap.sealed_at is not None:
            raise _validation(f"The snapshot {snap.snapshot_id} is {snap.status}, not pending.")
        changed = int(params["ChangedBlocksCount"])
        if changed != len(snap.digests):
            raise _validation(
                f"ChangedBlocksCount is {changed}, but {len(snap.digests)} blocks were written."
            )
        if params.get("Checksum"):
            if params.get("ChecksumAggregationMethod") != "LINEAR":
                raise _validation("The checksum aggregation method must be LINEAR.")
            joined = b"".join(snap.digests[i] for i in sorted(snap.digests))
            expected = base64.b64encode(hashlib.sha256(joined).digest()).decode()
            if params["Checksum"] != expected:
                raise _validation("The aggregate checksum does not match the blocks written.")
        snap.sealed_at = time.monotonic() + self.seal_seconds
        if self.seal_seconds <= 0:
            self._set(snap, "completed")
        return {"Status": "completed" if snap.status == "completed" else "pending"}

    @action("ListSnapshotBlocks")
    def list_snapshot_blocks(self, params: dict[str, Any]) -> dict[str, Any]:
        snap = self._readable(params["SnapshotId"])
        limit = max(100, min(int(params.get("MaxResults", 10000)), 10000))
        start = int(params.get("StartingBlockIndex", 0))
        if params.get("NextToken"):
            try:
                start = int(base64.b64decode(params["NextToken"]).decode())
            except ValueError:
                raise _validation("The NextToken is not valid.") from None
        indices = [i for i in sorted(snap.digests) if i >= start]
        page, rest = indices[:limit], indices[limit:]
        out: dict[str, Any] = {
            "Blocks": [{"BlockIndex": i, "BlockToken": _token(snap, i)} for i in page],
            "VolumeSize": snap.volume_size,
            "BlockSize": BLOCK_SIZE,
        }
        if rest:
            out["NextToken"] = base64.b64encode(str(rest[0]).encode()).decode()
        return out

    @action("GetSnapshotBlock")
    def get_snapshot_block(self, params: dict[str, Any]) -> dict[str, Any]:
        snap = self._readable(params["SnapshotId"])
        index = int(params["BlockIndex"])
        if params.get("BlockToken") != _token(snap, index) or index not in snap.digests:
            raise _validation(f"The block token for block {index} is not valid.")
        if index not in snap.blocks:
            raise AwsError("InternalServerException", "This local EBS keeps no block data.", 500)
        data = snap.blocks[index]
        return {
            "BlockData": data,
            "DataLength": len(data),
            "Checksum": base64.b64encode(snap.digests[index]).decode(),
            "ChecksumAlgorithm": "SHA256",
        }

    def _readable(self, snapshot_id: str) -> EbsSnapshot:
        snap = self._snapshot(snapshot_id)
        if snap.status != "completed":
            raise _validation(
                f"The snapshot {snapshot_id} is {snap.status}; only completed "
                "snapshots can be read."
            )
        return snap


def _token(snap: EbsSnapshot, index: int) -> str:
    text = f"{snap.snapshot_id}:{index}:{snap.started.timestamp()}"
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _caller(request: FakeRequest) -> tuple[str, str]:
    """(account, region) from the SigV4 credential scope of the request."""
    auth = str(request.headers.get("Authorization", ""))
    marker = "Credential="
    start = auth.find(marker)
    parts = auth[start + len(marker) :].split(",", 1)[0].split("/") if start >= 0 else []
    if len(parts) != 5:
        raise AwsError("UnrecognizedClientException", "The request is not signed.", 403)
    return ec2_backend.account_for(parts[0]), parts[2]


def request_id() -> str:
    return str(uuid.uuid4())
