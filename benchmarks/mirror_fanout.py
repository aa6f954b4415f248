"""Benchmark: mirror two AMIs to every region of the local EC2 — imgpub against a baseline.

    .venv/bin/python benchmarks/mirror_fanout.py [--latency 20] [--regions N]

Starts the sandbox's moto server (with imgpub's EC2 extensions) in a temporary directory,
makes every copy stay ``pending`` for ``--latency`` seconds **at the emulator**, and runs,
each from a freshly reset server with the same two source AMIs (x86_64 and an
aarch64-tagged one), make-public on:

* **imgpub** — the real ``mirror-ami`` stage through :func:`imgpub.stage.run_stage`, with
  two SSM parameter templates;
* **baseline** — the algorithm of AlmaLinux's ``tools/aws_ami_mirror.py`` as described in
  ``shared/reference/peer-almalinux.md`` (written here from that description): one run per
  source AMI (the two matrix legs, concurrently), a ``ThreadPoolExecutor`` of
  ``len(regions) + 1``, a new boto3 client per helper call, ``copy_image`` with
  ``CopyImageTags``, the botocore ``image_available`` waiter with its defaults (15 s x 40),
  then block-public-access check, launch permission to ``all``, ``describe_images`` for the
  first snapshot, its create-volume permission and a ``describe_snapshot_attribute`` check;
  the source made public after all copies.

It prints wall time, EC2 calls (total and per (image, region), counted by the emulator),
peak threads and the ratios. Figures, not assertions: nothing here is a test.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from imgpub.gha import Gha
from imgpub.sandbox.control import Ec2Control
from imgpub.sandbox.ec2_config import Ec2Stats
from imgpub.sandbox.ec2_regions import DEFAULT_ENABLED_REGIONS
from imgpub.sandbox.services import start_moto
from imgpub.stage import run_stage
from imgpub.stages import mirror_ami

SOURCE_REGION = "us-east-1"
SSM_TEMPLATES = "/golden-image/{arch}/latest\n/golden-image/{arch}/{version}"
DENY_LIST = ("me-south-1",)  # the peer's hard-coded exclusion


@dataclass(frozen=True)
class Figures:
    name: str
    wall: float
    stats: Ec2Stats
    pairs: int
    peak_threads: int
    outcome: str

    @property
    def per_pair(self) -> float:
        return self.stats.total / self.pairs


# -- shared ---------------------------------------------------------------------------------


@contextmanager
def peak_threads() -> Iterator[Callable[[], int]]:
    """Sample ``threading.active_count()`` every 5 ms; yields a reader of the peak."""
    peak = [threading.active_count()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            peak[0] = max(peak[0], threading.active_count() - 1)  # not counting the sampler

    sampler = threading.Thread(target=sample, name="thread-sampler", daemon=True)
    sampler.start()
    try:
        yield lambda: peak[0]
    finally:
        stop.set()
        sampler.join()


def make_sources(ec2: Any) -> tuple[str, str]:
    """The x86_64 and aarch64 builds of one release, tagged as AlmaLinux tags them."""
    out = []
    for arch in ("x86_64", "aarch64"):
        name = f"AlmaLinux OS 9.7.20260518 {arch}"
        image = ec2.register_image(
            Name=name,
            Description=f"Official AlmaLinux OS 9.7 {arch} image",
            RootDeviceName="/dev/sda1",
        )["ImageId"]
        ec2.create_tags(
            Resources=[image],
            Tags=[
                {"Key": "Name", "Value": name},
                {"Key": "Version", "Value": "9.7.20260518"},
                {"Key": "Architecture", "Value": arch},
            ],
        )
        out.append(image)
    return out[0], out[1]


def fresh_server(control: Ec2Control, regions: list[str] | None, latency: float) -> tuple[str, str]:
    """Reset the emulator, make the two sources, set the latency, zero the counters."""
    control.reset()
    if regions is not None:
        control.configure(enabled_regions=regions)
    sources = make_sources(boto3.client("ec2", region_name=SOURCE_REGION))
    control.configure(copy_pending_seconds=latency)
    control.reset_stats()
    return sources


# -- imgpub ---------------------------------------------------------------------------------


def run_imgpub(
    control: Ec2Control,
    env: dict[str, str],
    work: Path,
    regions: list[str] | None,
    latency: float,
    pairs: int,
) -> Figures:
    sources = fresh_server(control, regions, latency)
    flags: dict[str, str | None] = {
        "source-ami": ",".join(sources),
        "source-region": SOURCE_REGION,
        "regions": "all",
        "make-public": "true",
        "ssm-parameters": SSM_TEMPLATES,
        "csv-output": str(work / "amis.csv"),
        "md-output": str(work / "amis.md"),
        "results": str(work / "results-imgpub.json"),
    }
    log = io.StringIO()
    started = time.monotonic()
    with peak_threads() as peak:
        code = run_stage(mirror_ami, flags=flags, env=env, gha=Gha(env, log, log))
        wall = time.monotonic() - started
        threads = peak()
    outcome = f"exit {code}"
    if code != 0:
        outcome += " — " + " | ".join(log.getvalue().strip().splitlines()[-3:])
    return Figures("imgpub", wall, control.stats(), pairs, threads, outcome)


# -- baseline (the peer's algorithm, from its description) ----------------------------------


def _client(region: str) -> Any:
    """A new client per helper call, as the peer script makes them."""
    return boto3.client("ec2", region_name=region)


def _copy(source: dict[str, Any], region: str) -> str:
    return str(
        _client(region).copy_image(
            Name=source["Name"],
            Description=source.get("Description", ""),
            SourceImageId=source["ImageId"],
            SourceRegion=SOURCE_REGION,
            Encrypted=False,
            CopyImageTags=True,
            ClientToken=source["ImageId"],
        )["ImageId"]
    )


def _wait(region: str, image_id: str) -> None:
    _client(region).get_waiter("image_available").wait(ImageIds=[image_id])  # 15 s x 40


def _make_public(region: str, image_id: str) -> None:
    if (
        _client(region).get_image_block_public_access_state()["ImageBlockPublicAccessState"]
        != "unblocked"
    ):
        _client(region).disable_image_block_public_access()
    _client(region).modify_image_attribute(
        ImageId=image_id, LaunchPermission={"Add": [{"Group": "all"}]}
    )
    image = _client(region).describe_images(ImageIds=[image_id])["Images"][0]
    snapshot = image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    _client(region).modify_snapshot_attribute(
        SnapshotId=snapshot,
        Attribute="createVolumePermission",
        OperationType="add",
        GroupNames=["all"],
    )
    perms = _client(region).describe_snapshot_attribute(
        SnapshotId=snapshot, Attribute="createVolumePermission"
    )["CreateVolumePermissions"]
    if perms[0]["Group"] != "all":
        raise RuntimeError(f"snapshot {snapshot} in {region} is not public")


def _mirror_one(source_id: str) -> int:
    """One leg of the peer's matrix: one source AMI to every region; copies made."""
    regions = [
        r["RegionName"]
        for r in _client(SOURCE_REGION).describe_regions()["Regions"]
        if r["RegionName"] not in DENY_LIST and r["RegionName"] != SOURCE_REGION
    ]
    source = _client(SOURCE_REGION).describe_images(ImageIds=[source_id])["Images"][0]

    def copy_region(region: str) -> str:
        image_id = _copy(source, region)
        _wait(region, image_id)
        _make_public(region, image_id)
        return image_id

    with ThreadPoolExecutor(max_workers=len(regions) + 1) as pool:
        copies = list(pool.map(copy_region, regions))  # the first failure raises
    _make_public(SOURCE_REGION, source_id)
    return len(copies)


def run_baseline(
    control: Ec2Control, regions: list[str] | None, latency: float, pairs: int
) -> Figures:
    sources = fresh_server(control, regions, latency)
    _client(SOURCE_REGION)  # the peer's first call initialises the default session
    started = time.monotonic()
    with peak_threads() as peak, ThreadPoolExecutor(max_workers=len(sources)) as legs:
        try:
            copied = sum(legs.map(_mirror_one, sources))
            outcome = f"{copied} copies, all public"
        except Exception as exc:  # the peer fails fast; report it, not crash the benchmark
            outcome = f"failed: {type(exc).__name__}: {exc}"
        wall = time.monotonic() - started
        threads = peak()
    return Figures("baseline", wall, control.stats(), pairs, threads, outcome)


# -- report ---------------------------------------------------------------------------------


def report(latency: float, regions: int, ours: Figures, theirs: Figures) -> None:
    rows = [
        ("wall time (s)", f"{ours.wall:.1f}", f"{theirs.wall:.1f}", theirs.wall / ours.wall),
        (
            "EC2 calls",
            str(ours.stats.total),
            str(theirs.stats.total),
            theirs.stats.total / ours.stats.total,
        ),
        (
            "EC2 calls per (image, region)",
            f"{ours.per_pair:.2f}",
            f"{theirs.per_pair:.2f}",
            theirs.per_pair / ours.per_pair,
        ),
        (
            "peak threads",
            str(ours.peak_threads),
            str(theirs.peak_threads),
            theirs.peak_threads / ours.peak_threads,
        ),
    ]
    print(
        f"\nmirror fan-out: 2 source AMIs x {regions} regions (source included) = "
        f"{ours.pairs} (image, region) pairs; copies pending {latency:g} s; make-public"
    )
    print(f"{'':32} {'imgpub':>10} {'baseline':>10} {'baseline/imgpub':>16}")
    for label, a, b, ratio in rows:
        print(f"{label:32} {a:>10} {b:>10} {ratio:>15.2f}x")
    print(f"{'outcome':32} {ours.outcome} | {theirs.outcome}")
    wall_target = "< 10 s" if latency == 0 else f"<= L + 5 s = {latency + 5:g} s"
    met = (ours.wall < 10) if latency == 0 else (ours.wall <= latency + 5)
    print(
        f"targets: imgpub wall {wall_target} ({'met' if met else 'MISSED'}); "
        f"<= 5 EC2 calls per (image, region) ({'met' if ours.per_pair <= 5 else 'MISSED'})"
    )
    for figures in (ours, theirs):
        by_action: dict[str, int] = {}
        for (action, _region), n in figures.stats.calls.items():
            by_action[action] = by_action.get(action, 0) + n
        detail = ", ".join(f"{a} {n}" for a, n in sorted(by_action.items()))
        print(f"  {figures.name} calls: {detail}")
        if figures.stats.other_services:
            print(f"  {figures.name} other services: {dict(figures.stats.other_services)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=20.0, help="seconds a copy is pending")
    parser.add_argument(
        "--regions",
        type=int,
        default=None,
        help="enable only N regions (the source region first); default: every enabled region",
    )
    args = parser.parse_args(argv)
    enabled = sorted(DEFAULT_ENABLED_REGIONS)
    regions: list[str] | None = None
    if args.regions is not None:
        if not 1 <= args.regions <= len(enabled):
            parser.error(f"--regions must be between 1 and {len(enabled)}")
        regions = [SOURCE_REGION, *[r for r in enabled if r != SOURCE_REGION]][: args.regions]
    count = len(regions) if regions is not None else len(enabled)
    pairs = 2 * count
    with tempfile.TemporaryDirectory(prefix="imgpub-bench-") as tmp:
        work = Path(tmp)
        service = start_moto(work)
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_"))}
            env.update(service.env)
            os.environ.update(service.env)  # the baseline's clients read it, like the peer's
            control = Ec2Control(service.info["endpoint"])
            ours = run_imgpub(control, env, work, regions, args.latency, pairs)
            theirs = run_baseline(control, regions, args.latency, pairs)
        finally:
            service.process.stop()
    report(args.latency, count, ours, theirs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
