"""The declared inputs and outputs of azure-gallery, next to the reader that validates them.

Kept in the package so that names, defaults and :func:`imgpub.gallery.inputs.read_inputs`
cannot drift apart; ``stages/azure_gallery.py`` re-exports the tuples as ``INPUTS`` and
``OUTPUTS``, from which the action.yml and the README tables are generated.
"""

from __future__ import annotations

from imgpub.gallery.names import DEFAULT_REGIONS
from imgpub.inputs import InputSpec, OutputSpec

GALLERY_INPUTS: tuple[InputSpec, ...] = (
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
        "generations",
        "Hyper-V generations to publish: V1, V2 or both; the naming rules' definitions of "
        "any other generation are left out. Default: every definition the naming rules give "
        "the image (Gen1 and Gen2 for x86_64, Gen2 for arm64).",
        kind="list",
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

GALLERY_OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec(
        "blob-url",
        "URL of the VHD page blob the versions are made from (no SAS token). In a dry run, "
        "the URL it would have.",
    ),
    OutputSpec(
        "image-versions",
        'JSON list, one entry per image version: {"gallery", "definition", "version", '
        '"id" (ARM resource ID, null if unknown), "regions" (API names such as eastus, always '
        'including the gallery\'s region), "state" (created, existed, failed, cancelled, '
        "skipped or planned)}. Read it with fromJSON().",
    ),
)
