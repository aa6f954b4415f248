"""Fetch a HashiCorp Packer release and verify it the way HashiCorp documents, for the image.

Runs in a build stage of action-common.Dockerfile: download the zip, its SHA256SUMS and the
detached signature, check the signature with gpg against HashiCorp's release key — the
key is trusted by its fingerprint, pinned here, not by where it was downloaded from — then
check the zip's SHA-256 against the signed list and unpack the binary. Any mismatch stops
the build.

    python fetch_packer.py VERSION ARCH DEST   (ARCH: amd64 or arm64)
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

RELEASES = "https://releases.hashicorp.com/packer"
KEY_URL = "https://www.hashicorp.com/.well-known/pgp-key.txt"
#: HashiCorp's release signing key (security@hashicorp.com), as published on hashicorp.com.
FINGERPRINT = "798AEC654E5C15428C8E42EEAA16FCBCA621E701"


def fetch(url: str, dest: Path) -> Path:
    with urllib.request.urlopen(url, timeout=120) as answer, dest.open("wb") as out:  # noqa: S310
        while chunk := answer.read(1 << 20):
            out.write(chunk)
    return dest


def verify_signature(work: Path, sums: Path, signature: Path) -> None:
    home = work / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--homedir", str(home)]
    subprocess.run([*gpg, "--import", str(fetch(KEY_URL, work / "key.asc"))], check=True)
    listed = subprocess.run(
        [*gpg, "--with-colons", "--fingerprint"], check=True, capture_output=True, text=True
    ).stdout
    fingerprints = [line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr:")]
    if FINGERPRINT not in fingerprints:
        raise SystemExit(f"HashiCorp key fingerprint mismatch: got {fingerprints}")
    status = subprocess.run(
        [*gpg, "--status-fd", "1", "--verify", str(signature), str(sums)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # "[GNUPG:] VALIDSIG <subkey fpr> ... <primary key fpr>": the primary key must be ours.
    signers = [ln.split()[-1] for ln in status.splitlines() if ln.startswith("[GNUPG:] VALIDSIG")]
    if signers != [FINGERPRINT]:
        raise SystemExit(f"SHA256SUMS is signed by {signers or 'nobody'}, not {FINGERPRINT}")


def main(version: str, arch: str, dest: str) -> int:
    name = f"packer_{version}_linux_{arch}.zip"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = f"{RELEASES}/{version}/packer_{version}"
        sums = fetch(f"{base}_SHA256SUMS", work / "SHA256SUMS")
        signature = fetch(f"{base}_SHA256SUMS.sig", work / "SHA256SUMS.sig")
        verify_signature(work, sums, signature)
        wanted = {
            line.split()[1]: line.split()[0] for line in sums.read_text().splitlines() if line
        }
        archive = fetch(f"{RELEASES}/{version}/{name}", work / name)
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if wanted.get(name) != digest:
            raise SystemExit(f"{name}: sha256 {digest} is not the signed {wanted.get(name)}")
        with zipfile.ZipFile(archive) as zipped:
            zipped.extract("packer", dest)
    target = Path(dest) / "packer"
    target.chmod(0o755)
    print(f"packer {version} ({arch}) verified and installed at {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
