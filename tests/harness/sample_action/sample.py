"""The sample action's entrypoint: a stand-in for `imgpub <stage>` in the harness tests.

It uses only the standard library and does, by hand, what imgpub.gha does for a real stage,
so the harness is proven against a known-good writer independently of the library.
"""

from __future__ import annotations

import os
import sys
import uuid


def read_input(name: str) -> str:
    """Read an input as the library does: the runner's spelling first, then underscores."""
    upper = name.upper()
    return os.environ.get(f"INPUT_{upper}", os.environ.get(f"INPUT_{upper.replace('-', '_')}", ""))


def boolean(name: str) -> bool:
    value = read_input(name)
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE", ""):
        return False
    print(f"::error title=Invalid input::{name} must be true or false, got {value!r}")
    sys.exit(2)


def write_record(path: str, name: str, value: str) -> None:
    """Append one heredoc record with a random delimiter and the newline before it."""
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    with open(path, "a", encoding="utf-8", newline="\n") as f:
        f.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def main() -> int:
    greeting = read_input("greeting").strip()
    token = read_input("secret-token")
    if token:
        print(f"::add-mask::{token}")
    if not greeting:
        print("::error title=Missing input::greeting is required; set it in with:")
        return 2
    fail = boolean("fail")
    items = [i.strip() for i in read_input("items").replace(",", "\n").splitlines() if i.strip()]

    print("::group::Reading inputs")
    print(f"greeting={greeting}")
    print(f"{len(items)} item(s)")
    print("token: " + ("set" if token else "not set"))
    print("::endgroup::")
    if fail:
        print("::error title=Requested failure::fail=true was given")
        return 2
    print(f"::notice title=Sample::Hello, {greeting}%0Asecond line")

    outputs = os.environ["GITHUB_OUTPUT"]
    write_record(outputs, "message", f"Hello, {greeting}!")
    write_record(outputs, "report", "\n".join(f"- {i}" for i in items))
    write_record(outputs, "tricky", "a=b\nc<<EOF\nEOF\n<<\n=")
    if token:
        write_record(outputs, "token-hint", f"token:{token}")
    if boolean("export-env"):
        write_record(os.environ["GITHUB_ENV"], "SAMPLE_GREETED", greeting)

    with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
        f.write(f"### Sample\n\nGreeted **{greeting}** with {len(items)} item(s).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
