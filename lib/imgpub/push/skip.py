"""The ``skip`` names and exactly what each one turns off (pure).

The seed parsed ``--skip`` and ignored it; here every name maps to a stage that is not
run or a stage input that is changed, the plan says which for each destination, and an
unknown name is exit 2 — so a typo never means "skipped nothing".
"""

from __future__ import annotations

from imgpub.errors import InputError

#: name → what it disables (shown by --help, the README and the plan).
SKIPS: dict[str, str] = {
    "upload": "build-ami is not run (no disk is uploaded; an AMI from a results-document "
    "source is used) and azure-gallery leaves out its upload step",
    "import": "build-ami is not run: imgpub writes the snapshot and registers the AMI in one "
    "stage (EBS direct APIs), so there is no separate import to skip",
    "copy": "mirror-ami is not run (no copy to the destination regions)",
    "share": "no launch or create-volume permission for accounts: build-ami and mirror-ami "
    "get no share-accounts",
    "publish": "nothing is made public: mirror-ami make-public false, azure-gallery leaves "
    "out its publish step",
    "marketplace": "marketplace-changeset is not run (no change set)",
}


def parse_skip(names: list[str]) -> frozenset[str]:
    unknown = [n for n in names if n not in SKIPS]
    if unknown:
        raise InputError("skip", f"unknown step {unknown[0]!r}", f"use any of {', '.join(SKIPS)}")
    return frozenset(names)
