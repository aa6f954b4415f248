"""The declared inputs and outputs of ecr-mirror, next to the parser that reads them."""

from __future__ import annotations

from imgpub.inputs import InputSpec, OutputSpec

MARKETPLACE_REGISTRY = "709825985650.dkr.ecr.us-east-1.amazonaws.com"
MARKETPLACE_REGION = "us-east-1"
DEFAULT_CONCURRENCY = 4

ECR_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "images",
        "Images to mirror, one per line: SOURCE [-> REPOSITORY[:TAG]], e.g. "
        "docker.io/camunda/zeebe:8.3.4 -> zeebe (default repository: the source's last path "
        "component; default tag: the source's). Or the path of a YAML file whose images list "
        "holds such lines or mappings {source, repository, tag, platforms}.",
        kind="lines",
    ),
    InputSpec(
        "registry",
        "Destination registry HOST[/NAMESPACE]. Default is the account's ECR registry (as "
        "GetAuthorizationToken names it), or with marketplace-seller the AWS Marketplace "
        "registry of account 709825985650 in us-east-1, under the seller prefix.",
    ),
    InputSpec(
        "marketplace-seller",
        "Your seller prefix in the AWS Marketplace registry. Its repositories must exist "
        "(they are created in the seller portal) and no pushed tag can ever change.",
    ),
    InputSpec(
        "region", "ECR region. Default: AWS_REGION, else us-east-1 (Marketplace: us-east-1)."
    ),
    InputSpec(
        "create-repositories",
        "Create missing private ECR repositories (tag immutability on, scan on push). "
        "Marketplace repositories are never created.",
        default="true",
        kind="bool",
    ),
    InputSpec(
        "source-credentials",
        "Credentials for source registries, one per line: HOST=USER:PASSWORD (e.g. "
        "docker.io=me:dckr_pat_…). Masked.",
        kind="secret",
    ),
    InputSpec(
        "tls-verify",
        "Verify registry TLS certificates. false is accepted only when every registry is "
        "on this machine (the sandbox's).",
        default="true",
        kind="bool",
    ),
    InputSpec(
        "chart",
        "Helm chart to repack and push: oci://HOST/PATH/NAME:VERSION, or a chart repository "
        "URL (https://…) with chart-name and chart-version.",
    ),
    InputSpec("chart-name", "Chart name in the chart repository (with a repository URL)."),
    InputSpec("chart-version", "Chart version (SemVer 2) in the chart repository."),
    InputSpec(
        "chart-repository",
        "Destination repository of the chart. Default: the chart's name.",
    ),
    InputSpec(
        "rewrite-values",
        "Point image references in the chart's values.yaml at the mirrored repositories.",
        default="false",
        kind="bool",
    ),
    InputSpec(
        "product-sku",
        "AWS Marketplace product ID (prod-…) the chart's license-check hook checks out.",
    ),
    InputSpec(
        "entitlements",
        "Entitlement names the hook checks out (Unit None), e.g. ReadOnlyUsers.",
        kind="list",
    ),
    InputSpec(
        "license-check-image",
        "Image of the hook Job that runs imgpub license-check (built from "
        "license-check.Dockerfile), with a tag or digest.",
    ),
    InputSpec(
        "service-account",
        "Service account of the hook Job, a name or a values path like "
        "{{ .Values.path }}. Its role (IRSA or Pod Identity) needs CheckoutLicense.",
        default="{{ .Values.serviceAccount.name }}",
    ),
    InputSpec("license-region", "Region of the License Manager checkout.", default="us-east-1"),
    InputSpec(
        "first-user-name",
        "User name stored next to the generated first-user password in the chart's Secret.",
        default="admin",
    ),
    InputSpec(
        "max-concurrency", "Images copied at once.", default=str(DEFAULT_CONCURRENCY), kind="int"
    ),
)

ECR_OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec(
        "images",
        "JSON list, one entry per image: {source, destination, digest, platforms, state}. "
        "Read it with fromJSON().",
    ),
    OutputSpec(
        "chart",
        "JSON {source, destination, digest, state} of the pushed chart; empty without a chart.",
    ),
    OutputSpec(
        "helm-chart-uri",
        "The chart's destination as HOST/REPOSITORY:TAG (a Marketplace HelmChartUri); "
        "empty without a chart.",
    ),
)
