"""The inputs of azure-gallery as one validated, frozen value.

Everything a user can get wrong without Azure is checked here and reported as an
``InputError`` naming the input and the fix: names by Azure's own rules (a resource group
goes into a URL path), URLs and connection strings that do not parse, dates, regions, the
int32 parts of the gallery version. What needs a look at the image or at Azure (is the
file there, does it decompress, does the gallery exist) is the read-only discovery's, still
before any change. Secrets in URLs and connection strings are masked here, first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urlsplit

from imgpub.azure.clouds import AzureCloud, normalize_regions, resolve_cloud
from imgpub.azure.image_names import parse_image_name
from imgpub.azure.naming import GENERATIONS, ImageName, NamingRules, load_naming_rules
from imgpub.azure.resource_names import (
    check_container,
    check_storage_account,
    check_subscription_id,
)
from imgpub.azure.session import StorageLogin
from imgpub.azure.storage import (
    check_connection_string,
    connection_string_secrets,
    resolve_connection_string,
    url_secrets,
)
from imgpub.errors import InputError
from imgpub.gallery.names import PublishNames, PublishOptions, plan_names
from imgpub.redact import without_query

STEPS = ("upload", "publish")
IMAGE_SCHEMES = ("http", "https", "s3")


class InputSource(Protocol):
    """The part of ``imgpub.inputs.InputReader`` this module reads (defaults applied)."""

    def text(self, name: str) -> str: ...
    def secret(self, name: str) -> str: ...
    def boolean(self, name: str) -> bool: ...
    def items(self, name: str) -> list[str]: ...
    def integer(
        self, name: str, *, minimum: int | None = ..., maximum: int | None = ...
    ) -> int: ...


@dataclass(frozen=True)
class GalleryInputs:
    """Every input, validated; nothing in the cloud has been touched to build it."""

    rules: NamingRules
    image_name: ImageName
    options: PublishOptions
    names: PublishNames
    """The names at the file's own index; discovery may move to a later one."""
    cloud: AzureCloud
    steps: frozenset[str]
    create_definitions: bool
    image: str | None
    """As given, query string included: only the source reader sees it (it is masked)."""
    vhd_url: str | None
    """Without its query string (a SAS is masked and never reused)."""
    storage: StorageLogin
    subscription: str | None

    @property
    def uploads(self) -> bool:
        return "upload" in self.steps

    @property
    def publishes(self) -> bool:
        return "publish" in self.steps

    def names_at(self, index: int) -> PublishNames:
        """The same release under another blob index (a lower one is someone else's)."""
        return plan_names(self.image_name, self.rules, replace(self.options, index=index))


def read_inputs(
    inputs: InputSource, env: Mapping[str, str], mask: Callable[[str], None]
) -> GalleryInputs:
    """Read and validate every input; bad values raise ``InputError`` naming the input."""
    rules = load_naming_rules(inputs.text("naming") or None)
    image = inputs.text("image") or None
    vhd_url_raw = inputs.text("vhd-url") or None
    if image and vhd_url_raw:
        raise InputError("vhd-url", "is set together with image", "give image or vhd-url, not both")
    if not image and not vhd_url_raw:
        raise InputError(
            "image", "is required (or vhd-url)", "give the disk image path or URL, or vhd-url"
        )
    for secret in url_secrets(image or vhd_url_raw or ""):
        mask(secret)
    steps = _steps(inputs.items("steps"))
    cloud = resolve_cloud(inputs.text("azure-cloud") or "AzureCloud", env=env)
    storage = _storage_login(inputs, env, mask, rules)
    options = PublishOptions(
        regions=normalize_regions(cloud, inputs.items("target-regions")),
        replica_count=inputs.integer("replica-count", minimum=1, maximum=100),
        storage_account_type=inputs.text("storage-account-type") or "Standard_LRS",
        exclude_from_latest=inputs.boolean("exclude-from-latest"),
        end_of_life_date=_date(inputs.text("end-of-life-date")),
        public=inputs.boolean("public"),
        gallery=inputs.text("gallery") or None,
        public_gallery=inputs.text("public-gallery") or None,
        resource_group=inputs.text("resource-group") or None,
        storage_account=storage.account or None,
        container=_container(inputs.text("container")),
        publisher=inputs.text("publisher") or None,
        offer=inputs.text("offer") or None,
        generations=_generations(inputs.items("generations")),
    )
    if vhd_url_raw:
        vhd_url: str | None = _check_vhd_url(vhd_url_raw)
        image_name = _parse_as(vhd_url or "", rules, "vhd-url")
        if image_name.disk_format != "vhd" or image_name.compression:
            raise InputError(
                "vhd-url", "must name an uncompressed .vhd blob", "upload RAW images with image"
            )
    else:
        vhd_url = None
        _check_image(image or "")
        image_name = parse_image_name(image or "", rules)
    names = plan_names(image_name, rules, options)  # checks options and the int32 parts
    return GalleryInputs(
        rules=rules,
        image_name=image_name,
        options=options,
        names=names,
        cloud=cloud,
        steps=steps,
        create_definitions=inputs.boolean("create-definitions"),
        image=image,
        vhd_url=vhd_url,
        storage=storage,
        subscription=_subscription(inputs.text("subscription-id"), env),
    )


def _steps(given: list[str]) -> frozenset[str]:
    steps = [s.lower() for s in given]
    unknown = [s for s in steps if s not in STEPS]
    if unknown or not steps:
        raise InputError(
            "steps", f"unknown step(s) {', '.join(unknown) or '(none)'}", "use upload, publish"
        )
    return frozenset(steps)


def _date(text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(
            "end-of-life-date", f"{text!r} is not a date", "write YYYY-MM-DD"
        ) from None


def _container(text: str) -> str | None:
    return check_container(text) if text else None


def _subscription(given: str, env: Mapping[str, str]) -> str | None:
    """The subscription GUID from the input or AZURE_SUBSCRIPTION_ID; checked either way."""
    value = (given or env.get("AZURE_SUBSCRIPTION_ID", "")).strip()
    if not value:
        return None
    source = "subscription-id" if given else "subscription-id (from AZURE_SUBSCRIPTION_ID)"
    return check_subscription_id(value, source)


def _storage_login(
    inputs: InputSource, env: Mapping[str, str], mask: Callable[[str], None], rules: NamingRules
) -> StorageLogin:
    found = resolve_connection_string(inputs.secret("storage-connection-string"), env)
    given = inputs.text("storage-account")
    if given:
        check_storage_account(given)
    if found is None:
        return StorageLogin(None, "", given or rules.storage_account, bool(given))
    text, origin = found
    for secret in connection_string_secrets(text):
        mask(secret)
    pairs = check_connection_string(text, origin)
    # The plan names the account the blob really goes to (Azurite: devstoreaccount1).
    account = given or pairs.get("accountname", "") or rules.storage_account
    return StorageLogin(text, origin, account, bool(given))


def _parse_as(url: str, rules: NamingRules, input_name: str) -> ImageName:
    """Parse a file name, reporting problems against ``input_name`` instead of ``image``."""
    try:
        return parse_image_name(url, rules)
    except InputError as exc:
        problem = exc.message.split(": ", 1)[-1]
        raise InputError(input_name, problem, exc.remedy or "") from None


def _split(url: str, input_name: str, example: str) -> tuple[str, str, list[str]]:
    """Scheme, host and path segments of a URL; one that does not parse is an input error."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:  # the URL is not echoed: it does not parse, so it cannot be redacted
        raise InputError(input_name, f"the URL does not parse ({exc})", f"give {example}") from None
    return parts.scheme.lower(), host, [s for s in parts.path.split("/") if s]


def _check_image(image: str) -> None:
    """A URL image must parse and name a host and a file; a path is looked at in discovery."""
    if "://" not in image:
        return
    scheme, host, segments = _split(image, "image", "https://HOST/PATH/FILE or s3://BUCKET/KEY")
    if scheme not in IMAGE_SCHEMES:
        raise InputError(
            "image", f"unsupported URL scheme '{scheme}'", "use a path, https://, http:// or s3://"
        )
    if not host or not segments:
        what = "bucket and key" if scheme == "s3" else "host and file"
        raise InputError(
            "image",
            f"{without_query(image)} names no {what}",
            "give https://HOST/PATH/FILE or s3://BUCKET/KEY",
        )


def _check_vhd_url(url: str) -> str:
    example = "https://ACCOUNT.blob.core.windows.net/CONTAINER/NAME.vhd"
    scheme, host, segments = _split(url, "vhd-url", example)
    if scheme not in ("https", "http") or not host or len(segments) < 2:
        raise InputError("vhd-url", f"{without_query(url)} is not a blob URL", f"give {example}")
    return without_query(url)


def _generations(items: list[str]) -> tuple[str, ...]:
    """``V1``/``V2`` in any case (``gen2`` too), in the order given, once each."""
    out: list[str] = []
    for item in items:
        gen = item.strip().upper().replace("GEN", "V")
        if gen not in GENERATIONS:
            raise InputError(
                "generations", f"{item!r} is not a Hyper-V generation", "write V1, V2 or both"
            )
        out.append(gen)
    return tuple(dict.fromkeys(out))
