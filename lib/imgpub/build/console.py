"""The boot test's conversation with the guest: a user-data script out, console lines back.

A console-only test needs no SSH, key pair or inbound rule: the test instance runs a
script from its user data that checks the OS release and architecture, runs the test
commands, prints the installed packages and a result line to the serial console, then
powers off (the instance is launched to terminate on shutdown). imgpub reads
GetConsoleOutput until the result line appears. Every line carries a nonce unique to the
run, so console text of an earlier boot can never pass for this one; the package list is
printed before the result line so that both fit in the 64 KB EC2 keeps.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

MARKER = "IMGPUB-BOOT-TEST"
HEADER = "# imgpub-boot-test"
MAX_USER_DATA = 16 * 1024
DEFAULT_TEST_COMMANDS = ("dnf -q check-update",)


@dataclass(frozen=True)
class BootCheck:
    """What the guest must show: this nonce, release text and architecture."""

    nonce: str
    release: str
    architecture: str  # the guest's uname -m: x86_64 or aarch64
    commands: tuple[str, ...] = DEFAULT_TEST_COMMANDS


def user_data(check: BootCheck) -> str:
    """The test script (a cloud-init user-data shell script), at most 16 KiB.

    ``dnf check-update`` exits 100 when updates are pending: like AlmaLinux's own test,
    any non-zero exit of a test command fails the test.
    """
    say = f"{MARKER} {check.nonce}"
    lines = [
        "#!/bin/bash",
        f"{HEADER} nonce={check.nonce} release={shlex.quote(check.release)} "
        f"arch={check.architecture}",
        "exec > /dev/console 2>&1",
        "result() { echo \"" + say + " RESULT $*\"; sync; sleep 5; poweroff; exit 0; }",
        "release=$(cat /etc/almalinux-release /etc/redhat-release /etc/os-release "
        "2>/dev/null | head -n1)",
        f"case \"$release\" in *{_glob(check.release)}*) ;; "
        "*) result FAIL check=release detail=\"$release\" ;; esac",
        f"[ \"$(uname -m)\" = {shlex.quote(check.architecture)} ] || "
        "result FAIL check=arch detail=\"$(uname -m)\"",
    ]
    for number, command in enumerate(check.commands, 1):
        lines.append(
            f"( {command} ) || result FAIL check=command-{number} "
            f"detail={shlex.quote(command)}\\ exited\\ $?"
        )
    lines += [
        f"echo \"{say} BEGIN-PACKAGES\"",
        "rpm -qa --queryformat '%{NAME}\\n' 2>/dev/null | sort",
        f"echo \"{say} END-PACKAGES\"",
        "result PASS release=\"$release\" arch=$(uname -m)",
    ]
    script = "\n".join(lines) + "\n"
    if len(script.encode()) > MAX_USER_DATA:
        raise ValueError(f"the test script is {len(script.encode())} bytes, over EC2's 16 KiB")
    return script


def _glob(text: str) -> str:
    """``text`` as a literal inside a shell ``case`` pattern."""
    return re.sub(r"([*?\[\]\\\"$`])", r"\\\1", text)


@dataclass(frozen=True)
class BootReport:
    """What the console said, once the result line is there."""

    passed: bool
    detail: str
    packages: tuple[str, ...]


def read_console(text: str, nonce: str) -> BootReport | None:
    """The result for ``nonce`` in console ``text``, or None while it has not appeared."""
    say = f"{MARKER} {nonce} "
    packages: list[str] = []
    collecting = False
    for raw in text.splitlines():
        line = raw.strip()
        if not collecting and line == say + "BEGIN-PACKAGES":
            collecting, packages = True, []
            continue
        if collecting:
            if line == say + "END-PACKAGES":
                collecting = False
            elif line:
                packages.append(line)
            continue
        if line.startswith(say + "RESULT "):
            verdict = line[len(say + "RESULT ") :]
            status, _, detail = verdict.partition(" ")
            return BootReport(status == "PASS", detail, tuple(packages))
    return None


def guest_console(script: str, outcome: str, packages: Sequence[str]) -> str | None:
    """What a guest running ``script`` prints, for the local EC2 (``pass``/``fail``/``silent``).

    None when ``script`` is not an imgpub boot test. The sandbox uses this to answer
    GetConsoleOutput the way a booted image would.
    """
    header = next((ln for ln in script.splitlines() if ln.startswith(HEADER + " ")), None)
    if header is None:
        return None
    fields = dict(re.findall(r"(\w+)=('[^']*'|\S+)", header[len(HEADER) :]))
    nonce = fields.get("nonce", "")
    release = fields.get("release", "").strip("'")
    arch = fields.get("arch", "")
    say = f"{MARKER} {nonce}"
    boot = [
        "[    0.000000] Linux version 5.14.0 (imgpub sandbox)",
        "[    2.100000] cloud-init: running modules for final",
    ]
    if outcome == "silent":
        return "\n".join(boot) + "\n"
    if outcome == "fail":
        tail = [f"{say} RESULT FAIL check=command-1 detail=dnf\\ -q\\ check-update\\ exited\\ 100"]
    else:
        tail = [f"{say} BEGIN-PACKAGES", *packages, f"{say} END-PACKAGES"]
        tail.append(f'{say} RESULT PASS release="{release}" arch={arch}')
    return "\n".join([*boot, *tail]) + "\n"
