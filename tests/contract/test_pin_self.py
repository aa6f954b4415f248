"""scripts/pin_self.py: the release writes the released commit into imgpub's own references."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from .checks import REPO, check_pins, load_yaml

_spec = importlib.util.spec_from_file_location("pin_self", REPO / "scripts" / "pin_self.py")
assert _spec is not None and _spec.loader is not None
pin_self = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pin_self)

SHA = "0123456789abcdef0123456789abcdef01234567"
REUSABLE = [
    REPO / ".github" / "workflows" / f"{n}.yml"
    for n in ("release-ami", "azure-gallery", "ecr-mirror")
]
CALLERS = [REPO / "workflows-examples" / f"release-{n}.yml" for n in ("ami", "azure", "ecr")]


@pytest.mark.parametrize("path", REUSABLE + CALLERS, ids=lambda p: p.name)
def test_every_self_reference_is_pinned_and_nothing_else_changes(path: Path, tmp_path) -> None:
    text = path.read_text("utf-8")
    pinned, count = pin_self.pin(text, "almalinux/imgpub", SHA, "v1.2.3")
    uses_lines = [ln for ln in text.splitlines() if ln.lstrip().startswith(("uses:", "- uses:"))]
    assert count == sum(1 for ln in uses_lines if "ORG/imgpub/" in ln) > 0
    assert "ORG/imgpub/" not in "\n".join(
        ln for ln in pinned.splitlines() if ln.lstrip().startswith(("uses:", "- uses:"))
    )
    assert "almalinux/imgpub/" in pinned and f"@{SHA} # v1.2.3" in pinned
    out = tmp_path / path.name
    out.write_text(pinned, "utf-8")
    assert check_pins(out) == []
    # The YAML is the same but for the references.
    before, after = load_yaml(path), load_yaml(out)
    assert str(before).replace("ORG/imgpub", "almalinux/imgpub").replace("0" * 40, SHA) == str(
        after
    )


def test_the_script_refuses_a_bad_sha_and_a_file_without_placeholders(tmp_path, capsys) -> None:
    with pytest.raises(ValueError, match="not a commit SHA"):
        pin_self.pin("", "a/b", "0" * 40, "v1")
    plain = tmp_path / "plain.yml"
    plain.write_text("jobs: {}\n", "utf-8")
    assert (
        pin_self.main(["--repository", "a/imgpub", "--sha", SHA, "--version", "v1", str(plain)])
        == 2
    )
    assert "has no ORG/imgpub" in capsys.readouterr().err
    assert plain.read_text("utf-8") == "jobs: {}\n"
