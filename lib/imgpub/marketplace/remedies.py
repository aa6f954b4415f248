"""What to do about each error a change set or a Catalog call can end with.

The codes are the ``ErrorDetailList`` codes AWS Marketplace reports for AMI products
(cloud-apis.md §4.3, §4.4) and the Catalog API's exceptions (§4.2). A code without an
entry gets the generic advice: read the request page, fix, re-run.
"""

from __future__ import annotations

RERUN = "re-run the same command: imgpub adopts what is running and repeats nothing done"

CHANGE_ERRORS: dict[str, str] = {
    "ASSET_NOT_FOUND": (
        "Marketplace takes the AMI from us-east-1 of the seller account: give the us-east-1 "
        "AMI (mirror-ami's amis output has it) and make sure the access role can read it"
    ),
    "ASSET_ACCESS_EXCEPTION": (
        "the access role cannot copy the AMI: check that access-role-arn exists in the "
        "seller account, trusts assets.marketplace.amazonaws.com and has the "
        "AWSMarketplaceAmiIngestion policy (and that KMS keys of encrypted snapshots allow it)"
    ),
    "INVALID_AMI_ID": "give the ID of an available AMI in us-east-1",
    "DUPLICATE_VERSION_TITLE": (
        "the product already has a version with this title: set version-title to a new "
        "one, e.g. '{{ version }}-2'"
    ),
    "INVALID_VERSION_TITLE": "give a version title of 1 to 64 characters (version-title)",
    "INCOMPATIBLE_AMI": (
        "the AMI does not fit the product's instance types (architecture, virtualization or "
        "ENA): set instance-type to one of its architecture, or check the AMI's ENA support"
    ),
    "RECOMMENDED_INSTANCE_TYPE_NOT_AVAILABLE": (
        "recommend an instance type the product offers (instance-type), or add it to the "
        "product first"
    ),
    "INVALID_SECURITY_GROUP": "fix security-groups: tcp/udp, ports 1-65535, 1 to 5 CIDRs",
    "SCAN_ERROR": (
        "the security scan failed: open the request page for the findings, fix them in a "
        "new build and release that"
    ),
    "EXISTING_AMI_PRODUCT_CODE": (
        "the AMI already carries a Marketplace product code: release a fresh build"
    ),
    "INVALID_DELIVERY_OPTION_IDS": "the versions changed meanwhile: " + RERUN,
    "INVALID_DELIVERY_OPTIONS": (
        "the last public version cannot be restricted: raise keep-versions or leave it empty"
    ),
}

API_ERRORS: dict[str, str] = {
    "AccessDeniedException": (
        "grant the role aws-marketplace:StartChangeSet, DescribeChangeSet, ListChangeSets "
        "and DescribeEntity, and iam:PassRole on the access role"
    ),
    "ResourceNotFoundException": (
        "check the product ID (product-id or the products file) in the seller portal"
    ),
    "ResourceInUseException": (
        "another change set holds the product: wait for it (raise timeout), then " + RERUN
    ),
    "ServiceQuotaExceededException": (
        "too many open requests: wait until some finish in the seller portal, then " + RERUN
    ),
    "ThrottlingException": "the Catalog API throttled the calls: " + RERUN,
    "ValidationException": "the request was refused as malformed: fix the template input",
    "InternalServiceException": "a fault at AWS Marketplace: " + RERUN,
}


def remedy_for_change_error(code: str) -> str:
    return CHANGE_ERRORS.get(code, "open the request page for details, fix the cause, then re-run")


def remedy_for_api_error(code: str) -> str:
    return API_ERRORS.get(code, RERUN)


def remedy_for_failure(failure_code: str, error_codes: list[str]) -> str:
    """One line for a failed change set: the first known error's remedy, else by failure."""
    for code in error_codes:
        if code in CHANGE_ERRORS:
            return CHANGE_ERRORS[code]
    if failure_code == "SERVER_FAULT":
        return "a fault at AWS Marketplace: re-run to start a new change set"
    return remedy_for_change_error(error_codes[0] if error_codes else "")
