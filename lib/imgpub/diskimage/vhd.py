"""The 512-byte footer of a fixed VHD: build it, parse it, validate a VHD against it.

Azure accepts only fixed VHDs: the raw disk bytes followed by this footer (cloud-apis.md 1.1).
imgpub writes the footer itself instead of running ``qemu-img convert``, so the disk is never
copied to local storage. The footer must be byte-identical on every run for the same source,
because a resumed upload skips pages already in the blob and the whole-blob Content-MD5 has
to match what a first run would have produced; so the timestamp and the unique ID are
derived from the source identity, never from the clock or a random generator.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from imgpub.errors import InputError

FOOTER_SIZE = 512
MIB = 1024 * 1024
COOKIE = b"conectix"
FEATURES_RESERVED = 0x00000002
FORMAT_VERSION = 0x00010000
FIXED_DATA_OFFSET = 0xFFFFFFFFFFFFFFFF
DISK_TYPE_FIXED = 2
CREATOR_APP = b"win "
"""Readers (qemu, Hyper-V, Azure) take the size from ``current_size`` for this creator, so the
exact MiB-aligned size survives even where the CHS geometry cannot express it (1.2)."""
CREATOR_VERSION = 0x000A0000
CREATOR_HOST_OS = b"Wi2k"
VHD_EPOCH_UNIX = 946684800
"""2000-01-01T00:00:00Z, the VHD timestamp origin."""
MAX_VHD_SIZE = 0xFF000000 * 512
"""qemu refuses larger VHDs (VHD_MAX_SECTORS); Azure's own limits are below it anyway."""

_LAYOUT = struct.Struct(">8sIIQI4sI4sQQHBBII16sB427x")
_CHECKSUM_OFFSET = 64


@dataclass(frozen=True)
class Geometry:
    """Cylinders, heads and sectors per track, as the VHD spec computes them."""

    cylinders: int
    heads: int
    sectors_per_track: int


@dataclass(frozen=True)
class VhdFooter:
    """The fields of a VHD footer that imgpub writes or checks."""

    current_size: int
    original_size: int
    disk_type: int
    geometry: Geometry
    timestamp: int
    unique_id: bytes
    creator_app: bytes
    checksum: int


def chs_geometry(size: int) -> Geometry:
    """The CHS geometry of the VHD spec (same as qemu's ``calculate_geometry``)."""
    total = min(size // 512, 65535 * 16 * 255)
    if total >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cth = total // spt
    else:
        spt = 17
        cth = total // spt
        heads = max((cth + 1023) // 1024, 4)
        if cth >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cth = total // spt
        if cth >= heads * 1024:
            spt, heads = 63, 16
            cth = total // spt
    return Geometry(cth // heads, heads, spt)


def footer_checksum(footer: bytes) -> int:
    """Ones' complement of the byte sum, with the checksum field counted as zero."""
    total = sum(footer) - sum(footer[_CHECKSUM_OFFSET : _CHECKSUM_OFFSET + 4])
    return ~total & 0xFFFFFFFF


def deterministic_unique_id(seed: str) -> bytes:
    """A UUID-shaped 16 bytes derived from ``seed``: same source, same footer, every run."""
    raw = bytearray(hashlib.sha256(b"imgpub-vhd-unique-id\0" + seed.encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4 layout, as a random UUID would have
    raw[8] = (raw[8] & 0x3F) | 0x80
    return bytes(raw)


def vhd_timestamp(unix_seconds: int | None) -> int:
    """Seconds since 2000-01-01, clamped to the 32-bit field; ``None`` means the epoch."""
    if unix_seconds is None:
        return 0
    return min(max(unix_seconds - VHD_EPOCH_UNIX, 0), 0xFFFFFFFF)


def build_footer(size: int, *, seed: str, unix_timestamp: int | None = None) -> bytes:
    """The footer of a fixed VHD whose disk is ``size`` bytes (a whole number of MiB)."""
    if size <= 0 or size % MIB:
        raise ValueError(f"VHD size {size} is not a positive whole number of MiB")
    if size > MAX_VHD_SIZE:
        raise ValueError(f"VHD size {size} exceeds the VHD limit of {MAX_VHD_SIZE} bytes")
    geo = chs_geometry(size)
    fields = (
        COOKIE,
        FEATURES_RESERVED,
        FORMAT_VERSION,
        FIXED_DATA_OFFSET,
        vhd_timestamp(unix_timestamp),
        CREATOR_APP,
        CREATOR_VERSION,
        CREATOR_HOST_OS,
        size,
        size,
        geo.cylinders,
        geo.heads,
        geo.sectors_per_track,
        DISK_TYPE_FIXED,
        0,
        deterministic_unique_id(seed),
        0,
    )
    unsigned = _LAYOUT.pack(*fields)
    checksum = footer_checksum(unsigned)
    return unsigned[:_CHECKSUM_OFFSET] + checksum.to_bytes(4, "big") + unsigned[68:]


def parse_footer(
    data: bytes, *, name: str = "image", error: type[InputError] = InputError
) -> VhdFooter:
    """Parse and check a footer's cookie and checksum; anything else is the caller's rule."""
    if len(data) != FOOTER_SIZE:
        raise error(
            name,
            f"the VHD footer is {len(data)} bytes, not {FOOTER_SIZE} (file truncated?)",
            "supply a complete fixed VHD, or the RAW disk instead",
        )
    (cookie, _features, _version, _offset, timestamp, app, _cver, _host, orig, cur, cyl, heads,
     spt, disk_type, checksum, uid, _saved) = _LAYOUT.unpack(data)  # fmt: skip
    if cookie != COOKIE:
        raise error(
            name,
            "no VHD footer (the last 512 bytes do not start with 'conectix')",
            "supply a fixed VHD (qemu-img convert -O vpc -o subformat=fixed,force_size) or a RAW",
        )
    if checksum != footer_checksum(data):
        raise error(
            name,
            f"the VHD footer checksum is 0x{checksum:08x}, expected 0x{footer_checksum(data):08x}",
            "the footer is corrupt; rebuild the VHD or supply the RAW disk",
        )
    return VhdFooter(cur, orig, disk_type, Geometry(cyl, heads, spt), timestamp, uid, app, checksum)


def validate_fixed_vhd(
    footer: VhdFooter,
    file_size: int | None,
    *,
    name: str = "image",
    error: type[InputError] = InputError,
) -> None:
    """Azure's rules: fixed type, whole MiB, and the file is exactly disk + footer."""
    if footer.disk_type != DISK_TYPE_FIXED:
        kind = {3: "dynamic", 4: "differencing"}.get(footer.disk_type, f"type {footer.disk_type}")
        raise error(
            name,
            f"the VHD is {kind}, Azure accepts only fixed VHDs",
            "convert it: qemu-img convert -O vpc -o subformat=fixed,force_size, or supply the RAW",
        )
    if footer.current_size <= 0 or footer.current_size % MIB:
        raise error(
            name,
            f"the VHD disk size {footer.current_size} is not a whole number of MiB",
            "pad the RAW to a MiB multiple before converting, or supply the RAW (imgpub pads it)",
        )
    if file_size is not None and file_size != footer.current_size + FOOTER_SIZE:
        raise error(
            name,
            f"the VHD file is {file_size} bytes but its footer says "
            f"{footer.current_size} + {FOOTER_SIZE}",
            "the file is truncated or padded; download or convert it again",
        )


def check_fixed_vhd(
    tail: bytes,
    file_size: int | None,
    *,
    name: str = "image",
    error: type[InputError] = InputError,
) -> VhdFooter:
    """Parse the last 512 bytes of a VHD file and apply every Azure rule.

    ``error`` is the class raised: a stream found bad at its end raises ``CorruptSource``.
    """
    if file_size is not None and file_size < FOOTER_SIZE:
        raise error(name, f"the VHD file is only {file_size} bytes", "supply a complete fixed VHD")
    footer = parse_footer(tail, name=name, error=error)
    validate_fixed_vhd(footer, file_size, name=name, error=error)
    return footer
