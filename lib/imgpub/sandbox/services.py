"""Launchers for the local rehearsal cloud: each service is a child process on 127.0.0.1.

Every service runs in its own process group and session, on a port chosen free at start,
bound to loopback only, and is stopped by group (SIGTERM, then SIGKILL) so that nothing is
left behind even when a service forks. On Linux each child also asks the kernel to
terminate it if its parent dies, which covers the one case ``finally`` cannot: the parent
being killed with SIGKILL.

Services that are not installed are reported as unavailable, never faked.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from imgpub.errors import ConfigError
from imgpub.sandbox.serving import PortInfo

LOOPBACK = "127.0.0.1"
#: Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
#: The fake ARM serves this subscription.
SANDBOX_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def free_port() -> int:
    """A port that was free a moment ago, for servers that cannot report a port 0 bind."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM this process when its parent dies (set between fork and exec)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class ServiceProcess:
    """A started child process and how to stop it."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=timeout)
        # Children of the service (if any) share its group; sweep them too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def spawn(
    name: str, argv: Sequence[str], workdir: Path, env: dict[str, str] | None = None
) -> ServiceProcess:
    """Start a service in a new session, its output to a log file in ``workdir``."""
    log_path = workdir / f"{name}.log"
    log = log_path.open("wb")
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
    finally:
        log.close()
    return ServiceProcess(name, proc, log_path)


def wait_until(
    check: Callable[[], bool], service: ServiceProcess, timeout: float, what: str
) -> None:
    """Poll ``check`` until it passes; fail fast, with the log tail, if the service exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            raise ConfigError(
                f"sandbox service {service.name} exited with code {service.proc.returncode} "
                f"while starting: {_tail(service.log_path)}",
                remedy=f"see {service.log_path}",
            )
        if check():
            return
        time.sleep(0.05)
    service.stop()
    raise ConfigError(
        f"sandbox service {service.name} did not become ready within {timeout:.0f}s ({what})",
        remedy=f"see {service.log_path}",
    )


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text("utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - loopback only
                return bool(200 <= resp.status < 500)
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False

    return check


def read_port_file(path: Path) -> Callable[[], bool]:
    """Ready once the server wrote its port file (see :class:`serving.PortInfo`)."""

    def check() -> bool:
        return PortInfo.read(path) is not None

    return check


def port_info(path: Path) -> PortInfo:
    """The port file a service wrote, which must be there once it is ready."""
    info = PortInfo.read(path)
    assert info is not None, f"{path} vanished after it was written"
    return info


@dataclass
class RunningService:
    """A service that is up: its env for clients and how to stop it."""

    name: str
    env: dict[str, str]
    process: ServiceProcess
    info: dict[str, str] = field(default_factory=dict)


# -- the services ---------------------------------------------------------------------------


def start_moto(workdir: Path, timeout: float = 30.0) -> RunningService:
    """moto server (EC2, SSM, EBS, ECR, STS) wrapped by imgpub's EC2 extensions."""
    port_file = workdir / "moto.port"
    port_file.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "imgpub.sandbox.moto_main",
        "--host",
        LOOPBACK,
        "--port",
        "0",
        "--port-file",
        str(port_file),
    ]
    svc = spawn("moto", argv, workdir)
    wait_until(read_port_file(port_file), svc, timeout, "port file")
    endpoint = port_info(port_file).url
    wait_until(http_ok(endpoint + "/moto-api/"), svc, timeout, "HTTP")
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return RunningService("aws", env, svc, {"endpoint": endpoint})


def azurite_main_js() -> Path | None:
    """The blob server's entry script of an installed ``azurite`` npm package.

    Running ``node main.js`` directly (not ``npx``/the bin wrapper) keeps the server the
    process we started, so stopping it really stops it.
    """
    override = os.environ.get("IMGPUB_AZURITE_MAIN")
    if override:
        return Path(override) if Path(override).exists() else None
    candidates: list[Path] = []
    wrapper = shutil.which("azurite-blob")
    if wrapper:
        real = Path(wrapper).resolve()
        candidates.append(real.parent.parent / "dist" / "src" / "blob" / "main.js")
        candidates.append(real.parent / "blob" / "main.js")
    npm_root = _npm_root()
    if npm_root:
        candidates.append(npm_root / "azurite" / "dist" / "src" / "blob" / "main.js")
    for path in candidates:
        if path.exists():
            return path
    return None


def _npm_root() -> Path | None:
    npm = shutil.which("npm")
    if not npm:
        return None
    try:
        out = subprocess.run(
            [npm, "root", "-g"], capture_output=True, text=True, timeout=20, check=True
        ).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return None
    return Path(out) if out else None


def start_azurite(
    workdir: Path, timeout: float = 30.0, *, in_memory: bool = False
) -> RunningService:
    """Azurite's blob service (page blobs), API-version check off for the newest SDK."""
    main_js = azurite_main_js()
    node = shutil.which("node")
    if main_js is None or node is None:
        raise ServiceUnavailable(
            "azure", "azurite is not installed (npm install -g azurite@3.35.0)"
        )
    location = workdir / "azurite"
    location.mkdir(exist_ok=True)
    last_error: ConfigError | None = None
    for _ in range(3):  # the probed port may be taken between probe and bind
        port = free_port()
        argv = [
            node,
            str(main_js),
            "--blobHost",
            LOOPBACK,
            "--blobPort",
            str(port),
            "--silent",
            "--loose",
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ]
        # Azurite refuses --location together with --inMemoryPersistence.
        argv += ["--inMemoryPersistence"] if in_memory else ["--location", str(location)]
        svc = spawn("azurite", argv, workdir)
        endpoint = f"http://{LOOPBACK}:{port}/{AZURITE_ACCOUNT}"
        try:
            wait_until(_tcp_open(port), svc, timeout, "TCP")
        except ConfigError as exc:
            last_error = exc
            svc.stop()
            continue
        conn = (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={endpoint};"
        )
        env = {"AZURE_STORAGE_CONNECTION_STRING": conn}
        return RunningService("azure", env, svc, {"blob_endpoint": endpoint})
    assert last_error is not None
    raise last_error


def start_registry(workdir: Path, timeout: float = 20.0) -> RunningService:
    """Debian's docker-registry (distribution 2.8), plain HTTP on loopback."""
    host, svc = _docker_registry("registry", workdir, timeout)
    return RunningService("registry", {"IMGPUB_REGISTRY": host}, svc, {"host": host})


#: What moto's GetAuthorizationToken issues for the sandbox account (``AWS:<this>``);
#: the ECR stand-in accepts exactly this password (a test checks the two agree).
SANDBOX_ECR_PASSWORD = "123456789012-auth-token"  # noqa: S105 - moto's public fake


def start_ecr_registry(workdir: Path, timeout: float = 20.0) -> RunningService:
    """ECR's data plane: docker-registry with basic auth for moto's ECR token (user AWS).

    moto has ECR's API but no registry; this one accepts the token's user and password,
    and logs every request (``info["access_log"]``) so tests can count what was pushed.
    """
    try:
        import bcrypt  # registry 2.8 accepts only bcrypt htpasswd entries
    except ImportError:
        raise ServiceUnavailable(
            "ecr", "bcrypt is not installed (pip install 'imgpub[sandbox]')"
        ) from None
    htpasswd = workdir / "ecr-htpasswd"
    entry = bcrypt.hashpw(SANDBOX_ECR_PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    htpasswd.write_text(f"AWS:{entry}\n", "utf-8")
    auth = f"auth: {{htpasswd: {{realm: imgpub-sandbox-ecr, path: {htpasswd}}}}}\n"
    host, svc = _docker_registry(
        "ecr-registry", workdir, timeout, extra=auth, access_log=True, service="ecr"
    )
    info = {"host": host, "access_log": str(svc.log_path)}
    return RunningService("ecr", {"IMGPUB_ECR_REGISTRY": host}, svc, info)


def _docker_registry(
    name: str,
    workdir: Path,
    timeout: float,
    *,
    extra: str = "",
    access_log: bool = False,
    service: str = "registry",
) -> tuple[str, ServiceProcess]:
    binary = shutil.which("docker-registry")
    if binary is None:
        raise ServiceUnavailable(service, "docker-registry is not installed (apt docker-registry)")
    storage = workdir / name
    storage.mkdir(exist_ok=True)
    last_error: ConfigError | None = None
    for _ in range(3):
        port = free_port()
        config = workdir / f"{name}.yml"
        config.write_text(
            "version: 0.1\n"
            f"log: {{level: warn, accesslog: {{disabled: {str(not access_log).lower()}}}}}\n"
            f"storage: {{filesystem: {{rootdirectory: {storage}}}, delete: {{enabled: true}}}}\n"
            f"http: {{addr: '{LOOPBACK}:{port}', secret: imgpub-sandbox}}\n" + extra
        )
        svc = spawn(name, [binary, "serve", str(config)], workdir)
        try:
            wait_until(http_ok(f"http://{LOOPBACK}:{port}/v2/"), svc, timeout, "HTTP /v2/")
        except ConfigError as exc:
            last_error = exc
            svc.stop()
            continue
        return f"{LOOPBACK}:{port}", svc
    assert last_error is not None
    raise last_error


def _tcp_open(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return True
        except OSError:
            return False

    return check


class ServiceUnavailable(Exception):
    """A service whose program is not installed here; reported, never faked."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(reason)
        self.service = service
        self.reason = reason
