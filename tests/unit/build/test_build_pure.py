"""build-ami's pure parts: names, blocks, the xz index, the console protocol, decisions,
Packer's machine-readable output and the RegisterImage request."""

from __future__ import annotations

import lzma
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imgpub.aws.ebs import aggregate_checksum, b64, block_digest
from imgpub.aws.ec2_builds import SnapshotInfo
from imgpub.build import packer_output as po
from imgpub.build.console import BootCheck, guest_console, read_console, user_data
from imgpub.build.naming import image_facts, render
from imgpub.build.plan import decide_upload
from imgpub.diskimage.blocks import EBS_BLOCK, blocks_touched, data_blocks, volume_gib
from imgpub.diskimage.chunks import Chunk
from imgpub.diskimage.extents import Extent
from imgpub.diskimage.xz_index import xz_uncompressed_size
from imgpub.errors import InputError

# A real `packer build -machine-readable` (Packer 1.6.6 against the local EC2), trimmed.
TRANSCRIPT = """\
1796161103,,ui,say,==> amazon-ebssurrogate.almalinux: AMI: ami-40b918167e90a061b
1796161104,,ui,say,==> amazon-ebssurrogate.almalinux: No volumes to clean up%!(PACKER_COMMA) skipping
1796161104,,ui,say,\\n==> Builds finished. The artifacts of successful builds are:
1796161104,amazon-ebssurrogate.almalinux,artifact-count,2
1796161104,amazon-ebssurrogate.almalinux,artifact,0,builder-id,mitchellh.amazon.ebssurrogate
1796161104,amazon-ebssurrogate.almalinux,artifact,0,id,us-east-1:ami-40b918167e90a061b
1796161104,amazon-ebssurrogate.almalinux,artifact,0,string,AMIs were created:\\nus-east-1: ami-40b918167e90a061b\\n
1796161104,amazon-ebssurrogate.almalinux,artifact,0,end
1796161104,amazon-ebssurrogate.almalinux,artifact,1,id,us-east-1:ami-40b918167e90a061b
"""
FAILED = """\
1796161200,,ui,error,Build 'amazon-ebssurrogate.almalinux' errored after 1 second: Error launching source instance: InvalidAMIID.NotFound
1796161200,,error-count,1
1796161200,amazon-ebssurrogate.almalinux,error,Error launching source instance: InvalidAMIID.NotFound
1796161200,,ui,say,\\n==> Builds finished but no artifacts were created.
"""


def test_facts_and_names_from_almalinux_file_names():
    facts = image_facts("AlmaLinux-9-GenericCloud-9.6-20250522.0.aarch64.raw.xz")
    assert (facts.release, facts.date, facts.version) == ("9.6", "20250522", "9.6.20250522")
    assert facts.architecture == "arm64" and facts.arch_tag == "aarch64"
    assert render("AlmaLinux OS {version} {arch}", facts, input_name="ami-name") == (
        "AlmaLinux OS 9.6.20250522 aarch64"
    )
    assert (
        image_facts("disk.raw", version="10.1.20251124.0", architecture="x86_64").release
        == "10.1.20251124"
    )
    with pytest.raises(InputError, match="architecture"):
        image_facts("disk.raw")
    with pytest.raises(InputError, match="version"):
        render("{version}", image_facts("disk.raw", architecture="x86_64"), input_name="ami-name")


def test_data_blocks_skip_holes_and_zero_blocks_and_pad_the_end():
    data = os.urandom(100)
    chunks = [
        Chunk(0, EBS_BLOCK, bytes(EBS_BLOCK)),  # zeros inside a data extent
        Chunk(EBS_BLOCK, 3 * EBS_BLOCK, None),  # a hole
        Chunk(4 * EBS_BLOCK + 512, 100, data),  # a partial block
        Chunk(4 * EBS_BLOCK + 612, EBS_BLOCK - 612, None),
    ]
    blocks = list(data_blocks(chunks))
    assert [b.index for b in blocks] == [4]
    assert blocks[0].data[512:612] == data and len(blocks[0].data) == EBS_BLOCK
    assert blocks[0].data.count(0) == EBS_BLOCK - 100 + data.count(0)
    assert blocks_touched([Extent(0, 10), Extent(EBS_BLOCK - 1, 2), Extent(5 * EBS_BLOCK, 1)]) == 3
    assert volume_gib(1) == 1 and volume_gib(1024**3 + 1) == 2


def test_xz_index_gives_the_size_without_decompressing(tmp_path: Path):
    path = tmp_path / "a.raw.xz"
    path.write_bytes(lzma.compress(bytes(3_000_000) + b"x") + lzma.compress(b"y" * 7) + bytes(4))
    with path.open("rb") as fh:
        assert xz_uncompressed_size(fh) == 3_000_008
    (tmp_path / "b.xz").write_bytes(b"not xz at all")
    with (tmp_path / "b.xz").open("rb") as fh:
        assert xz_uncompressed_size(fh) is None


def test_console_protocol_round_trip_and_nonce():
    check = BootCheck("n0nce", "AlmaLinux release 9.6", "x86_64", ("dnf -q check-update", "true"))
    script = user_data(check)
    assert script.startswith("#!/bin/bash") and "command-2" in script and "poweroff" in script
    passed = read_console(guest_console(script, "pass", ["bash", "dnf"]) or "", "n0nce")
    assert passed is not None and passed.passed and passed.packages == ("bash", "dnf")
    failed = read_console(guest_console(script, "fail", []) or "", "n0nce")
    assert failed is not None and not failed.passed and "check-update" in failed.detail
    assert read_console(guest_console(script, "silent", []) or "", "n0nce") is None
    assert read_console(guest_console(script, "pass", []) or "", "another-run") is None
    assert guest_console("#!/bin/sh\necho hi\n", "pass", []) is None


def _snap(snapshot_id: str, state: str, size: int = 1, attempt: str = "1") -> SnapshotInfo:
    return SnapshotInfo(
        snapshot_id, state, size, datetime.now(UTC), {"imgpub:upload-attempt": attempt}
    )


def test_upload_decisions():
    assert decide_upload("ami-1", [_snap("s1", "completed")], 1).mode == "existed"
    assert decide_upload(None, [], 1).mode == "upload"
    reuse = decide_upload(None, [_snap("s0", "error"), _snap("s1", "completed")], 1)
    assert (reuse.mode, reuse.snapshot_id, reuse.abandoned) == ("register", "s1", ("s0",))
    resume = decide_upload(None, [_snap("s1", "pending", attempt="2")], 1)
    assert (resume.mode, resume.snapshot_id, resume.attempt) == ("resume", "s1", 2)
    again = decide_upload(None, [_snap("s1", "error", attempt="3")], 1)
    assert (again.mode, again.attempt, again.abandoned) == ("upload", 4, ("s1",))
    assert decide_upload(None, [_snap("s1", "completed", size=2)], 1).mode == "upload"


def test_packer_machine_readable_output():
    lines = [po.parse_line(ln) for ln in TRANSCRIPT.splitlines()]
    parsed = [ln for ln in lines if ln is not None]
    assert po.artifact_amis(parsed) == {"us-east-1": "ami-40b918167e90a061b"}
    assert (
        po.human_text(parsed[1])
        == "==> amazon-ebssurrogate.almalinux: No volumes to clean up, skipping"
    )
    assert po.split_artifact_id("us-east-1:ami-1a,eu-west-1:ami-2b") == {
        "us-east-1": "ami-1a",
        "eu-west-1": "ami-2b",
    }
    failed = [ln for ln in map(po.parse_line, FAILED.splitlines()) if ln is not None]
    assert po.artifact_amis(failed) == {}
    assert any("InvalidAMIID.NotFound" in e for e in po.errors(failed))
    assert po.parse_line("2026/12/01 debug text") is None


def test_packer_manifest_takes_the_last_run(tmp_path: Path):
    manifest = tmp_path / "packer-manifest.json"
    manifest.write_text(
        '{"builds": [{"artifact_id": "us-east-1:ami-0aaa", "packer_run_uuid": "old"},'
        ' {"artifact_id": "us-east-1:ami-0bbb", "packer_run_uuid": "new"}], "last_run_uuid": "new"}'
    )
    assert po.manifest_amis(manifest) == {"us-east-1": "ami-0bbb"}
    template = Path(__file__).resolve().parents[3] / "packer" / "almalinux-ebssurrogate.pkr.hcl"
    assert {"region", "source_ami", "ami_name", "ec2_endpoint"} <= po.declared_variables(template)
    assert not po.needs_init(template)


def test_aggregate_checksum_is_linear_over_raw_digests():
    blocks = {7: b"b" * EBS_BLOCK, 2: b"a" * EBS_BLOCK}
    digests = {i: block_digest(d) for i, d in blocks.items()}
    import hashlib

    assert aggregate_checksum(digests) == b64(hashlib.sha256(digests[2] + digests[7]).digest())
