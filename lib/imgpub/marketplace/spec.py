"""The declared inputs and outputs of marketplace-changeset, next to their parser (model.py)."""

from __future__ import annotations

from imgpub.inputs import InputSpec, OutputSpec

MARKETPLACE_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "ami-id",
        "AMI IDs in us-east-1 to add (comma or newline separated), e.g. the x86_64 and "
        "aarch64 builds, or mirror-ami's amis output (JSON), whose us-east-1 AMIs are taken. "
        "Empty: the us-east-1 AMIs that mirror-ami or build-ami recorded in the results "
        "document.",
    ),
    InputSpec(
        "product-id",
        "Marketplace product (entity) ID to add every AMI to, e.g. prod-abcdefghijklm. "
        "Empty: each AMI's product is chosen by the products rules.",
    ),
    InputSpec(
        "products",
        "YAML file of product rules: AMI name pattern, version, major and architecture to a "
        "product ID, plus a dev/test product and the access role. Default: imgpub's AlmaLinux "
        "table, data/marketplace-products.yml in the package, which doubles as an example.",
        kind="path",
    ),
    InputSpec(
        "public-product",
        "Add each AMI to the public product its rule names. false: every AMI goes to the "
        "rules' dev/test product instead (a rehearsal buyers cannot see).",
        default="false",
        kind="bool",
    ),
    InputSpec(
        "access-role-arn",
        "IAM role (trusting assets.marketplace.amazonaws.com) that AWS Marketplace assumes "
        "to copy the AMI. Default: access-role-arn in the products file.",
    ),
    InputSpec(
        "version-title",
        "Version title, a Jinja2 template over the AMI ({{ version }}, {{ name }}, "
        "{{ major }}, {{ minor }}, {{ os_version }}, {{ architecture }}, {{ arch }}). "
        "Default: the product rule's version-title, else {{ version }} (the Version tag).",
    ),
    InputSpec(
        "release-notes",
        "Release notes, a Jinja2 template like version-title (also {{ version_title }}).",
        default="{{ name }} release.",
    ),
    InputSpec(
        "usage-instructions",
        "Usage instructions, a Jinja2 template like release-notes (also {{ user_name }}, "
        "{{ scanning_port }}). Default: launch with a key pair, then SSH as user-name on "
        "the scanning port.",
        kind="lines",
    ),
    InputSpec(
        "os-name",
        "OperatingSystemName of the AMI source (e.g. OTHERLINUX, AMAZONLINUX, UBUNTU).",
        default="OTHERLINUX",
    ),
    InputSpec(
        "os-version",
        "OperatingSystemVersion of the AMI source. Default: the Version tag without its "
        "date stamp (9.6, 10.1, 10).",
    ),
    InputSpec("user-name", "Login user of the AMI.", default="ec2-user"),
    InputSpec(
        "scanning-port", "Port AWS Marketplace scans the AMI through (SSH).", "22", kind="int"
    ),
    InputSpec(
        "instance-type",
        "Recommended instance type. Default: what the product's newest offered version of "
        "the same architecture recommends, else t3.small (x86_64) or t4g.small (arm64).",
    ),
    InputSpec(
        "security-groups",
        "Recommended inbound rules, one per line: PROTOCOL PORT[-PORT] CIDR[,CIDR].",
        default="tcp 22 0.0.0.0/0",
        kind="lines",
    ),
    InputSpec(
        "template",
        "Jinja2 template of the change set (a JSON list of changes). Default: imgpub's own, "
        "templates/marketplace/add-ami-version.json.j2 in the package; see templates/README.md.",
        kind="path",
    ),
    InputSpec(
        "keep-versions",
        "Once the new versions have succeeded, restrict (never delete) the versions buyers "
        "can still get beyond the newest N of each product and architecture. Empty: restrict "
        "nothing.",
        kind="int",
    ),
    InputSpec(
        "wait",
        "Wait for each change set's verdict (SUCCEEDED, FAILED or CANCELLED) until the "
        "timeout. false: start the change sets and finish.",
        default="true",
        kind="bool",
    ),
    InputSpec(
        "timeout",
        "Overall deadline: minutes, or 90m, 2h, 3600s. A change set still running then is "
        "pending (exit 3); a re-run picks it up.",
        default="60",
    ),
    InputSpec(
        "dry-run",
        "Print, for every AMI, the product, the rendered change set and the versions it "
        "would restrict, and change nothing. It reads the AMIs and products as a run does, "
        "and asks the Catalog API to validate each change set (Intent VALIDATE, which "
        "changes nothing; without StartChangeSet permission the plan says it was not asked).",
        default="false",
        kind="bool",
    ),
)

MARKETPLACE_OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec(
        "change-sets",
        "JSON list, one entry per change set: {ami, product_id, change (AddDeliveryOptions "
        "or RestrictDeliveryOptions), version_title, change_set_id, change_set_arn, status "
        "(the API's), state (succeeded, existed or started; pending or interrupted while it "
        "runs on; failed, cancelled, refused or not-started; planned in a dry run)}. Read it "
        "with fromJSON().",
    ),
)
