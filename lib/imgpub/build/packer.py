"""Running Packer: ``init`` when needed, ``validate`` before any change, ``build`` streamed.

imgpub passes the base AMI, the region and the AMI name as ``-var`` — only the ones the
template declares, since Packer refuses an undeclared ``-var`` — plus ``packer-vars``. A
custom EC2 endpoint (the sandbox's ``AWS_ENDPOINT_URL``) reaches the template as
``PKR_VAR_ec2_endpoint``, which Packer 1.6.6 cannot read from the standard variables
itself. The build runs in a scratch folder (the ``manifest`` post-processor writes there),
its full log goes to ``log-path``, and a cancel is passed on as SIGINT, after which
Packer cleans up its instance, key pair and security group.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from imgpub.build import packer_output as out
from imgpub.build.model import PackerSpec
from imgpub.cancel import Cancellation
from imgpub.errors import ConfigError, InputError

TAIL_LINES = 20


def packer_binary() -> str:
    found = shutil.which("packer")
    if found is None:
        raise ConfigError(
            "packer is not installed",
            remedy="install it (hashicorp/setup-packer in Actions, apt-get install packer)",
        )
    return found


def packer_env(environ: Mapping[str, str], declared: set[str]) -> dict[str, str]:
    env = dict(environ)
    env["CHECKPOINT_DISABLE"] = "1"
    endpoint = environ.get("AWS_ENDPOINT_URL_EC2") or environ.get("AWS_ENDPOINT_URL")
    if endpoint and "ec2_endpoint" in declared:
        env["PKR_VAR_ec2_endpoint"] = endpoint
    return env


def variable_args(spec: PackerSpec, imgpub_vars: Mapping[str, str], declared: set[str]) -> list[str]:
    """``-var``/``-var-file`` flags: imgpub's for declared variables, then the user's."""
    args: list[str] = []
    for name, value in imgpub_vars.items():
        if name in declared and value:
            args += ["-var", f"{name}={value}"]
    for file in spec.var_files:
        args.append(f"-var-file={file.resolve()}")
    for name, value in spec.variables:
        args += ["-var", f"{name}={value}"]
    return args


def _run(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def prepare_template(
    binary: str, spec: PackerSpec, variables: Sequence[str], env: Mapping[str, str]
) -> None:
    """``packer init`` (when the template requires plugins) and ``packer validate``.

    Both change nothing in any cloud, so a template that does not validate is bad input
    (exit 2), found before anything is created.
    """
    template = spec.template.resolve()
    cwd = template if template.is_dir() else template.parent
    if out.needs_init(template):
        done = _run([binary, "init", str(template)], env, cwd)
        if done.returncode != 0:
            raise ConfigError(
                "packer init failed: " + _first_error(done.stdout + done.stderr),
                remedy="check required_plugins and the network (PACKER_GITHUB_API_TOKEN)",
            )
    done = _run([binary, "validate", *variables, str(template)], env, cwd)
    if done.returncode != 0:
        raise InputError(
            "packer-template",
            "packer validate failed: " + _first_error(done.stdout + done.stderr),
            "fix the template or packer-vars (run packer validate locally)",
        )


def _first_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    picked = [ln for ln in lines if not ln.startswith("on ") and "source code" not in ln]
    return " ".join(picked[:4])[:400] or "no output"


@dataclass(frozen=True)
class PackerRun:
    returncode: int
    amis: Mapping[str, str]
    errors: tuple[str, ...]
    tail: tuple[str, ...]
    cancelled: bool


def build(
    binary: str,
    spec: PackerSpec,
    variables: Sequence[str],
    env: Mapping[str, str],
    *,
    cancel: Cancellation,
    on_text: Callable[[str], None],
) -> PackerRun:
    """``packer build -machine-readable``; its human text goes to ``on_text`` as it comes."""
    template = spec.template.resolve()
    lines: list[out.MachineLine] = []
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with tempfile.TemporaryDirectory(prefix="imgpub-packer-") as scratch:
        work = Path(scratch)
        log = spec.log_path.open("w", encoding="utf-8") if spec.log_path else None
        argv = [binary, "build", "-machine-readable", "-color=false", *variables, str(template)]
        proc = subprocess.Popen(
            argv,
            env={**env, "PACKER_LOG_PATH": str(work / "packer-debug.log"), "PACKER_LOG": "1"},
            cwd=work if not template.is_dir() else template,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        stopper = threading.Thread(target=_stop_on_cancel, args=(proc, cancel), daemon=True)
        stopper.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                if log is not None:
                    log.write(raw)
                parsed = out.parse_line(raw)
                if parsed is None:
                    continue
                lines.append(parsed)
                text = out.human_text(parsed)
                if text is not None:
                    tail.append(text.rstrip())
                    on_text(text.rstrip())
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if log is not None:
                debug = work / "packer-debug.log"
                if debug.exists():
                    log.write("\n# PACKER_LOG\n" + debug.read_text("utf-8", errors="replace"))
                log.close()
        amis = out.artifact_amis(lines) or out.manifest_amis(
            (template if template.is_dir() else work) / "packer-manifest.json"
        )
    return PackerRun(code, amis, tuple(out.errors(lines)), tuple(tail), cancel.is_set)


def _stop_on_cancel(proc: subprocess.Popen[str], cancel: Cancellation) -> None:
    """On a cancel, ask Packer to stop (SIGINT: it cleans up what it created)."""
    while proc.poll() is None:
        if cancel.sleep(0.5):
            try:
                os.killpg(proc.pid, signal.SIGINT)
            except ProcessLookupError:
                return
            return
