"""Bad input to ecr-mirror: exit 2, one line naming the input, and nothing pushed or created.

"Nothing" is counted at the servers: no mutating request in the ECR stand-in's access
log, no repository in moto's ECR, no results document written.
"""

from __future__ import annotations

import pytest

from tests.integration.ecr_stage_helpers import Ecr
from tests.integration.oci_helpers import AccessLog, push_image, unique

pytestmark = pytest.mark.registry

CHART = {"chart": "oci://127.0.0.1:1/charts/demo:1.2.3"}
HOOK = {
    "product_sku": "prod-abcd1234",
    "entitlements": "Users",
    "license_check_image": "r.example/lc:1",
}


def cases(source: str, name: str, tmp) -> dict[str, tuple[dict[str, str], str]]:
    img = f"{source}/x/{name}:1.0.0"
    unknown = tmp / "images.yaml"
    unknown.write_text(f"images:\n  - source: {img}\n    colour: blue\n")
    return {
        "nothing to mirror": ({"images": ""}, "images"),
        "uppercase repository": ({"images": f"{source}/x/Zeebe:1"}, "images"),
        "plus in a tag": ({"images": f"{img} -> app:1.0+build"}, "images"),
        "no tag": ({"images": f"{source}/x/{name}"}, "images"),
        "two images, one destination": (
            {"images": f"{img} -> app:1\n{source}/x/other:2 -> app:1"},
            "images",
        ),
        "latest into Marketplace": (
            {"images": f"{source}/x/{name}:latest", "marketplace_seller": "acme"},
            "images",
        ),
        "Marketplace outside us-east-1": (
            {"images": img, "marketplace_seller": "acme", "region": "eu-west-1"},
            "region",
        ),
        "TLS off for a remote registry": (
            {"images": img, "registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com"},
            "tls-verify",
        ),
        "credentials without a password": (
            {"images": img, "source_credentials": "docker.io=me"},
            "source-credentials",
        ),
        "no such images file": ({"images": str(tmp / "missing.yaml")}, "images"),
        "unknown image option": ({"images": str(unknown)}, "images"),
        "chart without a product": ({**CHART}, "product-sku"),
        "malformed product ID": ({**CHART, **HOOK, "product_sku": "12345"}, "product-sku"),
        "service account with quotes": (
            {**CHART, **HOOK, "service_account": '{{ "x" }}'},
            "service-account",
        ),
        "chart version not SemVer": (
            {**HOOK, "chart": "oci://127.0.0.1:1/charts/demo:v1"},
            "chart-version",
        ),
        "no concurrency": ({"images": img, "max_concurrency": "0"}, "max-concurrency"),
        "missing repository, creation off": (
            {"images": img, "create_repositories": "false"},
            "create-repositories",
        ),
    }


@pytest.fixture(scope="module")
def source_image(registry, tmp_path_factory) -> tuple[str, str]:
    name = unique("bad")
    push_image(tmp_path_factory.mktemp("src"), registry, f"x/{name}:1.0.0")
    return registry, name


@pytest.mark.parametrize("case", list(cases("h:1", "n", __import__("pathlib").Path("/tmp"))))
def test_bad_input_is_exit_2_and_nothing_is_pushed(
    case, source_image, ecr_registry, aws_endpoint, tmp_path
):
    source, name = source_image
    flags, culprit = cases(source, name, tmp_path)[case]
    ecr = Ecr(
        source,
        ecr_registry.info["host"],
        AccessLog(ecr_registry.info["access_log"], ecr_registry.info["host"]),
        tmp_path,
    )
    ecr.log.mark()
    code, out, doc = ecr.run(**flags)
    assert code == 2, out
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"input '{culprit}'" in errors[0], errors
    assert "Traceback" not in out
    assert ecr.log.mutations() == []
    assert ecr.repositories() == {}
    assert doc == {}
