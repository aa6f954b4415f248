#!/usr/bin/env python3
"""Regenerate requirements/*.txt: the hash-pinned runtime dependencies of every action.

Each action installs imgpub with the extras its stage's registry entry names (see
imgpub.stages.STAGES); this writes one lock per distinct set of extras (and one for the
core alone) plus the pin of uv itself, with `uv pip compile --universal --generate-hashes`,
keeping uv's own header so Dependabot's pip updater can refresh them. A contract test
(tests/contract/test_locks.py) checks, offline, that every lock still satisfies
pyproject.toml.

Usage: python scripts/lock.py [--uv PATH]   (needs uv and the package index)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = "requirements"
UV_VERSION = "0.13.9"
PYTHON = "3.11"
COMMAND = "python scripts/lock.py"


def lock_name(extras: tuple[str, ...]) -> str:
    """``('azure', 'aws')`` → ``aws-azure.txt``; no extras → ``core.txt`` (as install.sh)."""
    return ("-".join(sorted(extras)) or "core") + ".txt"


def extras_sets() -> list[tuple[str, ...]]:
    sys.path.insert(0, str(ROOT / "lib"))
    from imgpub.stages import STAGES

    return sorted({(), *(tuple(sorted(info.extras)) for info in STAGES.values())})


def compile_to(uv: str, source: str, out: str, extras: tuple[str, ...] = ()) -> None:
    cmd = [uv, "pip", "compile", source, "--universal", "--generate-hashes", "--quiet"]
    cmd += ["--python-version", PYTHON, "--custom-compile-command", COMMAND, "-o", out]
    for extra in extras:
        cmd += ["--extra", extra]
    subprocess.run(cmd, check=True, cwd=ROOT)
    print(f"wrote {out}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uv", default="uv", help="the uv executable")
    args = parser.parse_args()
    (ROOT / LOCKS).mkdir(exist_ok=True)
    for extras in extras_sets():
        compile_to(args.uv, "pyproject.toml", f"{LOCKS}/{lock_name(extras)}", extras)
    compile_to(args.uv, f"{LOCKS}/uv.in", f"{LOCKS}/uv.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
