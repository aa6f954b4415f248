"""The declared inputs and outputs of push (the CLI also takes the sources positionally)."""

from __future__ import annotations

from imgpub.inputs import InputSpec, OutputSpec
from imgpub.push.skip import SKIPS

PUSH_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "sources",
        "What to push, one per line: staged folders (disk images named by the naming rules, "
        "with an optional metadata.yaml), image files or https:// / s3:// URLs, or results "
        "documents of earlier stages (their built AMIs). On the command line: imgpub push "
        "SOURCE...",
        kind="lines",
    ),
    InputSpec(
        "mapping",
        "The destination mapping in StArMap's APIv2 QueryResponseContainer format: a JSON or "
        "YAML file, or the JSON itself.",
    ),
    InputSpec(
        "starmap-url",
        "StArMap server to query (GET /api/v2/query?name=&version=). With mapping too: hybrid, "
        "the file first and the server for what it lacks.",
    ),
    InputSpec(
        "offline",
        "Use the mapping only, never a server; an image it lacks fails (alone).",
        default="false",
        kind="bool",
    ),
    InputSpec(
        "credentials",
        'Comma-separated JSON file paths or base64 documents {"marketplace_account": ALIAS, '
        '"auth": {...}}, one per account the mapping names. Masked before use. An AWS account '
        "may give AWS_ROLE_ARN, assumed with the job's OIDC token (needs id-token: write).",
        kind="secret",
    ),
    InputSpec(
        "workflow",
        "Which mappings to push: stratosphere, community or all.",
        default="all",
    ),
    InputSpec(
        "skip",
        "Steps to leave out: " + ", ".join(SKIPS) + " (see the README for what each disables).",
        kind="list",
    ),
    InputSpec(
        "pre-push",
        "Do everything that does not make the images available (upload, import, copy, "
        "account shares; change sets with Intent VALIDATE; gallery upload only), so that the "
        "full push later re-uses it.",
        default="false",
        kind="bool",
    ),
    InputSpec(
        "beta",
        "Push as beta: beta destinations and billing codes (release_type: beta in the "
        "mapping's meta and rules).",
        default="false",
        kind="bool",
    ),
    InputSpec(
        "container-prefix",
        "Prefix of the Azure storage container (<prefix>-<major>). Empty: the gallery "
        "naming rules' container.",
    ),
)

PUSH_OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec(
        "destinations",
        "JSON list, one entry per item and destination: {item, version, architecture, cloud, "
        "workflow, account, destination, state, ids}. Read it with fromJSON().",
    ),
    OutputSpec("failed-items", "Comma-separated items that failed or had no mapping."),
)
