"""`imgpub sandbox`: real services on loopback, pointed at by the env, and nothing left behind.

Processes are found by what they really hold — the sandbox's work folder as their working
directory and their listening ports — not by trusting the sandbox's own bookkeeping.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

IMGPUB = [sys.executable, "-m", "imgpub.cli"]
DUMP_ENV = (
    "import json, os, sys; "
    "json.dump({**{k: v for k, v in os.environ.items() if k.startswith(('AWS_', 'AZURE_', 'IMGPUB_'))}, "
    "'CMD_PID': str(os.getpid())}, open(sys.argv[1], 'w'))"
)


def processes_in(folder: str) -> list[int]:
    """PIDs whose working directory is inside ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == folder or cwd.startswith(folder + "/"):
            found.append(int(entry.name))
    return found


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def service_ports(env: dict[str, str]) -> list[tuple[str, int]]:
    ports = []
    for key in ("AWS_ENDPOINT_URL", "IMGPUB_AZURE_ARM_ENDPOINT"):
        if key in env:
            u = urlparse(env[key])
            ports.append((u.hostname, u.port))
    if "IMGPUB_REGISTRY" in env:
        host, port = env["IMGPUB_REGISTRY"].split(":")
        ports.append((host, int(port)))
    conn = env.get("AZURE_STORAGE_CONNECTION_STRING", "")
    for part in conn.split(";"):
        if part.startswith("BlobEndpoint="):
            u = urlparse(part.split("=", 1)[1])
            ports.append((u.hostname, u.port))
    return ports


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def assert_nothing_left(env: dict[str, str]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = processes_in(env["IMGPUB_SANDBOX_DIR"])
        if "CMD_PID" in env and alive(int(env["CMD_PID"])):
            left.append(int(env["CMD_PID"]))
        open_ports = [p for p in service_ports(env) if port_open(*p)]
        if not left and not open_ports:
            return
        time.sleep(0.2)
    raise AssertionError(f"left behind: pids {left}, open ports {open_ports}")


def test_sandbox_run_lists_regions_from_local_ec2(tmp_path):
    code = (
        "import boto3; "
        "r = boto3.client('ec2').describe_regions()['Regions']; "
        "print(' '.join(sorted(x['RegionName'] for x in r)))"
    )
    proc = subprocess.run(
        [*IMGPUB, "sandbox", "run", "--services", "aws", "--", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    assert proc.returncode == 0, proc.stderr
    regions = proc.stdout.split()
    assert "us-east-1" in regions and "eu-west-1" in regions
    assert all(r.count("-") >= 2 for r in regions)


def test_env_points_at_loopback_only_and_everything_stops(tmp_path):
    dump = tmp_path / "env.json"
    proc = subprocess.run(
        [*IMGPUB, "sandbox", "run", "--", sys.executable, "-c", DUMP_ENV, str(dump)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    env = json.loads(dump.read_text())
    assert env["IMGPUB_SANDBOX"] == "1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_DEFAULT_REGION"]
    ports = service_ports(env)
    assert ports, env
    assert all(host == "127.0.0.1" for host, _ in ports)
    assert_nothing_left(env)


def test_failing_command_exit_code_passed_on_and_nothing_left(tmp_path):
    dump = tmp_path / "env.json"
    code = DUMP_ENV + "; sys.exit(7)"
    proc = subprocess.run(
        [
            *IMGPUB,
            "sandbox",
            "run",
            "--services",
            "aws,arm",
            "--",
            sys.executable,
            "-c",
            code,
            str(dump),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 7
    assert_nothing_left(json.loads(dump.read_text()))


def test_missing_command_is_bad_input():
    proc = subprocess.run(
        [*IMGPUB, "sandbox", "run", "--services", "aws", "--", "/nonexistent/imgpub-cmd"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 127
    assert "cannot start" in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_sandbox_leaves_nothing(tmp_path, sig):
    dump = tmp_path / "env.json"
    code = DUMP_ENV + "; import time; time.sleep(120)"
    proc = subprocess.Popen(
        [
            *IMGPUB,
            "sandbox",
            "run",
            "--services",
            "aws,arm",
            "--",
            sys.executable,
            "-c",
            code,
            str(dump),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (dump.exists() and dump.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.1)
        env = json.loads(dump.read_text())
        assert all(port_open(*p) for p in service_ports(env))
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_nothing_left(env)


def test_serve_prints_exports_and_stops_on_interrupt(tmp_path):
    proc = subprocess.Popen(
        [*IMGPUB, "sandbox", "serve", "--services", "aws"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    env: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                env[key] = value.strip("'")
            if line.startswith("# sandbox running"):
                break
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_nothing_left(env)
