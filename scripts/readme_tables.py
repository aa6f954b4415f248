"""Fill the README's per-action input/output tables from actions/*/action.yml.

Run after `python -m imgpub.actionyml --write`; the contract tests fail while the README
and the actions differ.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text("utf-8")
    for action in sorted((ROOT / "actions").glob("*/action.yml")):
        name = action.parent.name
        tables = subprocess.run(
            [sys.executable, str(ROOT / "tests/contract/readme_tables.py"), str(action)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for kind in ("inputs", "outputs"):
            block = re.search(
                rf"<!-- imgpub:{kind} {re.escape(name)} -->.*?<!-- /imgpub:{kind} -->",
                tables,
                re.S,
            )
            if block is None:
                continue
            replacement = block.group(0)
            pattern = rf"<!-- imgpub:{kind} {re.escape(name)} -->.*?<!-- /imgpub:{kind} -->"
            text = re.sub(pattern, lambda _m: replacement, text, flags=re.S)  # noqa: B023
    readme.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
