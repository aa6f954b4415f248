"""The Helm chart inputs of ecr-mirror: where the chart comes from and what its hook checks.

A chart pushed to the Marketplace registry can never be replaced, so what the hook will
run (product, entitlements, image, service account) is validated here, before anything
is pulled or pushed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from imgpub.errors import InputError
from imgpub.inputs import InputReader
from imgpub.oci.reference import (
    Reference,
    ReferenceError,
    check_repository,
    is_loopback,
    parse_reference,
)

#: semver.org's regular expression for SemVer 2 (Helm and Marketplace require it).
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_PRODUCT = re.compile(r"^prod-[a-z0-9]{4,}$")
_ENTITLEMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_K8S_NAME = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")
_VALUES_PATH = re.compile(r"^\{\{\s*\.Values(?:\.[A-Za-z_][A-Za-z0-9_]*)+\s*\}\}$")
_CHART_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True)
class HookValues:
    """What the injected pre-install Job runs and the Secret holds."""

    product_sku: str
    entitlements: tuple[str, ...]
    checker_image: str
    service_account: str
    license_region: str
    first_user_name: str


@dataclass(frozen=True)
class ChartInputs:
    """The chart's source (an OCI reference or a repository URL + name + version)."""

    oci: Reference | None
    repo_url: str
    name: str
    version: str
    repository: str  # destination repository name ("" = the chart's name)
    rewrite_values: bool
    hook: HookValues

    @property
    def host(self) -> str:
        if self.oci is not None:
            return self.oci.registry
        return urlsplit(self.repo_url).netloc

    @property
    def source(self) -> str:
        return f"oci://{self.oci}" if self.oci else f"{self.repo_url} {self.name} {self.version}"


def parse_chart_inputs(reader: InputReader, *, marketplace: bool) -> ChartInputs | None:
    text = reader.text("chart")
    if not text:
        return None
    name, version, oci, url = reader.text("chart-name"), reader.text("chart-version"), None, ""
    if text.startswith("oci://"):
        ref_text = text[len("oci://") :]
        head, colon, tag = ref_text.rpartition(":")
        if colon and "/" not in tag:  # Helm writes a version's + as _ in a tag
            ref_text = f"{head}:{tag.replace('+', '_')}"
        try:
            oci = parse_reference(ref_text, default_tag=version.replace("+", "_") or None)
        except ReferenceError as exc:
            raise InputError("chart", str(exc), "write oci://HOST/PATH/NAME:VERSION") from None
        name = oci.repository.rsplit("/", 1)[-1]
        version = (oci.tag or "").replace("_", "+") if oci.tag else version
        if not version:
            raise InputError(
                "chart", f"{text!r} has no version", "append :VERSION or set chart-version"
            )
    else:
        url = _repo_url(text)
        if not name or not version:
            raise InputError(
                "chart-name" if not name else "chart-version",
                "is required with a chart repository URL",
                "name the chart and its version in the repository's index.yaml",
            )
    if not _CHART_NAME.match(name):
        raise InputError(
            "chart-name", f"{name!r} is not a chart name", "use lowercase letters, digits and -"
        )
    if not SEMVER.match(version):
        raise InputError(
            "chart-version",
            f"{version!r} is not SemVer 2",
            "use e.g. 1.2.3 (Helm and Marketplace require SemVer)",
        )
    repository = reader.text("chart-repository")
    if repository:
        try:
            check_repository(repository)
        except ReferenceError as exc:
            raise InputError("chart-repository", str(exc), "fix the repository name") from None
    return ChartInputs(
        oci=oci,
        repo_url=url,
        name=name,
        version=version,
        repository=repository,
        rewrite_values=reader.boolean("rewrite-values"),
        hook=_hook(reader, marketplace=marketplace),
    )


def _repo_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.netloc)):
        if parts.query or "@" in parts.netloc:
            raise InputError(
                "chart", "the repository URL must not carry credentials", "give the plain URL"
            )
        return text.rstrip("/")
    raise InputError(
        "chart",
        f"{text!r} is neither oci:// nor an https:// chart repository",
        "write oci://HOST/PATH/NAME:VERSION or https://charts.example.com with chart-name",
    )


def _hook(reader: InputReader, *, marketplace: bool) -> HookValues:
    sku = reader.text("product-sku")
    if not sku:
        raise InputError(
            "product-sku",
            "is required with a chart (the hook checks it out)",
            "give the Marketplace product ID, prod-…",
        )
    if not _PRODUCT.match(sku):
        raise InputError(
            "product-sku",
            f"{sku!r} is not a Marketplace product ID",
            "copy it from the seller portal: prod-…",
        )
    entitlements = tuple(reader.items("entitlements"))
    if not entitlements:
        raise InputError(
            "entitlements", "is required with a chart", "name the entitlement the hook checks out"
        )
    for name in entitlements:
        if not _ENTITLEMENT.match(name):
            raise InputError(
                "entitlements",
                f"{name!r} is not an entitlement name",
                "use the dimension's API name",
            )
    image = reader.text("license-check-image")
    try:
        checker = parse_reference(image, default_tag=None) if image else None
    except ReferenceError as exc:
        raise InputError(
            "license-check-image", str(exc), "give REGISTRY/REPO:TAG or @sha256:…"
        ) from None
    if checker is None or (checker.tag is None and checker.digest is None):
        raise InputError(
            "license-check-image",
            "needs a tag or digest",
            "build license-check.Dockerfile and give its pushed reference",
        )
    if marketplace and checker.tag == "latest" and not checker.digest:
        raise InputError(
            "license-check-image",
            "'latest' is refused by Marketplace",
            "use a version tag or a digest",
        )
    account = reader.text("service-account")
    if not (_K8S_NAME.match(account) or _VALUES_PATH.match(account)):
        raise InputError(
            "service-account",
            f"{account!r} is neither a name nor {{{{ .Values.path }}}}",
            "give e.g. my-app or {{ .Values.serviceAccount.name }}",
        )
    region = reader.text("license-region")
    if not re.match(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]$", region):
        raise InputError("license-region", f"{region!r} is not an AWS region", "use us-east-1")
    user = reader.text("first-user-name")
    if not _USER.match(user):
        raise InputError(
            "first-user-name", f"{user!r} is not a user name", "use letters, digits, _ . @ -"
        )
    return HookValues(sku, entitlements, str(checker), account, region, user)
