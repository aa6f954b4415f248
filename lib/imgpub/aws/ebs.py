"""The EBS direct APIs: write a snapshot block by block, complete it, read it back.

A narrow adapter over one boto3 ``ebs`` client (per thread, from
:class:`imgpub.aws.session.ClientFactory`). What the service requires and this module
guarantees (cloud-apis.md §9):

* every block is exactly 512 KiB and carries the base64 SHA-256 of its bytes; the
  service echoes its own checksum, which must match;
* the aggregate checksum of CompleteSnapshot is LINEAR: SHA-256 over the raw 32-byte
  digests of the written blocks in index order (as AWS's coldsnap computes it);
* botocore retries 5xx and ``RequestThrottledException`` itself; a block is also retried
  here after the two transient answers botocore does not know (``ResourceNotFound`` right
  after StartSnapshot, and ``ValidationException`` "Failed to read block data" on a slow
  link), with a growing sleep that a cancel wakes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from imgpub.aws.errors import error_code
from imgpub.cancel import NEVER, Cancellation

if TYPE_CHECKING:
    from mypy_boto3_ebs import EBSClient

BLOCK_SIZE = 512 * 1024
BLOCK_ATTEMPTS = 6
"""Tries per block for the transient answers botocore does not retry."""
DEFAULT_TIMEOUT_MINUTES = 180
"""StartSnapshot's inactivity timeout: long enough for a re-run to resume the upload."""


def block_digest(data: bytes) -> bytes:
    """The raw SHA-256 of one block (what the aggregate checksum is built from)."""
    return hashlib.sha256(data).digest()


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def aggregate_checksum(digests: Mapping[int, bytes]) -> str:
    """CompleteSnapshot's LINEAR checksum over the written blocks' raw digests, by index."""
    joined = b"".join(digests[i] for i in sorted(digests))
    return b64(hashlib.sha256(joined).digest())


@dataclass(frozen=True)
class StartedSnapshot:
    snapshot_id: str
    status: str
    volume_size: int


def _transient(exc: ClientError) -> bool:
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    if code == "ResourceNotFoundException":
        return True  # a snapshot just started may not be visible to PutSnapshotBlock yet
    return code == "ValidationException" and "failed to read block data" in message.lower()


class EbsWriter:
    """One snapshot's writes over one client (the caller keeps one per thread)."""

    def __init__(
        self,
        ebs: EBSClient,
        *,
        cancel: Cancellation = NEVER,
        retry_delay: float = 2.0,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        self.ebs = ebs
        self.cancel = cancel
        self.retry_delay = retry_delay
        self._sleep = sleep or cancel.sleep

    def start(
        self,
        *,
        volume_gib: int,
        tags: Mapping[str, str],
        description: str,
        client_token: str,
        timeout_minutes: int = DEFAULT_TIMEOUT_MINUTES,
    ) -> StartedSnapshot:
        """StartSnapshot; the same token and parameters give back the same snapshot."""
        answer = self.ebs.start_snapshot(
            VolumeSize=volume_gib,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            Description=description[:255],
            ClientToken=client_token,
            Timeout=timeout_minutes,
        )
        return StartedSnapshot(
            answer["SnapshotId"], answer.get("Status", "pending"), answer["VolumeSize"]
        )

    def put(self, snapshot_id: str, index: int, data: bytes, digest: bytes) -> None:
        """PutSnapshotBlock with its checksum; the service's echoed checksum must match."""
        checksum = b64(digest)
        for attempt in range(1, BLOCK_ATTEMPTS + 1):
            try:
                answer = self.ebs.put_snapshot_block(
                    SnapshotId=snapshot_id,
                    BlockIndex=index,
                    BlockData=data,
                    DataLength=len(data),
                    Checksum=checksum,
                    ChecksumAlgorithm="SHA256",
                )
            except ClientError as exc:
                if attempt == BLOCK_ATTEMPTS or not _transient(exc):
                    raise
                if self._sleep(self.retry_delay * attempt):
                    raise
                continue
            echoed = answer.get("Checksum")
            if echoed and echoed != checksum:
                raise ChecksumMismatch(snapshot_id, index, checksum, echoed)
            return

    def complete(self, snapshot_id: str, digests: Mapping[int, bytes]) -> str:
        """CompleteSnapshot with the count and aggregate checksum of every data block."""
        answer = self.ebs.complete_snapshot(
            SnapshotId=snapshot_id,
            ChangedBlocksCount=len(digests),
            Checksum=aggregate_checksum(digests),
            ChecksumAlgorithm="SHA256",
            ChecksumAggregationMethod="LINEAR",
        )
        return str(answer.get("Status", "pending"))


class ChecksumMismatch(Exception):
    """The service stored other bytes than were sent (its checksum differs)."""

    def __init__(self, snapshot_id: str, index: int, sent: str, echoed: str) -> None:
        super().__init__(
            f"block {index} of {snapshot_id}: EBS computed checksum {echoed}, imgpub sent {sent}"
        )


def list_blocks(ebs: EBSClient, snapshot_id: str) -> list[tuple[int, str]]:
    """(index, block token) of every written block of a completed snapshot."""
    out: list[tuple[int, str]] = []
    kwargs: dict[str, Any] = {"SnapshotId": snapshot_id, "MaxResults": 10000}
    while True:
        page = ebs.list_snapshot_blocks(**kwargs)
        out.extend((b["BlockIndex"], b["BlockToken"]) for b in page.get("Blocks", []))
        token = page.get("NextToken")
        if not token:
            return out
        kwargs["NextToken"] = token


def read_block(ebs: EBSClient, snapshot_id: str, index: int, token: str) -> bytes:
    """GetSnapshotBlock, with its checksum verified."""
    answer = ebs.get_snapshot_block(SnapshotId=snapshot_id, BlockIndex=index, BlockToken=token)
    data = answer["BlockData"].read()
    if answer.get("Checksum") and answer["Checksum"] != b64(block_digest(data)):
        raise ValueError(f"block {index} of {snapshot_id} does not match its checksum")
    return data


def read_snapshot(ebs: EBSClient, snapshot_id: str) -> Iterable[tuple[int, bytes]]:
    """Every written block of a completed snapshot, in index order."""
    for index, token in sorted(list_blocks(ebs, snapshot_id)):
        yield index, read_block(ebs, snapshot_id, index, token)
