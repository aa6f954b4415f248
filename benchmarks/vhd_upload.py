"""Benchmark: imgpub's streaming VHD upload vs the AlmaLinux tool's path, both into Azurite.

    .venv/bin/python benchmarks/vhd_upload.py               # the 4 GiB run of issue 4
    .venv/bin/python benchmarks/vhd_upload.py --size 256M   # a quick smoke run

A sparse RAW of ``--size`` with about ``--data`` (10 %) random data in scattered extents is
generated in a temporary directory (deleted afterwards). Then, each in its own child
process so that peak RSS and local-disk writes are measured separately:

* imgpub: ``upload_page_blob`` from the RAW (extents only, footer appended, one pass);
* baseline: pad to a MiB, ``qemu-img convert -f raw -O vpc -o subformat=fixed,force_size``,
  ``md5sum`` of the VHD, ``upload_blob(blob_type="PageBlob", max_concurrency=4)``.

Bytes written to local disk are ``write_bytes`` from /proc/self/io plus the waited-for
children's block output (``ru_oublock``, i.e. qemu-img). Bytes sent are the page ranges
the blob ends up with. The lower bound is max(MD5 of the whole blob, sending just the data
pages from memory). Azurite runs in memory on a free loopback port. Prints figures only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
API_VERSION = "2025-11-05"


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_azurite() -> tuple[subprocess.Popen[bytes], str]:
    root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True, check=True)
    main_js = Path(root.stdout.strip()) / "azurite/dist/src/blob/main.js"
    port = free_port()
    proc = subprocess.Popen(
        ["node", str(main_js), "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--inMemoryPersistence", "--silent", "--loose", "--skipApiVersionCheck",
         "--disableTelemetry"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.terminate()
        raise SystemExit("azurite did not start")
    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )
    return proc, conn


def make_raw(path: Path, size: int, fraction: float, seed: int) -> int:
    """Scattered extents of random data (64 KiB .. 8 MiB, 4 KiB aligned); returns data bytes."""
    rng = random.Random(seed)
    target = int(size * fraction)
    slots = size // (64 * 1024)
    taken: list[tuple[int, int]] = []
    total = 0
    with path.open("wb") as f:
        f.truncate(size)
        while total < target:
            length = min(rng.choice((1, 2, 4, 8, 16, 32, 64, 128)) * 64 * 1024, target - total)
            length = -(-length // 4096) * 4096
            start = rng.randrange(0, slots) * 64 * 1024
            end = min(start + length, size)
            if any(s < end + 64 * 1024 and start < e + 64 * 1024 for s, e in taken):
                continue  # keep extents apart so they stay scattered
            taken.append((start, end))
            f.seek(start)
            f.write(rng.randbytes(end - start))
            total += end - start
    return total


def disk_writes() -> int:
    """Bytes this process and its waited-for children caused to be written to storage."""
    own = 0
    with Path("/proc/self/io").open() as f:
        for line in f:
            if line.startswith("write_bytes:"):
                own = int(line.split()[1])
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_oublock * 512
    return own + children


def peak_rss_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def service(conn: str) -> Any:
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(conn, api_version=API_VERSION)


def pages_in_blob(container: Any, name: str) -> int:
    return sum(r.end + 1 - r.start for r in container.get_blob_client(name).list_page_ranges())


def run_imgpub(conn: str, raw: Path, concurrency: int) -> dict[str, Any]:
    from imgpub.azure.pageblob import UploadOptions, ensure_container, upload_page_blob
    from imgpub.diskimage.source import LocalSource

    container = ensure_container(service(conn), "imgpub")
    before = disk_writes()
    start = time.perf_counter()
    result = upload_page_blob(
        container, raw.stem + ".vhd", LocalSource(raw), options=UploadOptions(concurrency)
    )
    wall = time.perf_counter() - start
    written = disk_writes() - before
    stored = container.get_blob_client(raw.stem + ".vhd").get_blob_properties()
    return {
        "wall": wall,
        "disk_writes": written,
        "bytes_sent": pages_in_blob(container, raw.stem + ".vhd"),
        "bytes_sent_counted": result.bytes_sent,
        "md5": bytes(stored.content_settings.content_md5).hex(),
        "rss_mib": peak_rss_mib()[0],
        "outcome": str(result.outcome),
    }


def run_baseline(conn: str, raw: Path, workdir: Path) -> dict[str, Any]:
    from azure.storage.blob import BlobType, ContentSettings

    container = service(conn).get_container_client("baseline")
    container.create_container()
    vhd = workdir / (raw.stem + ".vhd")
    before = disk_writes()
    start = time.perf_counter()
    size = raw.stat().st_size
    padded = -(-size // MIB) * MIB
    if padded != size:
        os.truncate(raw, padded)
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size",
         str(raw), str(vhd)],
        check=True,
    )  # fmt: skip
    md5sum = subprocess.run(["md5sum", str(vhd)], capture_output=True, text=True, check=True)
    digest = bytes.fromhex(md5sum.stdout.split()[0])
    with vhd.open("rb") as f:
        container.upload_blob(
            vhd.name,
            f,
            blob_type=BlobType.PAGEBLOB,
            length=vhd.stat().st_size,
            max_concurrency=4,
            content_settings=ContentSettings(content_md5=bytearray(digest)),
        )
    wall = time.perf_counter() - start
    written = disk_writes() - before
    own, kids = peak_rss_mib()
    vhd.unlink()
    return {
        "wall": wall,
        "disk_writes": written,
        "bytes_sent": pages_in_blob(container, vhd.name),
        "md5": digest.hex(),
        "rss_mib": max(own, kids),
    }


def run_lower_bound(conn: str, blob_size: int, data_pages: int, concurrency: int) -> dict[str, Any]:
    """max(MD5 over the whole blob, sending the data pages alone from memory)."""
    zeros = memoryview(bytes(4 * MIB))
    md5 = hashlib.md5()
    start = time.perf_counter()
    for offset in range(0, blob_size, 4 * MIB):
        md5.update(zeros[: min(4 * MIB, blob_size - offset)])
    md5_wall = time.perf_counter() - start

    container = service(conn).get_container_client("lowerbound")
    container.create_container()
    blob = container.get_blob_client("send.vhd")
    page = os.urandom(4 * MIB)
    blob.create_page_blob(-(-data_pages // (4 * MIB)) * 4 * MIB)
    offsets = range(0, data_pages, 4 * MIB)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        sizes = [min(4 * MIB, data_pages - o) for o in offsets]
        list(pool.map(lambda o, n: blob.upload_page(page[:n], o, n), offsets, sizes))
    send_wall = time.perf_counter() - start
    return {"md5_wall": md5_wall, "send_wall": send_wall, "bound": max(md5_wall, send_wall)}


def child(argv: list[str]) -> None:
    role, conn, raw, extra = argv[0], argv[1], Path(argv[2]), argv[3:]
    if role == "imgpub":
        out = run_imgpub(conn, raw, int(extra[0]))
    elif role == "baseline":
        out = run_baseline(conn, raw, Path(extra[0]))
    else:
        out = run_lower_bound(conn, int(extra[0]), int(extra[1]), int(extra[2]))
    print(json.dumps(out))


def in_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"child {args[0]} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="4G", help="virtual size of the RAW (default 4G)")
    parser.add_argument("--data", type=float, default=0.10, help="fraction of random data")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="imgpub Put Page threads (the baseline uses 4)"
    )
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--workdir", default=None, help="where the temporary RAW goes")
    args = parser.parse_args()
    size = -(-parse_size(args.size) // MIB) * MIB
    if shutil.which("qemu-img") is None or shutil.which("node") is None:
        raise SystemExit("needs qemu-img and node (azurite)")

    azurite, conn = start_azurite()
    workdir = Path(tempfile.mkdtemp(prefix="imgpub-bench-", dir=args.workdir))
    try:
        raw = workdir / "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw"
        t = time.perf_counter()
        data = make_raw(raw, size, args.data, args.seed)
        print(f"generated {raw.name}: {size / MIB:.0f} MiB virtual, {data / MIB:.1f} MiB data "
              f"in {time.perf_counter() - t:.1f}s")  # fmt: skip
        ours = in_child("imgpub", conn, str(raw), str(args.concurrency))
        base = in_child("baseline", conn, str(raw), str(workdir))
        bound = in_child("bound", conn, str(raw), str(size + 512), str(data), str(args.concurrency))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        azurite.terminate()
        azurite.wait(10)

    same = ours["md5"] == base["md5"]
    rows = [
        ("wall time (s)", f"{ours['wall']:.2f}", f"{base['wall']:.2f}"),
        ("bytes sent", f"{ours['bytes_sent']:,}", f"{base['bytes_sent']:,}"),
        ("bytes written to local disk", f"{ours['disk_writes']:,}", f"{base['disk_writes']:,}"),
        ("peak RSS (MiB)", f"{ours['rss_mib']:.0f}", f"{base['rss_mib']:.0f}"),
    ]
    print(f"\n{'':30} {'imgpub':>16} {'baseline':>16}")
    for label, a, b in rows:
        print(f"{label:30} {a:>16} {b:>16}")
    ratio = base["wall"] / ours["wall"]
    print(f"\nspeed-up (baseline / imgpub): {ratio:.1f}x  (target >= 4x)")
    extra = ours["bytes_sent"] - data
    counted = ours["bytes_sent_counted"]
    print(f"data bytes: {data:,}; imgpub sent data + {extra:,} "
          f"(target <= 1 MiB extra; imgpub's own count {counted:,})")  # fmt: skip
    print(f"lower bound: {bound['bound']:.2f}s = max(MD5 of {size + 512:,} bytes "
          f"{bound['md5_wall']:.2f}s, sending {data:,} data bytes {bound['send_wall']:.2f}s); "
          f"imgpub / bound = {ours['wall'] / bound['bound']:.2f} (target <= 1.3)")  # fmt: skip
    print(f"same Content-MD5 as the baseline: {same} (footers differ by design: creator, time, ID)")


if __name__ == "__main__":
    main()
