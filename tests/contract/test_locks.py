"""Every action's dependencies are locked by hash, and every lock still satisfies pyproject."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from imgpub.stages import STAGES

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("lock_script", ROOT / "scripts" / "lock.py")
assert _spec is not None and _spec.loader is not None
lock_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock_script)


def lock_for(extras: tuple[str, ...]) -> Path:
    return ROOT / "requirements" / lock_script.lock_name(extras)


def pinned(path: Path) -> dict[str, Version]:
    """name → version of every requirement in a lock."""
    out: dict[str, Version] = {}
    for line in path.read_text("utf-8").splitlines():
        if line and not line.startswith((" ", "#")):
            name, _, version = line.split()[0].partition("==")
            out[canonicalize_name(name)] = Version(version)
    return out


def wanted(extras: tuple[str, ...]) -> list[Requirement]:
    """What pyproject asks for with these extras, following imgpub[...] self-references."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    reqs = [Requirement(r) for r in project["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in optional.get(extra, []):
            req = Requirement(text)
            if canonicalize_name(req.name) == "imgpub":
                todo.extend(req.extras)
            else:
                reqs.append(req)
    env = {"python_version": lock_script.PYTHON, "extra": ""}
    return [r for r in reqs if r.marker is None or r.marker.evaluate(env)]


def action_extras() -> set[tuple[str, ...]]:
    return {(), *(tuple(sorted(i.extras)) for i in STAGES.values())}


def test_every_action_extras_set_has_a_lock_that_satisfies_pyproject():
    for extras in action_extras():
        path = lock_for(extras)
        assert path.is_file(), f"{path.name} missing: run python scripts/lock.py"
        versions = pinned(path)
        for req in wanted(extras):
            name = canonicalize_name(req.name)
            assert name in versions, f"{path.name} lacks {req}: run python scripts/lock.py"
            assert req.specifier.contains(versions[name], prereleases=True), (
                f"{path.name} pins {name}=={versions[name]}, pyproject wants {req}: "
                "run python scripts/lock.py"
            )


def test_every_locked_requirement_is_pinned_with_hashes():
    for path in sorted((ROOT / "requirements").glob("*.txt")):
        hashed: dict[str, bool] = {}
        current = ""
        for line in path.read_text("utf-8").splitlines():
            if line and not line.startswith((" ", "#")):
                assert re.match(r"[A-Za-z0-9._-]+==\S+", line), (path.name, line)
                current = line.split()[0]
                hashed[current] = False
            elif "--hash=sha256:" in line:
                hashed[current] = True
        assert hashed, f"{path.name} locks nothing"
        assert all(hashed.values()), (path.name, [r for r, ok in hashed.items() if not ok])


def test_install_script_bootstraps_the_pinned_uv():
    script = (ROOT / "actions" / "_shared" / "install.sh").read_text("utf-8")
    version = re.search(r"^UV_VERSION=(\S+)", script, flags=re.M)
    assert version and version.group(1) == lock_script.UV_VERSION
    assert pinned(ROOT / "requirements" / "uv.txt") == {"uv": Version(lock_script.UV_VERSION)}
