"""Benchmark: how long an action's install step takes before any work, and `--help` after it.

    .venv/bin/python benchmarks/action_startup.py            # every action's extras
    .venv/bin/python benchmarks/action_startup.py --extras aws

For each distinct set of action extras, in the same run:

* **old (pip)**: what the install script did before the locks — a venv with pip
  (``python -m venv``) and ``pip install <copy of the checkout>[extras]``, resolving and
  building imgpub; cold with an empty pip cache;
* **new**: ``actions/_shared/install.sh`` as the action runs it (uv bootstrapped from its
  hash-pinned wheel, ``--require-hashes --no-deps`` from ``requirements/<extras>.txt``, imgpub
  copied, not built); **cold** in a fresh RUNNER_TEMP (empty uv cache, no uv), and **warm**:
  the same job's second imgpub step (the venv is reused);
* ``imgpub <stage> --help`` from the new venv (median of 5), for each stage needing those
  extras.

Both cold installs download from the package index, so they depend on the network as much
as on the installer. Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from imgpub.stages import STAGES  # noqa: E402


def clean_env(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT", "PIP_DEFAULT_TIMEOUT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PATH"] = "/usr/bin:/bin"
    return {**env, **extra}


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def old_pip_install(work: Path, extras: tuple[str, ...]) -> float:
    src = work / "src"
    src.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", src)
    shutil.copy2(ROOT / "README.md", src)
    shutil.copytree(ROOT / "lib", src / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    venv = work / "venv"
    env = clean_env(PIP_CACHE_DIR=str(work / "pip-cache"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    target = f"{src}[{','.join(extras)}]" if extras else str(src)
    started = time.perf_counter()
    timed([sys.executable, "-m", "venv", str(venv)], env)
    timed([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", target], env)
    return time.perf_counter() - started


def new_install(temp: Path, extras: tuple[str, ...]) -> tuple[float, Path]:
    out = temp / "github-output"
    env = clean_env(
        IMGPUB_PYTHON=sys.executable,
        IMGPUB_EXTRAS=",".join(extras),
        RUNNER_TEMP=str(temp),
        GITHUB_OUTPUT=str(out),
    )
    seconds = timed(["bash", str(ROOT / "actions" / "_shared" / "install.sh")], env)
    venv = Path(out.read_text("utf-8").strip().splitlines()[-1].removeprefix("venv="))
    return seconds, venv


def help_seconds(venv: Path, stage: str, runs: int = 5) -> float:
    env = clean_env()
    return statistics.median(
        timed([str(venv / "bin" / "imgpub"), stage, "--help"], env) for _ in range(runs)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extras", action="append", help="only these extras (repeatable)")
    args = parser.parse_args()
    sets = sorted({tuple(sorted(i.extras)) for i in STAGES.values()})
    if args.extras:
        sets = [s for s in sets if ",".join(s) in args.extras]
    rows = []
    for extras in sets:
        with tempfile.TemporaryDirectory(prefix="imgpub-bench-") as tmp:
            work = Path(tmp)
            (work / "old").mkdir()
            old = old_pip_install(work / "old", extras)
            temp = work / "runner-temp"
            temp.mkdir()
            cold, venv = new_install(temp, extras)
            warm, again = new_install(temp, extras)
            assert again == venv, "the second step of a job reuses the venv"
            stages = [n for n, i in STAGES.items() if tuple(sorted(i.extras)) == extras]
            helps = {
                s: help_seconds(venv, s)
                for s in stages
                if (ROOT / "lib" / "imgpub" / "stages" / f"{s.replace('-', '_')}.py").exists()
            }
            rows.append((",".join(extras), old, cold, warm, helps))
    print()
    print(f"{'extras':<12} {'old pip cold':>13} {'new cold':>9} {'new warm':>9} {'old/new':>8}")
    for name, old, cold, warm, _ in rows:
        print(f"{name:<12} {old:>12.2f}s {cold:>8.2f}s {warm:>8.2f}s {old / cold:>7.1f}x")
    print()
    for name, _, _, _, helps in rows:
        for stage, seconds in helps.items():
            print(f"imgpub {stage} --help ({name}): {seconds:.3f} s (median of 5)")
    print()
    print("targets: new cold <= 5 s, warm <= 0.3 s, --help <= 0.5 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
