"""The page-blob uploader against Azurite: identical blobs, resume, faults, reuse, conflicts.

Every test uploads with the real azure-storage-blob client and checks the blob by
downloading it: ``qemu-img compare -f raw -F vpc`` says the VHD is the RAW, and the MD5 of
the downloaded bytes equals the Content-MD5 the uploader set.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import lzma
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient, LinearRetry

from imgpub.azure.page_writer import GROW_STEP
from imgpub.azure.pageblob import (
    Outcome,
    PageBlobResult,
    RetryRule,
    UploadAbandoned,
    UploadOptions,
    UploadProgress,
    ensure_container,
    upload_page_blob,
)
from imgpub.cancel import Cancellation
from imgpub.diskimage.errors import CorruptSource
from imgpub.diskimage.source import LocalSource, open_source
from imgpub.diskimage.vhd import FOOTER_SIZE, MIB, build_footer, parse_footer
from imgpub.errors import InputError
from tests.integration.faulty_proxy import FaultPlan, faulty_proxy
from tests.integration.local_http import serving

pytestmark = [pytest.mark.azurite, pytest.mark.qemu]

API_VERSION = "2025-11-05"  # Azurite 3.35's newest (local-services.md §2)
FAST = UploadOptions(concurrency=4, retry=RetryRule(attempts=6, first_delay=0.01))
REGIONS = ((MIB, 700_000), (6 * MIB + 4096, 2 * MIB), (11 * MIB, 5000), (17 * MIB, 3 * MIB))
"""Data regions of the test disk: one crosses a 4 MiB boundary, one is tiny."""


def _client(connection_string: str, **kwargs: Any) -> BlobServiceClient:
    kwargs.setdefault("retry_policy", LinearRetry(backoff=0.01, random_jitter_range=0))
    return BlobServiceClient.from_connection_string(
        connection_string, api_version=API_VERSION, **kwargs
    )


@pytest.fixture
def container(azurite: Any, request: pytest.FixtureRequest) -> ContainerClient:
    """A fresh container per test (names must be lowercase, 3-63 chars)."""
    name = "t" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    return ensure_container(_client(azurite.connection_string), name)


def _make_raw(path: Path, size: int = 22 * MIB + 3000, seed: int = 1) -> bytes:
    """A sparse RAW with random data in REGIONS; returns its full content."""
    rng = __import__("random").Random(seed)
    content = bytearray(size)
    with path.open("wb") as f:
        f.truncate(size)
        for offset, length in REGIONS:
            data = rng.randbytes(length)
            content[offset : offset + length] = data
            f.seek(offset)
            f.write(data)
    return bytes(content)


def _data_bytes() -> int:
    """Bytes of the test disk's data regions, widened to 4 KiB filesystem blocks."""
    total = 0
    for offset, length in REGIONS:
        start, end = offset // 4096 * 4096, -(-(offset + length) // 4096) * 4096
        total += end - start
    return total


def _download(container: ContainerClient, name: str, path: Path) -> bytes:
    data: bytes = container.get_blob_client(name).download_blob().readall()
    path.write_bytes(data)
    return data


def _assert_identical(raw: Path, vhd: Path) -> None:
    info = subprocess.run(
        ["qemu-img", "compare", "-f", "raw", "-F", "vpc", str(raw), str(vhd)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert info.returncode == 0, info.stdout + info.stderr


def _assert_complete(container: ContainerClient, name: str, result: PageBlobResult) -> bytes:
    """Content-MD5 is set, equals the downloaded bytes' MD5 and the type survived it."""
    props = container.get_blob_client(name).get_blob_properties()
    assert props.content_settings.content_type == "application/octet-stream"
    stored = bytes(props.content_settings.content_md5)
    assert stored == result.content_md5
    data: bytes = container.get_blob_client(name).download_blob().readall()
    assert hashlib.md5(data).digest() == stored
    assert len(data) % MIB == FOOTER_SIZE
    return data


def test_upload_is_a_valid_fixed_vhd_identical_to_the_raw(
    container: ContainerClient, tmp_path: Path
) -> None:
    raw = tmp_path / "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw"
    _make_raw(raw)
    seen: list[UploadProgress] = []
    result = upload_page_blob(
        container, "a.vhd", LocalSource(raw), options=FAST, progress=seen.append
    )
    assert result.outcome is Outcome.CREATED
    assert result.blob_size == 23 * MIB + FOOTER_SIZE
    # Only data pages and the footer travel: never the holes, never the padding.
    assert result.bytes_sent == _data_bytes() + FOOTER_SIZE
    data = _assert_complete(container, "a.vhd", result)
    (tmp_path / "a.vhd").write_bytes(data)
    _assert_identical(raw, tmp_path / "a.vhd")
    info = subprocess.run(
        ["qemu-img", "info", "-f", "vpc", "--output=json", str(tmp_path / "a.vhd")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"virtual-size": 24117248' in info.stdout
    assert seen[-1].bytes_scanned == result.blob_size and seen[-1].percent == 100.0
    assert all(a.bytes_scanned <= b.bytes_scanned for a, b in itertools.pairwise(seen))
    meta = container.get_blob_client("a.vhd").get_blob_properties().metadata
    assert meta["imgpub_identity"] == LocalSource(raw).identity().digest


def test_complete_blob_is_reused_without_sending_a_page(
    azurite: Any, container: ContainerClient, tmp_path: Path
) -> None:
    raw = tmp_path / "r.raw"
    _make_raw(raw)
    first = upload_page_blob(container, "r.vhd", LocalSource(raw), options=FAST)
    plan = FaultPlan(every=0)
    with faulty_proxy(azurite.blob_endpoint, plan) as proxy:
        via = _proxied(azurite, proxy.url).get_container_client(container.container_name)
        again = upload_page_blob(via, "r.vhd", LocalSource(raw), options=FAST)
    assert again.outcome is Outcome.EXISTED
    assert again.content_md5 == first.content_md5
    assert (again.bytes_sent, again.bytes_scanned, plan.page_puts) == (0, 0, 0)


def test_a_blob_of_another_source_is_never_overwritten(
    container: ContainerClient, tmp_path: Path
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    _make_raw(tmp_path / "one" / "d.raw", seed=1)
    _make_raw(tmp_path / "two" / "d.raw", seed=2)
    first = upload_page_blob(container, "d.vhd", LocalSource(tmp_path / "one" / "d.raw"))
    other = LocalSource(tmp_path / "two" / "d.raw")
    result = upload_page_blob(container, "d.vhd", other, options=FAST)
    assert result.outcome is Outcome.CONFLICT
    assert result.recorded_identity == LocalSource(tmp_path / "one" / "d.raw").identity().digest
    assert result.bytes_sent == 0
    props = container.get_blob_client("d.vhd").get_blob_properties()
    assert bytes(props.content_settings.content_md5) == first.content_md5
    # A blob imgpub did not make (no identity) is left alone too.
    container.get_blob_client("foreign.vhd").create_page_blob(MIB + FOOTER_SIZE)
    foreign = upload_page_blob(container, "foreign.vhd", other, options=FAST)
    assert foreign.outcome is Outcome.CONFLICT and foreign.recorded_identity is None


class _Killed(Exception):
    pass


def test_killed_upload_resumes_sending_only_missing_pages(
    container: ContainerClient, tmp_path: Path
) -> None:
    raw = tmp_path / "k.raw"
    _make_raw(raw)
    full = upload_page_blob(container, "reference.vhd", LocalSource(raw), options=FAST)
    blob = container.get_blob_client("k.vhd")
    calls = 0

    def kill_midway(progress: UploadProgress) -> None:
        nonlocal calls
        calls += 1
        if calls < 8:  # past the 2nd data region (4 MiB chunks, holes count too)
            return
        deadline = time.monotonic() + 30
        while not list(blob.list_page_ranges()) and time.monotonic() < deadline:
            time.sleep(0.05)  # make sure some pages landed before "the runner dies"
        raise _Killed

    with pytest.raises(_Killed):
        upload_page_blob(container, "k.vhd", LocalSource(raw), options=FAST, progress=kill_midway)
    props = blob.get_blob_properties()
    assert props.content_settings.content_md5 is None  # not marked complete
    present = sum(r.end + 1 - r.start for r in blob.list_page_ranges())
    assert 0 < present < full.bytes_sent

    resumed = upload_page_blob(container, "k.vhd", LocalSource(raw), options=FAST)
    assert resumed.outcome is Outcome.RESUMED
    assert resumed.bytes_sent == full.bytes_sent - present
    assert resumed.content_md5 == full.content_md5
    data = _assert_complete(container, "k.vhd", resumed)
    (tmp_path / "k.vhd").write_bytes(data)
    _assert_identical(raw, tmp_path / "k.vhd")


def _proxied(azurite: Any, endpoint: str, **kwargs: Any) -> BlobServiceClient:
    parts = dict(p.split("=", 1) for p in azurite.connection_string.split(";") if "=" in p)
    parts["BlobEndpoint"] = endpoint
    return _client(";".join(f"{k}={v}" for k, v in parts.items()) + ";", **kwargs)


@pytest.mark.parametrize(
    "sdk_retry",
    [pytest.param(False, id="own-retry-only"), pytest.param(True, id="with-sdk-retry")],
)
def test_503s_and_connection_resets_still_give_an_identical_blob(
    azurite: Any, container: ContainerClient, tmp_path: Path, sdk_retry: bool
) -> None:
    raw = tmp_path / "f.raw"
    _make_raw(raw)
    plan = FaultPlan(every=2)  # every other Put Page fails: 503, reset before, reset after
    policy = LinearRetry(backoff=0.01, random_jitter_range=0, retry_total=3 if sdk_retry else 0)
    with faulty_proxy(azurite.blob_endpoint, plan) as proxy:
        via = _proxied(azurite, proxy.url, retry_policy=policy)
        target = via.get_container_client(container.container_name)
        result = upload_page_blob(target, "f.vhd", LocalSource(raw), options=FAST)
    assert set(plan.injected) == {"503", "reset-before", "reset-after"}
    if not sdk_retry:
        assert result.page_retries == sum(plan.injected.values())
    data = _assert_complete(container, "f.vhd", result)
    (tmp_path / "f.vhd").write_bytes(data)
    _assert_identical(raw, tmp_path / "f.vhd")


def test_bad_vhd_is_rejected_before_anything_is_created(
    container: ContainerClient, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.vhd"
    bad.write_bytes(bytes(MIB) + build_footer(MIB, seed="x")[:-1] + b"\x01")  # corrupt checksum
    with pytest.raises(InputError, match="checksum"):
        upload_page_blob(container, "bad.vhd", LocalSource(bad), options=FAST)
    assert not container.get_blob_client("bad.vhd").exists()


def test_vhd_input_is_uploaded_as_is(container: ContainerClient, tmp_path: Path) -> None:
    raw = tmp_path / "v.raw"
    _make_raw(raw, size=8 * MIB)
    vhd = tmp_path / "v.vhd"
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size",
         str(raw), str(vhd)],
        check=True,
    )  # fmt: skip
    result = upload_page_blob(container, "v.vhd", LocalSource(vhd), options=FAST)
    data = _assert_complete(container, "v.vhd", result)
    assert data == vhd.read_bytes()


@pytest.mark.parametrize("compression", ["xz", "gz"])
def test_compressed_stream_of_unknown_size_grows_then_fits_the_blob(
    container: ContainerClient, tmp_path: Path, compression: str
) -> None:
    raw = tmp_path / "c.raw"
    content = _make_raw(raw)
    packed = lzma.compress(content) if compression == "xz" else gzip.compress(content, 1)
    (tmp_path / f"c.raw.{compression}").write_bytes(packed)
    source = LocalSource(tmp_path / f"c.raw.{compression}")
    result = upload_page_blob(container, "c.vhd", source, options=FAST)
    assert result.blob_size == 23 * MIB + FOOTER_SIZE
    data = _assert_complete(container, "c.vhd", result)
    (tmp_path / "c.vhd").write_bytes(data)
    _assert_identical(raw, tmp_path / "c.vhd")
    assert parse_footer(data[-FOOTER_SIZE:]).current_size == 23 * MIB


# -- HTTP sources ----------------------------------------------------------------------------


class _FlakyRangeHandler(SimpleHTTPRequestHandler):
    """Serves files with Range support; the first GET of each file hangs up half-way."""

    dropped: set[str] = set()  # noqa: RUF012 - per-class state shared by handler instances
    gets: dict[str, int] = {}  # noqa: RUF012
    lock = threading.Lock()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start, stop = 0, len(data)
        header = self.headers.get("Range")
        if header:
            first_byte, _, last_byte = header.removeprefix("bytes=").partition("-")
            start = int(first_byte)
            stop = int(last_byte) + 1 if last_byte else len(data)
        self.send_response(206 if header else 200)
        self.send_header("Content-Length", str(stop - start))
        if header:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{len(data)}")
        self.send_header("ETag", '"v1"')
        self.end_headers()
        data = data[:stop]
        with self.lock:
            self.gets[path.name] = self.gets.get(path.name, 0) + 1
            first = path.name not in self.dropped and "flaky" in path.name
            self.dropped.add(path.name)
        if first:
            self.wfile.write(data[start : start + (len(data) - start) // 2])
            self.close_connection = True
            return
        self.wfile.write(data[start:])

    def do_HEAD(self) -> None:
        path = Path(self.translate_path(self.path))
        if "nohead" in path.name:  # like a presigned GET URL: HEAD is not signed for
            self.send_error(403)
            return
        if not path.is_file():
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.send_header("ETag", '"v1"')
        self.send_header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
        self.end_headers()


@pytest.fixture
def web_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    with serving(root, _FlakyRangeHandler) as base:
        yield base, root


@pytest.mark.parametrize("name", ["h.raw", "h.raw.gz", "flaky-h.raw", "nohead-h.raw"])
def test_http_source_streams_to_an_identical_blob(
    container: ContainerClient, tmp_path: Path, web_root: tuple[str, Path], name: str
) -> None:
    base, root = web_root
    raw = tmp_path / "h.raw"
    content = _make_raw(raw)
    if name.endswith(".gz"):
        (root / name).write_bytes(gzip.compress(content, 1))
    else:
        shutil.copyfile(raw, root / name)
    source = open_source(f"{base}/{name}?sig=secret")
    result = upload_page_blob(container, "h.vhd", source, options=FAST)
    assert "secret" not in result.blob_url
    data = _assert_complete(container, "h.vhd", result)
    (tmp_path / "h.vhd").write_bytes(data)
    _assert_identical(raw, tmp_path / "h.vhd")
    if "nohead" not in name:
        assert source.identity().modified == 1445412480  # Last-Modified dates the footer
    assert source.identity().size == (root / name).stat().st_size
    if "flaky" in name:  # the hang-up half-way was resumed with a Range request
        assert _FlakyRangeHandler.gets[name] == 2


def test_unreachable_and_missing_urls_are_input_errors(
    container: ContainerClient, web_root: tuple[str, Path]
) -> None:
    base, _ = web_root
    with pytest.raises(InputError, match="HTTP 404") as missing:
        upload_page_blob(container, "m.vhd", open_source(f"{base}/nope.raw?sig=x"))
    assert "sig=x" not in missing.value.one_line()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InputError, match="unreachable"):
        upload_page_blob(container, "m.vhd", open_source(f"http://127.0.0.1:{port}/x.raw"))
    assert not container.get_blob_client("m.vhd").exists()


def test_os_environment_is_untouched() -> None:
    """The uploader reads no environment: clients and options are passed in."""
    assert "AZURE_STORAGE_CONNECTION_STRING" not in os.environ


# -- S3 sources (moto server) ----------------------------------------------------------------


@pytest.mark.parametrize("key", ["images/s.raw", "images/s.raw.xz"])
def test_s3_source_streams_to_an_identical_blob(
    aws_endpoint: str, container: ContainerClient, tmp_path: Path, key: str
) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="images")
    raw = tmp_path / "s.raw"
    content = _make_raw(raw)
    body = lzma.compress(content, preset=0) if key.endswith(".xz") else content
    s3.put_object(Bucket="images", Key=key.split("/", 1)[1], Body=body)
    source = open_source(f"s3://{key}", s3_client=s3)
    result = upload_page_blob(container, "s.vhd", source, options=FAST)
    assert result.outcome is Outcome.CREATED
    data = _assert_complete(container, "s.vhd", result)
    (tmp_path / "s.vhd").write_bytes(data)
    _assert_identical(raw, tmp_path / "s.vhd")
    again = upload_page_blob(container, "s.vhd", open_source(f"s3://{key}", s3_client=s3))
    assert again.outcome is Outcome.EXISTED


# -- a corrupt source, a cancel --------------------------------------------------------------


def _corrupt_xz_file(path: Path, content: bytes) -> Path:
    packed = bytearray(lzma.compress(content, preset=0))
    packed[len(packed) // 2 : len(packed) // 2 + 256] = bytes(256)
    path.write_bytes(bytes(packed))
    return path


def test_a_corrupt_stream_deletes_the_blob_this_upload_created(
    container: ContainerClient, tmp_path: Path
) -> None:
    content = _make_raw(tmp_path / "c.raw")
    source = LocalSource(_corrupt_xz_file(tmp_path / "c.raw.xz", content))
    with pytest.raises(UploadAbandoned) as err:
        upload_page_blob(container, "c.vhd", source, options=FAST)
    assert err.value.deleted and isinstance(err.value.cause, CorruptSource)
    assert "xz stream" in err.value.message and "deleted" in (err.value.remedy or "")
    assert not container.get_blob_client("c.vhd").exists()


def test_a_corrupt_stream_keeps_a_blob_an_earlier_run_created(
    container: ContainerClient, tmp_path: Path
) -> None:
    """Only the blob this run created is removed; an earlier run's is reported, kept."""
    content = _make_raw(tmp_path / "k.raw")
    source = LocalSource(_corrupt_xz_file(tmp_path / "k.raw.xz", content))
    identity = source.identity()
    blob = container.get_blob_client("k.vhd")
    blob.create_page_blob(GROW_STEP, metadata=identity.metadata())  # an interrupted earlier run
    with pytest.raises(UploadAbandoned) as err:
        upload_page_blob(container, "k.vhd", source, options=FAST)
    assert not err.value.deleted and "was kept" in (err.value.remedy or "")
    assert blob.exists()


def test_a_cancel_mid_upload_leaves_a_blob_the_next_run_resumes(
    container: ContainerClient, tmp_path: Path
) -> None:
    raw = tmp_path / "x.raw"
    _make_raw(raw)
    full = upload_page_blob(container, "reference.vhd", LocalSource(raw), options=FAST)
    cancel = Cancellation()
    calls = 0

    def cancel_midway(progress: UploadProgress) -> None:
        nonlocal calls
        calls += 1
        if calls == 8:
            cancel.cancel("cancelled by SIGTERM")

    stopped = upload_page_blob(
        container, "x.vhd", LocalSource(raw), options=FAST, progress=cancel_midway, cancel=cancel
    )
    assert stopped.outcome is Outcome.INTERRUPTED and stopped.content_md5 is None
    blob = container.get_blob_client("x.vhd")
    assert blob.get_blob_properties().content_settings.content_md5 is None
    resumed = upload_page_blob(container, "x.vhd", LocalSource(raw), options=FAST)
    assert resumed.outcome is Outcome.RESUMED
    assert resumed.bytes_sent + stopped.bytes_sent == full.bytes_sent
    assert resumed.content_md5 == full.content_md5
