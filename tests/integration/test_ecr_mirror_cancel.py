"""ecr-mirror stopped mid-copy (SIGTERM as the runner sends it, or SIGKILL), then re-run.

The second image's blobs are held by a proxy, so the run is surely mid-copy when the
signal arrives: the first image is done, the second's skopeo is waiting.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.integration.oci_helpers import AccessLog, head_digest, push_image, unique
from tests.integration.stall_proxy import stall_proxy

pytestmark = [pytest.mark.registry, pytest.mark.slow]


def start(tmp, proxy: str, ecr_host: str, images: list[str]) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "imgpub.cli", "ecr-mirror", "--images", "\n".join(f"{proxy}/{i}" for i in images),
            "--registry", ecr_host, "--tls-verify", "false", "--max-concurrency", "1",
            "--results", str(tmp / "results.json")]  # fmt: skip
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ)
    )


def skopeo_running(marker: str) -> bool:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return any("skopeo" in line and marker in line for line in out.splitlines())


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_stopped_run_then_a_rerun_finishes(how, registry, ecr_registry, aws_endpoint, tmp_path):
    one, two = unique("one"), unique("two")
    push_image(tmp_path, registry, f"x/{one}:1.0.0")
    built = push_image(tmp_path, registry, f"x/{two}:1.0.0")
    images = [f"x/{one}:1.0.0", f"x/{two}:1.0.0"]
    ecr_host = ecr_registry.info["host"]
    with stall_proxy(registry, rf"/v2/x/{two}/blobs/") as (proxy, stall):
        proc = start(tmp_path, proxy, ecr_host, images)
        deadline = time.monotonic() + 60
        while not stall.stalled.wait(0.1) and proc.poll() is None and time.monotonic() < deadline:
            pass
        assert stall.stalled.is_set(), proc.communicate(timeout=30)[0]
        proc.send_signal(how)
        out, _ = proc.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while skopeo_running(two) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not skopeo_running(two), "skopeo must not outlive imgpub"
        assert head_digest(ecr_host, two, "1.0.0") is None
        if how == signal.SIGTERM:
            assert proc.returncode == 3, out
            doc = json.loads((tmp_path / "results.json").read_text())
            found = {t["key"]: t for t in doc["stages"]["ecr-mirror"]["targets"]}
            assert found[f"image:{ecr_host}/{one}:1.0.0"]["state"] == "created"
            assert found[f"image:{ecr_host}/{two}:1.0.0"]["state"] == "cancelled"
            assert doc["stages"]["ecr-mirror"]["data"]["cancelled"] == "cancelled by SIGTERM"
            assert not list(tmp_path.glob("**/imgpub-auth-*")), "the auth file is gone"
        else:
            assert proc.returncode == -signal.SIGKILL
        stall.release.set()
        log = AccessLog(ecr_registry.info["access_log"], ecr_host)
        log.mark()
        again = start(tmp_path, proxy, ecr_host, images)
        out, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out
    doc = json.loads((tmp_path / "results.json").read_text())
    found = {t["key"]: t["state"] for t in doc["stages"]["ecr-mirror"]["targets"]}
    assert found[f"image:{ecr_host}/{one}:1.0.0"] == "existed"
    assert found[f"image:{ecr_host}/{two}:1.0.0"] == "created"
    assert head_digest(ecr_host, two, "1.0.0") == built.digest
    assert not [p for m, p, _ in log.mutations() if f"/{one}/" in p], "nothing of image one again"
