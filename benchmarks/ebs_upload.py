"""Benchmark: imgpub's EBS snapshot upload vs a naive uploader, both into the local EBS.

    .venv/bin/python benchmarks/ebs_upload.py               # the 2 GiB run of issue 11
    .venv/bin/python benchmarks/ebs_upload.py --size 256M   # a quick smoke run

A sparse RAW of ``--size`` with about ``--data`` (10 %) random data in scattered extents
is generated in a temporary directory (deleted afterwards), and the local EC2 (moto with
imgpub's EBS) is started on a free loopback port. Then, each in its own child process so
that peak RSS and local-disk writes are measured separately:

* imgpub: :class:`imgpub.build.upload.SnapshotUploader` — extents only, zero blocks
  skipped, ``upload-concurrency`` blocks in flight;
* naive: every 512 KiB block of the disk, holes and zeros included, one PutSnapshotBlock
  at a time (what an uploader without a sparse map does).

Blocks sent are counted by the local EBS (its request log); bytes written to local disk
are ``write_bytes`` from /proc/self/io of the child. Prints figures only; the target in
the issue is ≥ 5x faster than naive, data blocks only, 0 bytes written, RSS ≤ 300 MiB.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
BLOCK = 512 * 1024
IMAGE = "AlmaLinux-9-GenericCloud-9.6-20250522.0.x86_64.raw"


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    return (
        int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)
    )


def make_image(path: Path, size: int, data_fraction: float) -> int:
    """Random data in 64 extents of varied length; returns the data bytes written."""
    rnd = random.Random(11)
    want = int(size * data_fraction)
    extents = 64
    written = 0
    with path.open("wb") as fh:
        fh.truncate(size)
        for i in range(extents):
            length = min(want // extents, size // extents - BLOCK)
            offset = i * (size // extents) + rnd.randrange(0, BLOCK) // 512 * 512
            fh.seek(offset)
            fh.write(os.urandom(length))
            written += length
    return written


def io_written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return -1


def worker(kind: str, image: Path, concurrency: int) -> dict[str, Any]:
    import boto3

    started = time.monotonic()
    if kind == "imgpub":
        from imgpub.aws.session import ClientFactory
        from imgpub.build.plan import BuildPlan, ImageSource, UploadDecision
        from imgpub.build.upload import SnapshotUploader
        from imgpub.cancel import NEVER
        from imgpub.diskimage.blocks import disk_layout, volume_gib
        from imgpub.diskimage.source import LocalSource

        source = LocalSource(image)
        layout = disk_layout(source, image)
        assert layout.size is not None
        img = ImageSource(
            source,
            str(image),
            source.identity().digest,
            layout.size,
            volume_gib(layout.size),
            layout.max_data_blocks,
        )
        inputs = type("Inputs", (), {"upload_concurrency": concurrency})()
        plan = BuildPlan(
            inputs,
            "us-east-1",
            "bench",
            "",
            None,
            {"ManagedBy": "imgpub"},  # type: ignore[arg-type]
            UploadDecision("upload"),
            image=img,
        )
        outcome = SnapshotUploader(
            ClientFactory(),
            plan,
            cancel=NEVER,
            deadline=time.monotonic() + 3600,
            on_progress=lambda _o: None,
        ).run()
        assert outcome.state == "created", outcome
        snapshot = outcome.snapshot_id
    else:
        ebs = boto3.client("ebs", region_name="us-east-1")
        size = image.stat().st_size
        snapshot = ebs.start_snapshot(VolumeSize=-(-size // (1024 * MIB)), Timeout=60)["SnapshotId"]
        digests = []
        with image.open("rb") as fh:
            for index in range(-(-size // BLOCK)):
                data = fh.read(BLOCK).ljust(BLOCK, b"\0")
                digest = hashlib.sha256(data).digest()
                digests.append(digest)
                ebs.put_snapshot_block(
                    SnapshotId=snapshot,
                    BlockIndex=index,
                    BlockData=data,
                    DataLength=BLOCK,
                    Checksum=base64.b64encode(digest).decode(),
                    ChecksumAlgorithm="SHA256",
                )
        aggregate = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode()
        ebs.complete_snapshot(
            SnapshotId=snapshot,
            ChangedBlocksCount=len(digests),
            Checksum=aggregate,
            ChecksumAlgorithm="SHA256",
            ChecksumAggregationMethod="LINEAR",
        )
    return {
        "seconds": time.monotonic() - started,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "written_bytes": io_written(),
        "snapshot": snapshot,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="2G")
    parser.add_argument("--data", type=float, default=0.10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--worker", choices=("imgpub", "naive"))
    parser.add_argument("--image", type=Path)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.image, args.concurrency)))
        return 0
    from imgpub.sandbox.fake_client import FakeClient
    from imgpub.sandbox.services import start_moto

    with tempfile.TemporaryDirectory(prefix="imgpub-bench-") as tmp:
        folder = Path(tmp)
        image = folder / IMAGE
        size = parse_size(args.size)
        data = make_image(image, size, args.data)
        svc = start_moto(folder)
        try:
            env = {**os.environ, **svc.env}
            ebs = FakeClient(svc.info["endpoint"])
            ebs.call("keep_block_data", keep=False)  # checksums only: 2 GiB stays out of RAM
            ebs_log = ebs.log
            print(f"image: {size / MIB:.0f} MiB virtual, {data / MIB:.0f} MiB of data")
            print(
                f"{'uploader':8} {'seconds':>8} {'blocks sent':>12} {'peak RSS MiB':>13} "
                f"{'disk writes':>12}"
            )
            results = {}
            for kind in ("imgpub", "naive"):
                ebs_log.clear()
                argv = [
                    sys.executable,
                    __file__,
                    "--worker",
                    kind,
                    "--image",
                    str(image),
                    "--concurrency",
                    str(args.concurrency),
                ]
                done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                figures["blocks"] = ebs_log.count("PutSnapshotBlock")
                results[kind] = figures
                print(
                    f"{kind:8} {figures['seconds']:8.2f} {figures['blocks']:12d} "
                    f"{figures['peak_rss_mib']:13.0f} {figures['written_bytes']:12d}"
                )
            speedup = results["naive"]["seconds"] / results["imgpub"]["seconds"]
            print(
                f"imgpub is {speedup:.1f}x faster than naive; data blocks in the image: "
                f"about {data // BLOCK} (+ partial blocks at extent edges)"
            )
        finally:
            svc.process.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
