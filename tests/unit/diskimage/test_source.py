"""Local sources: sparse RAW, VHD, and xz/gz streams give the same blob, read once."""

from __future__ import annotations

import gzip
import lzma
import os
from pathlib import Path

import pytest

from imgpub.diskimage.chunks import Chunk
from imgpub.diskimage.errors import CorruptSource
from imgpub.diskimage.layout import raw_blob_size
from imgpub.diskimage.source import LocalSource, open_source
from imgpub.diskimage.streams import ImageKind, image_kind, source_name
from imgpub.diskimage.vhd import FOOTER_SIZE, MIB, build_footer, parse_footer
from imgpub.errors import InputError


def _blob(chunks: list[Chunk]) -> bytes:
    return b"".join(c.data if c.data is not None else bytes(c.length) for c in chunks)


def _raw(path: Path, size: int = 6 * MIB + 4096) -> bytes:
    content = bytearray(size)
    content[MIB : MIB + 70_000] = os.urandom(70_000)
    content[5 * MIB : 5 * MIB + 3000] = os.urandom(3000)
    with path.open("wb") as f:
        f.truncate(size)
        for start, end in ((MIB, MIB + 70_000), (5 * MIB, 5 * MIB + 3000)):
            f.seek(start)
            f.write(content[start:end])
    return bytes(content)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw", ImageKind("raw", "none")),
        ("disk.raw.xz", ImageKind("raw", "xz")),
        ("disk.img.gz", ImageKind("raw", "gz")),
        ("almalinux-9.6-x86_64.20250522-01.vhd", ImageKind("vhd", "none")),
        ("d.VHD.XZ", ImageKind("vhd", "xz")),
    ],
)
def test_image_kind(name: str, kind: ImageKind) -> None:
    assert image_kind(name) == kind


def test_source_name_drops_query_and_path() -> None:
    assert source_name("https://h/a/b/disk%201.raw?sig=x") == "disk 1.raw"
    assert source_name("/tmp/x/disk.raw") == "disk.raw"


def test_local_raw_becomes_a_fixed_vhd_blob(tmp_path: Path) -> None:
    content = _raw(tmp_path / "d.raw")
    source = LocalSource(tmp_path / "d.raw")
    chunks = list(source.blob_chunks())
    blob = _blob(chunks)
    assert len(blob) == source.blob_size() == raw_blob_size(len(content))
    assert blob[: len(content)] == content
    assert parse_footer(blob[-FOOTER_SIZE:]).current_size == 7 * MIB
    read = sum(c.length for c in chunks if c.data is not None) - FOOTER_SIZE
    assert read < 2 * MIB  # only the extents were read, not 6 MiB of holes


@pytest.mark.parametrize("compression", ["xz", "gz"])
def test_compressed_raw_streams_to_the_same_blob(tmp_path: Path, compression: str) -> None:
    content = _raw(tmp_path / "d.raw")
    packed = lzma.compress(content) if compression == "xz" else gzip.compress(content)
    (tmp_path / f"d.raw.{compression}").write_bytes(packed)
    plain = LocalSource(tmp_path / "d.raw")
    streamed = LocalSource(tmp_path / f"d.raw.{compression}")
    assert streamed.blob_size() is None  # known only at the end of the stream
    blob = _blob(list(streamed.blob_chunks()))
    # Same disk bytes; the footer differs only because the identities differ.
    assert blob[:-FOOTER_SIZE] == _blob(list(plain.blob_chunks()))[:-FOOTER_SIZE]
    assert parse_footer(blob[-FOOTER_SIZE:]).current_size == 7 * MIB


def test_multi_member_gzip_is_read_whole(tmp_path: Path) -> None:
    content = os.urandom(3 * MIB)
    (tmp_path / "m.raw.gz").write_bytes(gzip.compress(content[:MIB]) + gzip.compress(content[MIB:]))
    blob = _blob(list(LocalSource(tmp_path / "m.raw.gz").blob_chunks()))
    assert blob[: 3 * MIB] == content


@pytest.mark.parametrize("compression", ["xz", "gz"])
def test_truncated_compressed_stream_is_an_input_error(tmp_path: Path, compression: str) -> None:
    """Cut past the start: check() cannot see it, streaming finds it as CorruptSource.

    CorruptSource is an InputError (the input is what is wrong) that also tells the
    uploader its partial blob can never be completed; once a write has begun the stage
    flow makes it a failure (exit 1), never exit 2.
    """
    content = os.urandom(2 * MIB)
    packed = lzma.compress(content) if compression == "xz" else gzip.compress(content)
    (tmp_path / f"t.raw.{compression}").write_bytes(packed[: len(packed) // 2])
    source = LocalSource(tmp_path / f"t.raw.{compression}")
    source.check()  # the first 64 KiB decompress fine
    with pytest.raises(CorruptSource, match=r"ends early|corrupt"):
        list(source.blob_chunks())


def test_corrupt_compressed_stream_is_an_input_error(tmp_path: Path) -> None:
    """A file that is no xz stream at all is found before anything is written (exit 2).

    It used to be found only while streaming, after the blob had been created; check()
    now decompresses the start, so this is a plain bad input, caught in the preflight.
    """
    (tmp_path / "c.raw.xz").write_bytes(b"\xfd7zXZ\x00" + os.urandom(5000))
    source = LocalSource(tmp_path / "c.raw.xz")
    with pytest.raises(InputError, match="not a valid xz stream") as err:
        source.check()
    assert not isinstance(err.value, CorruptSource) and err.value.name == "image"
    with pytest.raises(CorruptSource, match="corrupt"):
        list(source.blob_chunks())


@pytest.mark.parametrize("compression", ["xz", "gz"])
def test_corruption_past_the_start_is_found_while_streaming(
    tmp_path: Path, compression: str
) -> None:
    content = os.urandom(2 * MIB)
    packed = bytearray(lzma.compress(content) if compression == "xz" else gzip.compress(content))
    middle = len(packed) // 2
    packed[middle : middle + 64] = bytes(64)
    (tmp_path / f"m.raw.{compression}").write_bytes(bytes(packed))
    source = LocalSource(tmp_path / f"m.raw.{compression}")
    source.check()
    with pytest.raises(CorruptSource) as err:
        list(source.blob_chunks())
    assert err.value.name == "image" and f"m.raw.{compression}" in err.value.message


def _xz(data: bytes) -> bytes:
    return lzma.compress(data)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("e.raw", b"", "is empty"),
        ("s.raw", b"x" * 100, "smaller than one 512-byte sector"),
        ("e.raw.xz", b"", "is empty"),
        ("z.raw.xz", _xz(b""), "decompresses to 0 bytes"),
        ("t.raw.xz", _xz(b"x" * 100), "decompresses to 100 bytes"),
        ("t.raw.gz", gzip.compress(b"x" * 100), "decompresses to 100 bytes"),
        ("f.vhd.gz", gzip.compress(b"x" * 300), "decompresses to 300 bytes"),
        ("cut.raw.xz", _xz(os.urandom(4096))[:2000], "ends early"),
        ("e.vhd", b"", "is empty"),
        ("f.vhd", build_footer(MIB, seed="v"), "VHD file is 512 bytes but its footer says"),
    ],
)
def test_empty_and_too_small_images_fail_the_check(
    tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=problem) as err:
        LocalSource(tmp_path / name).check()
    assert err.value.name == "image"


def test_a_directory_or_an_unopenable_path_is_an_input_error(tmp_path: Path) -> None:
    folder = tmp_path / "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw"
    folder.mkdir()
    with pytest.raises(InputError, match="is a directory"):
        LocalSource(folder).identity()
    with pytest.raises(InputError, match="is a directory"):
        LocalSource(folder).check()
    loop = tmp_path / "loop.raw"
    loop.symlink_to(loop)
    with pytest.raises(InputError, match=r"cannot open .*symbolic links"):
        LocalSource(loop).check()


def test_local_vhd_is_checked_and_passed_through(tmp_path: Path) -> None:
    disk = bytearray(3 * MIB)
    disk[100_000:200_000] = os.urandom(100_000)
    vhd = bytes(disk) + build_footer(3 * MIB, seed="v")
    (tmp_path / "d.vhd").write_bytes(vhd)
    source = LocalSource(tmp_path / "d.vhd")
    source.check()
    assert source.blob_size() == len(vhd)
    assert _blob(list(source.blob_chunks())) == vhd


def test_non_aligned_vhd_is_rejected_by_check(tmp_path: Path) -> None:
    (tmp_path / "odd.vhd").write_bytes(bytes(MIB) + build_footer(MIB, seed="v") + b"\0" * 512)
    with pytest.raises(InputError, match="footer"):
        LocalSource(tmp_path / "odd.vhd").check()


def test_identity_is_stable_and_content_sensitive(tmp_path: Path) -> None:
    _raw(tmp_path / "a.raw")
    first = LocalSource(tmp_path / "a.raw").identity()
    os.utime(tmp_path / "a.raw", (1, 1))  # a re-download changes mtime, not identity
    assert LocalSource(tmp_path / "a.raw").identity() == first
    with (tmp_path / "a.raw").open("r+b") as f:
        f.write(b"changed")
    assert LocalSource(tmp_path / "a.raw").identity().fingerprint != first.fingerprint
    meta = first.metadata()
    assert meta["imgpub_identity"] == first.digest
    assert all("-" not in key for key in meta)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open"):
        LocalSource(tmp_path / "nope.raw").identity()


def test_open_source_dispatches_on_scheme(tmp_path: Path) -> None:
    assert isinstance(open_source(str(tmp_path / "x.raw")), LocalSource)
    with pytest.raises(InputError, match="unsupported URL scheme"):
        open_source("ftp://host/x.raw")
    with pytest.raises(InputError, match="s3://BUCKET/KEY"):
        open_source("s3://bucket-only")
