"""The declared inputs of mirror-ami, next to the parser that reads them.

Kept here so that names, defaults and the parser (:func:`imgpub.mirror.model.parse_mirror_inputs`)
cannot drift apart; ``stages/mirror_ami.py`` re-exports the tuple as its ``INPUTS``.
"""

from __future__ import annotations

from imgpub.inputs import InputSpec
from imgpub.mirror.model import DEFAULT_CONCURRENCY

MIRROR_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "source-ami",
        "AMI IDs to mirror (comma or newline separated), e.g. the x86_64 and aarch64 builds. "
        "Empty: the AMIs build-ami recorded in the results document.",
        kind="list",
    ),
    InputSpec(
        "build-results",
        "Results documents of the build jobs, one path or glob per line (e.g. the x86_64 and "
        "aarch64 jobs' artifacts): merged into this stage's results document, so that "
        "source-ami defaults to every AMI they built. Empty: the results document only.",
        kind="lines",
    ),
    InputSpec("source-region", "Region of the source AMIs. Default: AWS_REGION."),
    InputSpec(
        "regions",
        "Target regions: all (every region enabled for the account in the source's "
        "partition) or a list. Empty: the config file's distribution.target_regions, else all.",
        kind="list",
    ),
    InputSpec("exclude-regions", "Regions to leave out.", kind="list"),
    InputSpec(
        "config",
        "YAML file whose distribution.target_regions lists the target regions "
        "(the regions input overrides it).",
        kind="path",
    ),
    InputSpec("make-public", "Give launch permission to everyone.", default="false", kind="bool"),
    InputSpec("share-accounts", "12-digit account IDs to share with.", kind="list"),
    InputSpec("share-organizations", "Organization ARNs to share with.", kind="list"),
    InputSpec("share-ous", "Organizational unit ARNs to share with.", kind="list"),
    InputSpec(
        "share-snapshots",
        "Give the backing snapshots the same audience (public and accounts; "
        "snapshots cannot be shared with organizations or OUs).",
        default="true",
        kind="bool",
    ),
    InputSpec("tags", "KEY=VALUE lines added to every copy and its snapshots.", kind="lines"),
    InputSpec(
        "encrypt", "Encrypt the copies (they cannot be public).", default="false", kind="bool"
    ),
    InputSpec(
        "kms-keys", "region=key lines: the KMS key per target region (with encrypt).", kind="lines"
    ),
    InputSpec(
        "deprecate-after",
        "EC2 deprecation time on every copy: 365d, 52w, 2y or a UTC date 2027-06-30.",
    ),
    InputSpec(
        "ssm-parameters",
        "SSM parameter name templates, one per line, with {region} {arch} {version} {name} "
        "{image_id}. Names without {version} {name} {image_id} are overwritten each release.",
        kind="lines",
    ),
    InputSpec(
        "allow-unblock-public-access",
        "With make-public, turn off image block public access where it is on "
        "(an account-wide setting per region). Otherwise imgpub stops before copying.",
        default="false",
        kind="bool",
    ),
    InputSpec(
        "csv-output", "Write the region table as CSV (AlmaLinux's format) here.", kind="output"
    ),
    InputSpec("md-output", "Write the region table as Markdown here.", kind="output"),
    InputSpec(
        "max-concurrency",
        "Regions worked on at once.",
        default=str(DEFAULT_CONCURRENCY),
        kind="int",
    ),
    InputSpec("timeout", "Overall deadline: minutes, or 90m, 2h, 3600s.", default="60"),
)
