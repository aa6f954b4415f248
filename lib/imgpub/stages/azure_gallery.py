"""azure-gallery: stream a disk image into a page blob and publish it as gallery image versions.

The stage wires the Azure parts together in the order that keeps a release safe:

1. **validate** every input (names, regions, dates, the int32 version parts, the image's
   reachability) before any call that could change something — a typo costs one line and
   exit 2, never a half-published release;
2. **plan** purely from the file name and the naming rules (:func:`plan_publish`), and
   print it; a dry run (the default, as in the AlmaLinux tool) stops here after read-only
   checks, or prints the plan "not checked against Azure" when Azure cannot be reached;
3. **discover** read-only what exists (galleries, image definitions): missing definitions
   stop the run before the upload unless ``create-definitions`` is true;
4. **upload** the blob (deterministic name; a blob of another source is never overwritten,
   the next index is used and the summary says why), then **publish** every version in
   parallel; each blob and version becomes a target in the results document.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from imgpub.azure.clouds import AzureCloud, normalize_regions, resolve_cloud
from imgpub.azure.credentials import (
    azure_credential,
    compute_client,
    in_sandbox,
    probe,
    resolve_subscription,
)
from imgpub.azure.gallery import (
    DEFAULT_REGIONS,
    GalleryAdapter,
    GalleryPlan,
    PublishOptions,
    PublishReport,
    VersionOutcome,
    VersionSource,
    VersionState,
    VersionTarget,
    classify,
    plan_publish,
    storage_account_id,
)
from imgpub.azure.naming import ImageName, NamingRules, load_naming_rules, parse_image_name
from imgpub.azure.pageblob import (
    Outcome,
    PageBlobResult,
    UploadProgress,
    blob_status,
    ensure_container,
    upload_page_blob,
)
from imgpub.azure.storage import (
    StorageAccess,
    connection_string_secrets,
    parse_connection_string,
    resolve_connection_string,
    storage_access,
    url_secrets,
    without_query,
)
from imgpub.diskimage.source import open_source
from imgpub.diskimage.streams import DiskSource
from imgpub.diskimage.vhd import FOOTER_SIZE, check_fixed_vhd
from imgpub.errors import CloudError, ConfigError, ImgpubError, InputError
from imgpub.flow import StageContext, StageResult
from imgpub.inputs import InputSpec, OutputSpec
from imgpub.results import Target, TargetState
from imgpub.stage import json_output
from imgpub.stages import STAGES

NAME = "azure-gallery"
HELP = STAGES[NAME].help

STEPS = ("upload", "publish")
MAX_INDEX_BUMPS = 20
"""How many taken blob names to skip before giving up (each is someone else's blob)."""
PROBE_SECONDS = 5.0
"""How long a dry run waits for Azure to answer before printing the unchecked plan."""
PROGRESS_SECONDS = 2.0

INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "image",
        "The disk image to upload and publish: a local path, an https:// URL or an s3:// URL "
        "of a RAW disk (optionally .xz or .gz) or of a fixed VHD. Release, date, index and "
        "architecture are read from the file name, e.g. "
        "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw (see the naming input). Give this or "
        "vhd-url.",
    ),
    InputSpec(
        "vhd-url",
        "URL of a fixed VHD already in blob storage: the upload is skipped and the versions "
        "are created from it. Its file name must follow the naming rules like image. Give "
        "this or image.",
    ),
    InputSpec(
        "storage-account",
        "Storage account that receives the blob. Default: storage_account in the naming "
        "rules (almalinux); with a connection string, the string's account.",
    ),
    InputSpec(
        "storage-connection-string",
        "Connection string of the storage account (needed for Azurite and for accounts "
        "without Entra ID data access). Default: the AZURE_STORAGE_CONNECTION_STRING "
        "environment variable; if neither is set, Entra ID (azure/login) is used. Masked.",
        kind="secret",
    ),
    InputSpec(
        "container",
        "Blob container. Default: from the naming rules (e.g. 9-default, almalinux-10, "
        "kitten-10); created if missing.",
    ),
    InputSpec(
        "resource-group",
        "Resource group of the galleries and the storage account. Default: resource_group in "
        "the naming rules (rg-alma-images).",
    ),
    InputSpec(
        "gallery",
        "The CI (private) gallery, used unless public is true. Default: ci_gallery in the "
        "naming rules (almalinux_ci).",
    ),
    InputSpec(
        "public-gallery",
        "The public (community) gallery, used when public is true and the naming rules allow "
        "it for this release. Default: public_gallery in the naming rules (almalinux).",
    ),
    InputSpec(
        "public",
        "Publish to the public gallery instead of the CI gallery. Releases the naming rules "
        "keep private (10.x, Kitten, 9 arm64-64k by default) still go to the CI gallery.",
        default="false",
        kind="bool",
    ),
    InputSpec(
        "target-regions",
        "Regions to replicate each version to (comma or newline separated). Write +name for "
        "a region imgpub does not know yet.",
        default=", ".join(DEFAULT_REGIONS),
        kind="list",
    ),
    InputSpec(
        "replica-count",
        "Replicas of each version per region (1 to 100).",
        default="1",
        kind="int",
    ),
    InputSpec(
        "storage-account-type",
        "Storage of the replicas: Standard_LRS, Standard_ZRS, Premium_LRS or PremiumV2_LRS.",
        default="Standard_LRS",
    ),
    InputSpec(
        "exclude-from-latest",
        "Keep the new versions out of 'latest' (stage them for testing before users get them).",
        default="false",
        kind="bool",
    ),
    InputSpec(
        "end-of-life-date",
        "End-of-life date of the versions, YYYY-MM-DD, in the future. Default: none.",
    ),
    InputSpec(
        "naming",
        "YAML file of naming rules (file name patterns, containers, blob names, image "
        "definitions, gallery versions). Default: the built-in AlmaLinux rules "
        "(imgpub/data/azure-naming.yml, which doubles as an example).",
        kind="path",
    ),
    InputSpec(
        "azure-cloud",
        "Azure cloud: AzureCloud, AzureChinaCloud or AzureUSGovernment (sets the Resource "
        "Manager, login and storage endpoints).",
        default="AzureCloud",
    ),
    InputSpec(
        "subscription-id",
        "Subscription of the galleries. Default: the AZURE_SUBSCRIPTION_ID environment variable.",
    ),
    InputSpec(
        "steps",
        "What to do: upload (the blob), publish (the gallery versions), or both.",
        default="upload, publish",
        kind="list",
    ),
    InputSpec(
        "create-definitions",
        "Create missing image definitions (Hyper-V generation, architecture and security "
        "type from the naming rules) instead of failing with their names.",
        default="false",
        kind="bool",
    ),
    InputSpec(
        "publisher",
        "Publisher of image definitions created by create-definitions. Default: publisher in "
        "the naming rules (AlmaLinux). The SKU is the sku template of the naming rules.",
    ),
    InputSpec(
        "offer",
        "Offer of image definitions created by create-definitions. Default: offer in the "
        "naming rules (AlmaLinux).",
    ),
    InputSpec(
        "dry-run",
        "Print every blob, image definition and version that would be created, with "
        "regions, and change nothing. Works without Azure credentials (the plan is then "
        "marked as not checked against Azure). Set to false to publish.",
        default="true",
        kind="bool",
    ),
)

OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec(
        "blob-url",
        "URL of the VHD page blob the versions are made from (no SAS token). In a dry run, "
        "the URL it would have.",
    ),
    OutputSpec(
        "image-versions",
        'JSON list, one entry per image version: {"gallery", "definition", "version", '
        '"id" (ARM resource ID, null if unknown), "regions", "state" (created, existed, '
        "failed or planned)}. Read it with fromJSON().",
    ),
)


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Settings:
    """Every input, validated; nothing in the cloud has been touched to build it."""

    rules: NamingRules
    image_name: ImageName
    options: PublishOptions
    plan: GalleryPlan
    cloud: AzureCloud
    steps: frozenset[str]
    create_definitions: bool
    image: str | None
    source: DiskSource | None
    vhd_url: str | None
    """Without its query string (a SAS is masked and never reused)."""
    connection_string: str | None
    connection_origin: str
    storage_account_given: str
    subscription: str | None
    sandbox: bool


def read_settings(ctx: StageContext) -> Settings:
    """Read and validate every input; bad values raise ``InputError`` naming the input."""
    inputs = ctx.inputs
    naming = inputs.text("naming")
    rules = load_naming_rules(naming or None)

    image = inputs.text("image")
    vhd_url_raw = inputs.text("vhd-url")
    if image and vhd_url_raw:
        raise InputError("vhd-url", "is set together with image", "give image or vhd-url, not both")
    if not image and not vhd_url_raw:
        raise InputError(
            "image", "is required (or vhd-url)", "give the disk image path or URL, or vhd-url"
        )
    for secret in url_secrets(image or vhd_url_raw):
        ctx.gha.mask(secret)

    steps_given = [s.lower() for s in inputs.items("steps")]
    unknown = [s for s in steps_given if s not in STEPS]
    if unknown or not steps_given:
        raise InputError(
            "steps", f"unknown step(s) {', '.join(unknown) or '(none)'}", "use upload, publish"
        )
    steps = frozenset(steps_given)

    cloud = resolve_cloud(inputs.text("azure-cloud") or "AzureCloud", env=ctx.env)
    regions = normalize_regions(cloud, inputs.items("target-regions"))
    replicas = inputs.integer("replica-count", minimum=1, maximum=100)
    eol_text = inputs.text("end-of-life-date")
    eol: dt.date | None = None
    if eol_text:
        try:
            eol = dt.date.fromisoformat(eol_text)
        except ValueError:
            raise InputError(
                "end-of-life-date", f"{eol_text!r} is not a date", "write YYYY-MM-DD"
            ) from None
    container = inputs.text("container")
    if container:
        _check_container(container)

    if vhd_url_raw:
        vhd_url = _check_vhd_url(vhd_url_raw)
        image_name = _parse_as(vhd_url, rules, "vhd-url")
        if image_name.disk_format != "vhd" or image_name.compression:
            raise InputError(
                "vhd-url", "must name an uncompressed .vhd blob", "upload RAW images with image"
            )
    else:
        vhd_url = None
        image_name = parse_image_name(image, rules)

    found = resolve_connection_string(inputs.secret("storage-connection-string"), ctx.env)
    if found:
        for secret in connection_string_secrets(found[0]):
            ctx.gha.mask(secret)
    account = inputs.text("storage-account")
    if not account and found:
        # The plan names the account the blob really goes to (Azurite: devstoreaccount1).
        account = parse_connection_string(found[0]).get("accountname", "")
    options = PublishOptions(
        regions=regions,
        replica_count=replicas,
        storage_account_type=inputs.text("storage-account-type") or "Standard_LRS",
        exclude_from_latest=inputs.boolean("exclude-from-latest"),
        end_of_life_date=eol,
        public=inputs.boolean("public"),
        gallery=inputs.text("gallery") or None,
        public_gallery=inputs.text("public-gallery") or None,
        resource_group=inputs.text("resource-group") or None,
        storage_account=account or None,
        container=container or None,
        publisher=inputs.text("publisher") or None,
        offer=inputs.text("offer") or None,
    )
    plan = plan_publish(image_name, rules, options)  # checks options and the int32 parts

    source: DiskSource | None = None
    if image:
        source = open_source(image, s3_client=_s3_client(ctx.env) if _is_s3(image) else None)
        source.identity()  # a missing file or an unreachable URL fails here, before any change
        source.check()

    subscription = inputs.text("subscription-id") or ctx.env.get("AZURE_SUBSCRIPTION_ID", "")
    return Settings(
        rules=rules,
        image_name=image_name,
        options=options,
        plan=plan,
        cloud=cloud,
        steps=steps,
        create_definitions=inputs.boolean("create-definitions"),
        image=image or None,
        source=source,
        vhd_url=vhd_url,
        connection_string=found[0] if found else None,
        connection_origin=found[1] if found else "",
        storage_account_given=inputs.text("storage-account"),
        subscription=subscription.strip() or None,
        sandbox=in_sandbox(cloud, ctx.env),
    )


def _parse_as(url: str, rules: NamingRules, input_name: str) -> ImageName:
    """Parse a file name, reporting problems against ``input_name`` instead of ``image``."""
    try:
        return parse_image_name(url, rules)
    except InputError as exc:
        problem = exc.message.split(": ", 1)[-1]
        raise InputError(input_name, problem, exc.remedy or "") from None


def _check_container(name: str) -> None:
    """Azure container names: 3-63 lower-case letters, digits and single hyphens."""
    ok = 3 <= len(name) <= 63 and name[0].isalnum() and name[-1].isalnum()
    ok = ok and all(c.islower() or c.isdigit() or c == "-" for c in name) and "--" not in name
    if not ok:
        raise InputError(
            "container",
            f"{name!r} is not a valid container name",
            "use 3-63 lower-case letters, digits and single hyphens",
        )


def _check_vhd_url(url: str) -> str:
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme not in ("https", "http") or not parts.netloc or len(segments) < 2:
        raise InputError(
            "vhd-url",
            f"{without_query(url)} is not a blob URL",
            "give https://ACCOUNT.blob.core.windows.net/CONTAINER/NAME.vhd",
        )
    return without_query(url)


def _is_s3(image: str) -> bool:
    return image.lower().startswith("s3://")


def _s3_client(env: Mapping[str, str]) -> object:
    try:
        import boto3
    except ImportError:
        raise InputError(
            "image",
            "s3:// images are read with boto3, which is not installed",
            "pip install 'imgpub[aws]'",
        ) from None
    session = boto3.session.Session(region_name=env.get("AWS_DEFAULT_REGION") or None)
    return session.client("s3", endpoint_url=env.get("AWS_ENDPOINT_URL") or None)


# ---------------------------------------------------------------------------------------------
# The run


@dataclass
class _Run:
    """What the run learned and did, for targets, outputs and the summary."""

    settings: Settings
    plan: GalleryPlan
    started: float
    blob_url: str = ""
    blob: PageBlobResult | None = None
    blob_state: str = "planned"
    report: PublishReport | None = None
    planned_states: dict[str, VersionState | None] = field(default_factory=dict)
    missing_definitions: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    checked: bool = True
    unchecked_reason: str = ""


def run(ctx: StageContext) -> StageResult:
    """Validate, plan, then (unless dry run) upload and publish; see the module docstring."""
    started = time.monotonic()
    settings = read_settings(ctx)
    state = _Run(settings, settings.plan, started, notes=list(settings.plan.notes))
    state.blob_url = settings.vhd_url or _planned_blob_url(settings, settings.plan)

    with ctx.gha.group("Plan"):
        for line in settings.plan.lines():
            ctx.gha.info(line)
        if settings.vhd_url:
            ctx.gha.info(f"vhd-url given: no upload; versions are made from {settings.vhd_url}")

    if ctx.dry_run:
        _dry_run(ctx, state)
    else:
        _apply(ctx, state)

    _record(ctx, state)
    _summarise(ctx, state)
    versions = [_version_entry(state, t) for t in _targets(state)]
    return StageResult(
        outputs={"blob-url": state.blob_url, "image-versions": json_output(versions)},
        data={
            "release": settings.image_name.release,
            "timestamp": settings.image_name.datestamp,
            "image_file": settings.image_name.filename,
            "gallery": state.plan.gallery,
            "public": state.plan.public,
            "checked_against_azure": state.checked,
            "notes": state.notes,
        },
    )


# -- dry run ----------------------------------------------------------------------------------


def _dry_run(ctx: StageContext, state: _Run) -> None:
    """Read-only checks where Azure answers quickly; otherwise the plan from the rules alone."""
    s = state.settings
    adapter: GalleryAdapter | None = None
    if "publish" in s.steps:
        adapter, reason = _reachable_adapter(ctx, s)
        if adapter is None:
            state.checked = False
            state.unchecked_reason = reason
    if s.source is not None:
        if s.connection_string or adapter is not None:
            try:
                storage = _storage(ctx, s)
                state.plan = _locate_blob(ctx, state, storage, s.source, upload="upload" in s.steps)
                state.blob_url = _blob_url(storage, state.plan)
            except ImgpubError:
                raise
            except Exception as exc:  # any storage error only makes the plan unchecked
                state.checked = False
                state.unchecked_reason = f"storage not reachable ({_first_line(exc)})"
        elif state.checked:
            state.checked = False
            state.unchecked_reason = "no storage connection string and no Azure credential"

    with ctx.gha.group("Dry run: what would happen"):
        if adapter is not None:
            try:
                _discover_for_plan(ctx, state, adapter)
            except CloudError as exc:  # a read that fails leaves the plan unchecked, not failed
                state.checked = False
                state.unchecked_reason = exc.message
                state.planned_states.clear()
        if not state.checked:
            ctx.gha.info(f"not checked against Azure: {state.unchecked_reason}")
        for line in _plan_lines(state):
            ctx.gha.info(line)


def _discover_for_plan(ctx: StageContext, state: _Run, adapter: GalleryAdapter) -> None:
    """Read-only: galleries (missing → exit 2), definitions and existing versions."""
    _check_galleries(adapter, state.plan)
    missing = adapter.missing_definitions(state.plan.versions)
    state.missing_definitions = tuple(f"{t.gallery}/{t.definition.name}" for t in missing)
    if missing and not state.settings.create_definitions:
        ctx.gha.warning(
            "image definition(s) missing: "
            + ", ".join(state.missing_definitions)
            + " — the run would stop; create them or set create-definitions to true"
        )
    for t in state.plan.versions:
        found = adapter.get_version(t.resource_group, t.gallery, t.definition.name, t.version)
        state.planned_states[t.path] = found


def _reachable_adapter(ctx: StageContext, s: Settings) -> tuple[GalleryAdapter | None, str]:
    """An adapter when Azure answers within PROBE_SECONDS, else None and why not."""
    if not s.subscription:
        return None, "no subscription given (subscription-id or AZURE_SUBSCRIPTION_ID)"
    try:
        credential = azure_credential(s.cloud, ctx.env)
    except ImgpubError as exc:
        return None, exc.one_line()
    answer = probe(credential, s.cloud, timeout=PROBE_SECONDS)
    if not answer.ok:
        return None, answer.reason
    client = compute_client(s.cloud, s.subscription, credential, env=ctx.env)
    return GalleryAdapter(client, log=ctx.gha.info), ""


def _plan_lines(state: _Run) -> list[str]:
    s = state.settings
    lines = []
    if s.vhd_url is None:
        verb = {
            "planned": "would upload",
            "existed": "exists (complete, same source): would be reused",
            "resumed": "exists, interrupted upload of this source: would be resumed",
        }.get(state.blob_state, state.blob_state)
        if "upload" not in s.steps:
            verb = "not uploaded by this run (steps)"
        lines.append(f"blob {state.blob_url}: {verb}")
    for name in state.missing_definitions:
        lines.append(
            f"definition {name}: missing, "
            + ("would be created" if s.create_definitions else "the run would stop")
        )
    for t in state.plan.versions:
        regions = ", ".join(f"{r.name} x{r.replicas}" for r in t.regions)
        found = state.planned_states.get(t.path)
        what = "would be created" if found is None else _existing_words(state, t, found)
        lines.append(f"version {t.path} ({t.definition.generation}) → {regions}: {what}")
    return lines


def _existing_words(state: _Run, target: VersionTarget, found: VersionState) -> str:
    outcome = classify(target, found, VersionSource(state.blob_url))
    if outcome is not None and outcome.status == "existed":
        return "exists from this blob (nothing to do)"
    return f"exists, {outcome.error if outcome else found.provisioning_state}"


# -- apply ------------------------------------------------------------------------------------


def _apply(ctx: StageContext, state: _Run) -> None:
    s = state.settings
    adapter: GalleryAdapter | None = None
    if "publish" in s.steps:
        subscription = resolve_subscription(s.subscription, ctx.env)
        credential = azure_credential(s.cloud, ctx.env)
        client = compute_client(s.cloud, subscription, credential, env=ctx.env)
        adapter = GalleryAdapter(client, log=ctx.gha.info)
        with ctx.gha.group("Check galleries and image definitions"):
            _check_galleries(adapter, state.plan)
            missing = adapter.missing_definitions(state.plan.versions)
            state.missing_definitions = tuple(f"{t.gallery}/{t.definition.name}" for t in missing)
            if missing and not s.create_definitions:
                raise ConfigError(
                    f"image definition(s) missing: {', '.join(state.missing_definitions)}",
                    remedy="create them (az sig image-definition create) or set "
                    "create-definitions to true",
                )
            for name in state.missing_definitions:
                ctx.gha.info(f"definition {name}: missing, will be created")

    storage: StorageAccess | None = None
    if s.source is not None:
        storage = _storage(ctx, s)
        if "upload" in s.steps:
            with ctx.gha.group(f"Upload {s.source.name}"):
                _upload(ctx, state, storage, s.source)
        else:
            state.plan = _locate_blob(ctx, state, storage, s.source, upload=False)
            if state.blob_state != "existed":
                raise ConfigError(
                    f"blob {state.plan.container}/{state.plan.blob_name} is not uploaded"
                    f" ({state.blob_state})",
                    remedy="run with steps: upload, publish (or give vhd-url)",
                )
            state.blob_url = _blob_url(storage, state.plan)
    elif s.vhd_url is not None and "upload" in s.steps:
        state.notes.append("vhd-url given: the upload step was skipped")

    if adapter is not None:
        if s.vhd_url is not None:
            _check_vhd_blob(ctx, s)
        account = _account_of(state.blob_url, s.cloud) or state.plan.storage_account
        source = VersionSource(
            state.blob_url,
            storage_account_id(
                resolve_subscription(s.subscription, ctx.env), state.plan.resource_group, account
            ),
        )
        with ctx.gha.group("Publish image versions"):
            state.report = adapter.publish(
                state.plan.versions, source, create_definitions=s.create_definitions
            )


def _check_galleries(adapter: GalleryAdapter, plan: GalleryPlan) -> None:
    """A missing gallery is a ConfigError (exit 2) before anything is written."""
    seen: set[tuple[str, str]] = set()
    for t in plan.versions:
        key = (t.resource_group.lower(), t.gallery.lower())
        if key not in seen:
            seen.add(key)
            adapter.gallery_location(t.resource_group, t.gallery)


def _storage(ctx: StageContext, s: Settings) -> StorageAccess:
    return storage_access(
        connection_string=s.connection_string,
        origin=s.connection_origin,
        account=s.storage_account_given or ("" if s.connection_string else s.plan.storage_account),
        cloud=s.cloud,
        credential=lambda: azure_credential(s.cloud, ctx.env),
        mask=ctx.gha.mask,
        sandbox=s.sandbox,
    )


def _replan(s: Settings, index: int) -> GalleryPlan:
    return plan_publish(s.image_name, s.rules, replace(s.options, index=index))


def _locate_blob(
    ctx: StageContext, state: _Run, storage: StorageAccess, source: DiskSource, *, upload: bool
) -> GalleryPlan:
    """Read-only: the first index whose blob is free or ours, as the upload would choose."""
    s = state.settings
    plan = state.plan
    digest = source.identity().digest
    for _ in range(MAX_INDEX_BUMPS + 1):
        container = storage.service.get_container_client(plan.container)
        status = blob_status(container, plan.blob_name, digest)
        if status is Outcome.CONFLICT:
            _note_conflict(ctx, state, plan, None)
            plan = _replan(s, plan.names.index + 1)
            continue
        state.blob_state = "planned" if status is None else str(status)
        if status is None and not upload:
            state.blob_state = "missing"
        state.blob_url = _blob_url(storage, plan)
        return plan
    raise _too_many_conflicts(plan)


def _upload(ctx: StageContext, state: _Run, storage: StorageAccess, source: DiskSource) -> None:
    s = state.settings
    plan = state.plan
    reporter = _ProgressReporter(ctx, source.name)
    from azure.core.exceptions import AzureError

    for _ in range(MAX_INDEX_BUMPS + 1):
        try:
            container = ensure_container(storage.service, plan.container)
            result = upload_page_blob(container, plan.blob_name, source, progress=reporter)
        except AzureError as exc:
            state.blob_state = "failed"
            state.plan = plan
            state.blob_url = _blob_url(storage, plan)
            _record_blob(ctx, state)
            raise CloudError(
                f"uploading {plan.container}/{plan.blob_name} to {storage.account}"
                f" failed: {_first_line(exc)}",
                remedy="check the storage account, its network rules and the identity's "
                "Storage Blob Data Contributor role (or the connection string); a re-run "
                "resumes the upload",
            ) from None
        if result.outcome is Outcome.CONFLICT:
            _note_conflict(ctx, state, plan, result)
            plan = _replan(s, plan.names.index + 1)
            continue
        reporter.finish(result)
        state.plan = plan
        state.blob = result
        state.blob_url = result.blob_url
        state.blob_state = {
            Outcome.CREATED: "created",
            Outcome.RESUMED: "created",
            Outcome.EXISTED: "existed",
        }[result.outcome]
        words = {
            Outcome.CREATED: "uploaded",
            Outcome.RESUMED: "resumed and completed",
            Outcome.EXISTED: "already complete from this source: reused, nothing sent",
        }[result.outcome]
        ctx.gha.info(f"blob {result.blob_url}: {words}")
        _record_blob(ctx, state)
        return
    raise _too_many_conflicts(plan)


def _note_conflict(
    ctx: StageContext, state: _Run, plan: GalleryPlan, result: PageBlobResult | None
) -> None:
    who = (
        "not made by imgpub"
        if result is not None and result.recorded_identity is None
        else "made from a different source image"
    )
    note = (
        f"blob {plan.container}/{plan.blob_name} already exists and was {who}; it is left "
        f"untouched and index {plan.names.index + 1} is used instead"
    )
    ctx.gha.warning(note)
    state.notes.append(note)


def _too_many_conflicts(plan: GalleryPlan) -> ConfigError:
    return ConfigError(
        f"the blob names of {MAX_INDEX_BUMPS} indexes up to {plan.blob_name} are all taken by "
        "other sources",
        remedy="check the container; delete stale blobs or rename the image with a new index",
    )


def _check_vhd_blob(ctx: StageContext, s: Settings) -> None:
    """vhd-url: the blob must exist and end in a valid fixed-VHD footer, when we can read it."""
    assert s.vhd_url is not None
    if not s.connection_string:
        ctx.gha.info("vhd-url: footer not checked (no storage connection string)")
        return
    storage = _storage(ctx, s)
    prefix = storage.endpoint + "/"
    if not s.vhd_url.startswith(prefix):
        ctx.gha.info(f"vhd-url: footer not checked (not in storage account {storage.account})")
        return
    container, _, blob_name = s.vhd_url[len(prefix) :].partition("/")
    from azure.core.exceptions import ResourceNotFoundError

    blob = storage.service.get_blob_client(container, blob_name)
    try:
        size = int(blob.get_blob_properties().size)
    except ResourceNotFoundError:
        raise InputError(
            "vhd-url", f"no blob at {s.vhd_url}", "upload it first or fix the URL"
        ) from None
    tail = blob.download_blob(offset=max(size - FOOTER_SIZE, 0), length=FOOTER_SIZE).readall()
    check_fixed_vhd(tail, size, name="vhd-url")


# -- progress ---------------------------------------------------------------------------------


class _ProgressReporter:
    """Upload progress as log lines: bytes scanned, percent, pace and bytes sent.

    ``Gha.progress`` throttles per label, and the rate is part of the label here, so this
    throttles itself and forces each line.
    """

    def __init__(self, ctx: StageContext, name: str) -> None:
        self._ctx = ctx
        self._name = name
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, p: UploadProgress) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_SECONDS:
            return
        self._last = now
        self._line(p.bytes_scanned, p.total, p.rate, p.bytes_sent)

    def _line(self, done: int, total: int | None, rate: float, sent: int) -> None:
        label = f"upload {self._name} at {_size(rate)}/s, {_size(sent)} sent"
        self._ctx.gha.progress(label, done, total, "B", force=True)

    def finish(self, result: PageBlobResult) -> None:
        if result.outcome is Outcome.EXISTED:
            return
        size = result.blob_size or result.bytes_scanned
        elapsed = time.monotonic() - self._started
        rate = result.bytes_scanned / elapsed if elapsed > 0 else 0.0
        self._line(result.bytes_scanned, size, rate, result.bytes_sent)


# -- targets, outputs, summary ----------------------------------------------------------------


def _targets(state: _Run) -> list[VersionOutcome]:
    """One outcome per version: the applied ones, or planned/existed ones in a dry run."""
    if state.report is not None:
        return list(state.report.outcomes)
    out = []
    for t in state.plan.versions:
        found = state.planned_states.get(t.path)
        outcome = None
        if found is not None:
            outcome = classify(t, found, VersionSource(state.blob_url))
        if outcome is not None and outcome.status == "existed":
            out.append(outcome)
        else:
            out.append(VersionOutcome(t, "planned", id=found.id if found else None))
    return out


def _version_id(state: _Run, outcome: VersionOutcome) -> str | None:
    if outcome.id:
        return outcome.id
    sub = state.settings.subscription
    if not sub:
        return None
    t = outcome.target
    return (
        f"/subscriptions/{sub}/resourceGroups/{t.resource_group}/providers/Microsoft.Compute"
        f"/galleries/{t.gallery}/images/{t.definition.name}/versions/{t.version}"
    )


def _version_entry(state: _Run, outcome: VersionOutcome) -> dict[str, Any]:
    t = outcome.target
    return {
        "gallery": t.gallery,
        "definition": t.definition.name,
        "version": t.version,
        "id": _version_id(state, outcome),
        "regions": list(outcome.regions) or [r.name for r in t.regions],
        "state": outcome.status,
        "generation": t.definition.generation,
    }


_BLOB_TARGET_STATES: dict[str, TargetState] = {
    "created": "created",
    "existed": "existed",
    "failed": "failed",
}


def _record_blob(ctx: StageContext, state: _Run) -> None:
    """The page-blob target; recorded as soon as the upload ends, so a later failure keeps it."""
    plan = state.plan
    s = state.settings
    if s.source is None:
        return
    blob = state.blob
    details: dict[str, Any] = {
        "container": plan.container,
        "blob": plan.blob_name,
        "storage_account": plan.storage_account,
        "index": plan.names.index,
    }
    if blob is not None:
        details.update(
            outcome=str(blob.outcome),
            bytes_sent=blob.bytes_sent,
            pages_sent=blob.pages_sent,
            blob_size=blob.blob_size,
            content_md5=blob.content_md5.hex() if blob.content_md5 else None,
        )
    elif state.blob_state not in _BLOB_TARGET_STATES:
        details["found"] = state.blob_state  # dry run: planned, resumed or missing
    ctx.record(
        Target(
            kind="page-blob",
            key=f"blob:{plan.container}/{plan.blob_name}",
            state=_BLOB_TARGET_STATES.get(state.blob_state, "planned"),
            resource_id=state.blob_url,
            source=without_query(s.image) if s.image else None,
            details=details,
        )
    )


def _record(ctx: StageContext, state: _Run) -> None:
    _record_blob(ctx, state)
    for outcome in _targets(state):
        t = outcome.target
        regions = list(outcome.regions) or [r.name for r in t.regions]
        ctx.record(
            Target(
                kind="gallery-image-version",
                key=f"version:{t.path}",
                state=outcome.status,
                region=", ".join(regions),
                resource_id=_version_id(state, outcome),
                source=state.blob_url,
                error=outcome.error,
                remedy=outcome.remedy,
                details={
                    "gallery": t.gallery,
                    "definition": t.definition.name,
                    "version": t.version,
                    "generation": t.definition.generation,
                    "architecture": t.definition.architecture,
                    "regions": regions,
                    "replicas": t.regions[0].replicas if t.regions else 0,
                    "exclude_from_latest": t.exclude_from_latest,
                },
            )
        )


def _summarise(ctx: StageContext, state: _Run) -> None:
    s = state.settings
    plan = state.plan
    image = s.image_name
    summary = ctx.summary
    if ctx.dry_run:
        summary.heading(f"{image.release} {image.datestamp}: Compute Gallery plan (dry run)", 2)
        if not state.checked:
            summary.text(f"Not checked against Azure: {state.unchecked_reason}.")
    elif "publish" not in s.steps:
        summary.heading(f"{image.release} {image.datestamp} uploaded to blob storage", 2)
    else:
        failed = state.report is not None and bool(state.report.failed)
        verb = "partly released" if failed else "released"
        summary.heading(f"{image.release} {image.datestamp} {verb} to Compute Gallery", 2)
    kind = "public gallery" if plan.public else "private CI gallery"
    rows: list[tuple[str, str]] = [
        ("Release", image.release),
        ("Timestamp", image.datestamp),
        ("Image file", image.filename),
        ("Image URI", state.blob_url),
        ("Gallery", f"{plan.gallery} ({kind})"),
        ("Public gallery", "✅" if plan.public else "❌"),
    ]
    if state.blob is not None:
        virtual = max((state.blob.blob_size or 0) - FOOTER_SIZE, 0)
        rows.append(
            ("Bytes sent", f"{_size(state.blob.bytes_sent)} of {_size(virtual)} virtual size")
        )
    if not ctx.dry_run:
        rows.append(("Time taken", f"{time.monotonic() - state.started:.1f} s"))
    summary.table(["Field", "Value"], rows)
    lines = []
    for outcome in _targets(state):
        word = {
            "created": "Created",
            "existed": "Existing",
            "failed": "Failed",
            "planned": "Would create",
        }[outcome.status]
        regions = ", ".join(outcome.regions or [r.name for r in outcome.target.regions])
        line = f"{word}: '{outcome.target.path}' ({regions})"
        if outcome.error:
            line += f" — {outcome.error}. What to do: {outcome.remedy}"
        lines.append(line)
    summary.bullets(lines)
    if state.missing_definitions:
        what = "created" if s.create_definitions else "missing"
        summary.text(f"Image definitions {what}: {', '.join(state.missing_definitions)}")
    for note in state.notes:
        summary.text(f"Note: {note}")


# -- small helpers ----------------------------------------------------------------------------


def _blob_url(storage: StorageAccess, plan: GalleryPlan) -> str:
    return f"{storage.endpoint}/{plan.container}/{plan.blob_name}"


def _planned_blob_url(s: Settings, plan: GalleryPlan) -> str:
    """The URL the blob would have, without building a client (a dry run may have none)."""
    if s.connection_string:
        endpoint = parse_connection_string(s.connection_string).get("blobendpoint", "")
        if endpoint:
            return f"{endpoint.rstrip('/')}/{plan.container}/{plan.blob_name}"
    return f"{s.cloud.blob_endpoint(plan.storage_account)}/{plan.container}/{plan.blob_name}"


def _account_of(url: str, cloud: AzureCloud) -> str | None:
    """The storage account of a blob URL (host label, or the first path part on Azurite)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.endswith(f".blob.{cloud.storage_suffix}"):
        return host.split(".", 1)[0]
    segments = [p for p in parts.path.split("/") if p]
    if host in ("127.0.0.1", "localhost") and segments:
        return segments[0]
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__


def _size(value: float) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover - the loop always returns
