"""Benchmark: mirror three multi-arch images into the ECR stand-in — imgpub against skopeo.

    .venv/bin/python benchmarks/ecr_mirror.py [--mib 50] [--images 3]

Starts the sandbox's moto (ECR API), its anonymous source registry and its ECR stand-in
(docker-registry with basic auth for moto's token) in a temporary directory, seeds
``--images`` two-platform images of about ``--mib`` MiB each for each contender (random
layers, so nothing compresses, deduplicates or mounts across repositories), then runs,
each into fresh repositories:

* **baseline** — ``skopeo copy --all --preserve-digests`` of each image, one after the
  other, as the per-image workflows it replaces do;
* **imgpub first run** — the real ``ecr-mirror`` stage through :func:`imgpub.stage.run_stage`
  (token, repositories, digests, parallel copies, read-back);
* **imgpub re-run** — the same command again: every tag is in place, so nothing is sent.

It prints wall times and the requests the ECR stand-in logged (blobs and manifests sent,
for the re-run). Figures, not assertions: nothing here is a test. The start-up of the
``imgpub`` command itself (interpreter, imports) is not in these in-process figures;
it is measured separately as ``imgpub --help``.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imgpub.gha import Gha
from imgpub.sandbox.oci_seed import seed_image
from imgpub.sandbox.services import (
    SANDBOX_ECR_PASSWORD,
    start_ecr_registry,
    start_moto,
    start_registry,
)
from imgpub.stage import run_stage
from imgpub.stages import ecr_mirror
from tests.integration.oci_helpers import AccessLog


def baseline(source: str, dest: str, images: list[str], prefix: str) -> float:
    started = time.monotonic()
    for image in images:
        repo = image.split("/", 1)[1].split(":")[0].rsplit("/", 1)[-1]
        tag = image.rsplit(":", 1)[1]
        subprocess.run(
            ["skopeo", "--insecure-policy", "copy", "--all", "--preserve-digests",
             "--src-tls-verify=false", "--dest-tls-verify=false",
             "--dest-creds", f"AWS:{SANDBOX_ECR_PASSWORD}",
             f"docker://{source}/{image.split('/', 1)[1]}", f"docker://{dest}/{prefix}{repo}:{tag}"],
            check=True, capture_output=True,
        )  # fmt: skip
    return time.monotonic() - started


def imgpub_run(dest: str, images: list[str], prefix: str, results: Path) -> tuple[float, int]:
    lines = "\n".join(f"{i} -> {prefix}{i.split(':')[-2].rsplit('/', 1)[-1]}" for i in images)
    flags = {"images": lines, "registry": dest, "tls-verify": "false", "results": str(results)}
    gha = Gha(dict(os.environ), stdout=io.StringIO(), stderr=io.StringIO())
    started = time.monotonic()
    code = run_stage(ecr_mirror, flags=flags, env=dict(os.environ), gha=gha)
    return time.monotonic() - started, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=50, help="size of each image (MiB)")
    parser.add_argument("--images", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imgpub-bench-") as folder:
        work = Path(folder)
        services = [start_moto(work), start_registry(work), start_ecr_registry(work)]
        try:
            for svc in services:
                os.environ.update(svc.env)
            source, dest = services[1].info["host"], services[2].info["host"]
            log = AccessLog(services[2].info["access_log"], dest)
            layer = args.mib * 1024 * 1024 // 2  # two platforms
            # Each contender gets images of its own (other random layers): the registry
            # shares blobs across repositories, so copies of the same image would let the
            # second contender mount what the first uploaded.
            base_images, images = [], []
            started = time.monotonic()
            for i in range(args.images):
                for group, prefix in ((base_images, "base"), (images, "app")):
                    name = f"bench/{prefix}{i}:1.0.{i}"
                    seed_image(source, name, size=layer)
                    group.append(f"{source}/{name}")
            print(f"seeded 2 x {args.images} images x 2 platforms x {layer // 2**20} MiB "
                  f"in {time.monotonic() - started:.1f} s")  # fmt: skip
            run = uuid.uuid4().hex[:6]
            base = baseline(source, dest, base_images, f"base{run}-")
            first, code1 = imgpub_run(dest, images, f"imgpub{run}-", work / "r.json")
            log.mark()
            again, code2 = imgpub_run(dest, images, f"imgpub{run}-", work / "r.json")
            sent = log.mutations()
            startup = time.monotonic()
            help_argv = [sys.executable, "-m", "imgpub.cli", "--help"]
            subprocess.run(help_argv, capture_output=True, check=True)
            startup = time.monotonic() - startup
        finally:
            for svc in reversed(services):
                svc.process.stop()
    print(f"baseline: sequential skopeo copy --all  {base:7.2f} s")
    ratio = first / base
    print(f"imgpub ecr-mirror, first run             {first:7.2f} s  (exit {code1}; {ratio:.2f} x)")
    print(f"imgpub ecr-mirror, re-run                {again:7.2f} s  (exit {code2}; "
          f"{len(sent)} blobs/manifests sent)")  # fmt: skip
    print(f"imgpub start-up (imgpub --help)          {startup:7.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
