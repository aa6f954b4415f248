"""skopeo copy with credentials in a private auth file, stoppable, with progress lines.

skopeo is the tool that copies a multi-arch image unchanged: ``copy --all
--preserve-digests`` sends every platform's manifest and the index as they are, and fails
rather than change a digest. Credentials never appear on its command line (``ps`` shows
it) or in the log: they go into an auth file of mode 0600 in a private folder, removed
when the :class:`AuthFile` closes — also when the stage fails or is cancelled.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from imgpub.cancel import NEVER, Cancellation
from imgpub.oci.client import Credentials
from imgpub.oci.reference import DOCKER_HUB, Reference

# A killed imgpub must not leave a copy running on (services imports only the stdlib).
from imgpub.sandbox.services import die_with_parent
from imgpub.text import first_line


class SkopeoError(Exception):
    """skopeo failed; the message is its last error line."""


class AuthFile:
    """A private ``auth.json`` (containers-auth.json(5)) that exists only while open."""

    def __init__(self, credentials: Mapping[str, Credentials], parent: str | None = None) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="imgpub-auth-", dir=parent))
        self._folder.chmod(0o700)
        self.path = self._folder / "auth.json"
        auths = {}
        for host, cred in credentials.items():
            token = base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()
            auths[host] = {"auth": token}
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"auths": auths}, fh)

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

    @property
    def folder(self) -> Path:
        return self._folder

    def __enter__(self) -> AuthFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def auth_key(host: str) -> str:
    """The key skopeo looks a host up by (Docker Hub is ``docker.io``)."""
    return DOCKER_HUB if host in ("registry-1.docker.io", "index.docker.io") else host


@dataclass(frozen=True)
class CopyProgress:
    """One line of skopeo's progress: what it is copying now."""

    images_done: int
    images_total: int
    blobs: int
    line: str


def skopeo_binary() -> str | None:
    return shutil.which("skopeo")


def copy_command(
    binary: str,
    source: Reference,
    destination: Reference,
    auth_file: Path,
    *,
    tls_verify: bool = True,
    retry_times: int = 3,
) -> list[str]:
    """The argv of one copy: every platform, digests preserved, credentials from the file."""
    argv = [binary, "--insecure-policy", "copy", "--all", "--preserve-digests"]
    argv += ["--authfile", str(auth_file), "--retry-times", str(retry_times)]
    if not tls_verify:
        argv += ["--src-tls-verify=false", "--dest-tls-verify=false"]
    argv += [f"docker://{_skopeo_name(source)}", f"docker://{_skopeo_name(destination)}"]
    return argv


def _skopeo_name(ref: Reference) -> str:
    if ref.digest and ref.tag:  # skopeo refuses name:tag@digest; the digest is what counts
        return f"{ref.name}@{ref.digest}"
    return str(ref)


def run_copy(
    argv: list[str],
    *,
    cancel: Cancellation = NEVER,
    on_progress: Callable[[CopyProgress], None] | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run one copy; raise :class:`SkopeoError` on failure or when cancelled.

    On a cancel the copy is given what is left of the grace period, then stopped: the
    destination tag is written last, so a stopped copy leaves no tag, only blobs a re-run
    reuses.
    """
    child_env = {**os.environ, **(env or {})}
    child_env["DOCKER_CONFIG"] = str(Path(argv[argv.index("--authfile") + 1]).parent)
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env,
        text=True,
        preexec_fn=die_with_parent if sys.platform == "linux" else None,
    )
    errors: list[str] = []
    reader = threading.Thread(target=_drain, args=(proc, errors), daemon=True)
    reader.start()
    assert proc.stdout is not None
    progress = _ProgressParser(on_progress)
    stopper = threading.Thread(target=_stop_on_cancel, args=(proc, cancel), daemon=True)
    stopper.start()
    for line in proc.stdout:
        progress.feed(line.rstrip("\n"))
    code = proc.wait()
    reader.join(timeout=5)
    if cancel.is_set and code != 0:
        raise SkopeoError(f"stopped: {cancel.reason or 'cancelled'}")
    if code != 0:
        raise SkopeoError(_last_error(errors) or f"skopeo exited with code {code}")


def _drain(proc: subprocess.Popen[str], sink: list[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        sink.append(line.rstrip("\n"))


def _stop_on_cancel(proc: subprocess.Popen[str], cancel: Cancellation) -> None:
    while proc.poll() is None:
        if cancel.sleep(0.2):
            break
    if proc.poll() is not None:
        return
    with contextlib.suppress(Exception):
        proc.wait(timeout=max(0.0, cancel.grace_left() - 1.0))
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()


def _last_error(lines: list[str]) -> str:
    """skopeo's reason, without its log-format prefix: ``time=... level=fatal msg="..."``."""
    for line in reversed(lines):
        text = line.strip()
        if not text:
            continue
        if 'msg="' in text:
            text = text.split('msg="', 1)[1].rsplit('"', 1)[0].replace('\\"', '"')
        return first_line(text)
    return ""


class _ProgressParser:
    """skopeo's stdout → blobs copied so far, per image of an index."""

    def __init__(self, listener: Callable[[CopyProgress], None] | None) -> None:
        self.listener = listener
        self.image, self.images, self.blobs = 0, 1, 0

    def feed(self, line: str) -> None:
        if line.startswith("Copying image ") and "(" in line:
            done, _, total = line.rsplit("(", 1)[1].rstrip(")").partition("/")
            with contextlib.suppress(ValueError):
                self.image, self.images = int(done), int(total)
        elif line.startswith("Copying blob"):
            self.blobs += 1
        else:
            return
        if self.listener is not None:
            self.listener(CopyProgress(self.image, self.images, self.blobs, line))


@contextlib.contextmanager
def auth_file(
    credentials: Mapping[str, Credentials], parent: str | None = None
) -> Iterator[AuthFile]:
    """An :class:`AuthFile` keyed the way skopeo looks hosts up."""
    keyed = {auth_key(host): cred for host, cred in credentials.items()}
    with AuthFile(keyed, parent) as file:
        yield file
