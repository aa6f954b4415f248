"""ecr-mirror against real local servers: moto's ECR API, docker-registry twice, skopeo.

The source is the sandbox's anonymous registry; the destination is the ECR stand-in,
which only accepts the user and password of moto's GetAuthorizationToken, and logs
every request, so "nothing was sent" is counted at the server.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.ecr_stage_helpers import Ecr, section, states
from tests.integration.oci_helpers import AccessLog, head_digest, push_image, unique

pytestmark = pytest.mark.registry


@pytest.fixture
def ecr(registry, ecr_registry, aws_endpoint, tmp_path) -> Ecr:
    log = AccessLog(ecr_registry.info["access_log"], ecr_registry.info["host"])
    log.mark()
    return Ecr(registry, ecr_registry.info["host"], log, tmp_path)


def test_a_multi_arch_image_arrives_with_identical_digests(ecr: Ecr) -> None:
    name = unique("zeebe")
    built = push_image(ecr.tmp, ecr.source, f"camunda/{name}:8.3.4")
    code, out, doc = ecr.run(images=f"{ecr.source}/camunda/{name}:8.3.4")
    assert code == 0, out
    assert head_digest(ecr.host, name, "8.3.4") == built.digest
    for platform, digest in built.platform_digests.items():
        assert head_digest(ecr.host, name, digest) == digest, platform
    [image] = json.loads(section(doc)["outputs"]["images"])
    assert image == {
        "source": f"{ecr.source}/camunda/{name}:8.3.4",
        "destination": f"{ecr.host}/{name}:8.3.4",
        "digest": built.digest,
        "platforms": ["linux/amd64", "linux/arm64"],
        "state": "created",
    }
    repo = ecr.repositories()[name]
    assert (
        repo["imageTagMutability"] == "IMMUTABLE"
        and repo["imageScanningConfiguration"]["scanOnPush"]
    )
    assert states(doc)[f"repository:{name}"] == "created"


def test_a_rerun_sends_no_blob_and_no_manifest(ecr: Ecr) -> None:
    name = unique("operate")
    push_image(ecr.tmp, ecr.source, f"camunda/{name}:1.0.0")
    first, out, _ = ecr.run(images=f"{ecr.source}/camunda/{name}:1.0.0")
    assert first == 0, out
    ecr.log.mark()
    again, out, doc = ecr.run(images=f"{ecr.source}/camunda/{name}:1.0.0")
    assert again == 0, out
    assert ecr.log.mutations() == []
    assert [m for m, _, _ in ecr.log.requests()].count("HEAD") == 1, "one HEAD: the tag guard"
    assert states(doc) == {f"image:{ecr.host}/{name}:1.0.0": "existed"}
    assert section(doc)["data"]["repositories"] == [], "no repository needed: nothing to push"


def test_a_changed_upstream_tag_is_refused_and_the_destination_untouched(ecr: Ecr) -> None:
    name = unique("tasklist")
    first = push_image(ecr.tmp, ecr.source, f"camunda/{name}:2.0.0")
    assert ecr.run(images=f"{ecr.source}/camunda/{name}:2.0.0")[0] == 0
    changed = push_image(ecr.tmp, ecr.source, f"camunda/{name}:2.0.0")  # re-tagged upstream
    ecr.log.mark()
    code, out, doc = ecr.run(images=f"{ecr.source}/camunda/{name}:2.0.0")
    assert code == 1, out
    assert ecr.log.mutations() == []
    assert head_digest(ecr.host, name, "2.0.0") == first.digest
    [target] = [t for t in section(doc)["targets"] if t["kind"] == "container-image"]
    assert target["state"] == "failed"
    assert first.digest in target["error"] and changed.digest in target["error"]
    assert "new tag" in target["remedy"]


def test_a_missing_source_fails_only_its_target(ecr: Ecr) -> None:
    good, gone = unique("good"), unique("gone")
    built = push_image(ecr.tmp, ecr.source, f"x/{good}:1.0.0")
    images = f"{ecr.source}/x/{good}:1.0.0\n{ecr.source}/x/{gone}:1.0.0"
    code, out, doc = ecr.run(images=images)
    assert code == 3, out
    assert head_digest(ecr.host, good, "1.0.0") == built.digest
    assert head_digest(ecr.host, gone, "1.0.0") is None
    found = {t["key"]: t for t in section(doc)["targets"]}
    assert found[f"image:{ecr.host}/{good}:1.0.0"]["state"] == "created"
    missing = found[f"image:{ecr.host}/{gone}:1.0.0"]
    assert missing["state"] == "failed" and "does not exist" in missing["error"]
    assert json.loads(section(doc)["outputs"]["images"])[1]["state"] == "failed"


def test_a_failure_after_the_first_copy_then_a_rerun_finishes_without_duplicates(ecr: Ecr) -> None:
    import urllib.request

    one, two = unique("one"), unique("two")
    push_image(ecr.tmp, ecr.source, f"x/{one}:1.0.0")
    built = push_image(ecr.tmp, ecr.source, f"x/{two}:1.0.0")
    # Break image two's amd64 layer in the source: discovery reads manifests only, so the
    # plan is made; the copy then fails after image one has been pushed.
    manifest = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                f"http://{ecr.source}/v2/x/{two}/manifests/{built.platform_digests['linux/amd64']}",
                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            )
        ).read()
    )
    layer = manifest["layers"][0]["digest"]
    blob_url = f"http://{ecr.source}/v2/x/{two}/blobs/{layer}"
    data = urllib.request.urlopen(blob_url).read()
    urllib.request.urlopen(urllib.request.Request(blob_url, method="DELETE")).close()
    images = f"{ecr.source}/x/{one}:1.0.0\n{ecr.source}/x/{two}:1.0.0"
    code, out, doc = ecr.run(images=images, max_concurrency="1")
    assert code == 3, out
    assert states(doc)[f"image:{ecr.host}/{one}:1.0.0"] == "created"
    assert states(doc)[f"image:{ecr.host}/{two}:1.0.0"] == "failed"
    assert head_digest(ecr.host, two, "1.0.0") is None, "no tag for a half copy"
    _upload_blob(ecr.source, f"x/{two}", data, layer)  # the source is repaired
    ecr.log.mark()
    code, out, doc = ecr.run(images=images)
    assert code == 0, out
    assert states(doc)[f"image:{ecr.host}/{one}:1.0.0"] == "existed"
    assert states(doc)[f"image:{ecr.host}/{two}:1.0.0"] == "created"
    assert head_digest(ecr.host, two, "1.0.0") == built.digest
    puts = [p for m, p, _ in ecr.log.mutations() if m == "PUT" and "/manifests/" in p]
    assert all(f"/{one}/" not in p for p in puts), "image one was not pushed again"


def _upload_blob(registry: str, repository: str, data: bytes, digest: str) -> None:
    import urllib.request

    start = urllib.request.urlopen(
        urllib.request.Request(
            f"http://{registry}/v2/{repository}/blobs/uploads/", method="POST", data=b""
        )
    )
    location = start.headers["Location"]
    sep = "&" if "?" in location else "?"
    url = location if location.startswith("http") else f"http://{registry}{location}"
    urllib.request.urlopen(
        urllib.request.Request(
            f"{url}{sep}digest={digest}",
            method="PUT",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
    ).close()


def test_marketplace_mode_pushes_into_existing_seller_repositories(ecr: Ecr) -> None:
    name = unique("mp")
    built = push_image(ecr.tmp, ecr.source, f"x/{name}:3.1.0")
    # The seller portal made acme/<name>: here a first push stands in for it.
    push_image(ecr.tmp, ecr.host, f"acme/{name}:seed", ecr=True)
    code, out, _doc = ecr.run(images=f"{ecr.source}/x/{name}:3.1.0", marketplace_seller="acme")
    assert code == 0, out
    assert head_digest(ecr.host, f"acme/{name}", "3.1.0") == built.digest
    assert name not in str(ecr.repositories()), "nothing is created for Marketplace"


def test_a_missing_marketplace_repository_is_exit_2_before_anything(ecr: Ecr) -> None:
    name = unique("mp-missing")
    push_image(ecr.tmp, ecr.source, f"x/{name}:3.1.0")
    ecr.log.mark()
    code, out, doc = ecr.run(images=f"{ecr.source}/x/{name}:3.1.0", marketplace_seller="acme")
    assert code == 2, out
    assert "seller portal" in out and ecr.log.mutations() == []
    assert doc == {}, "exit 2 writes no results document"


def test_the_ecr_stand_in_accepts_exactly_what_motos_token_says(ecr: Ecr) -> None:
    import base64

    import boto3

    from imgpub.sandbox.services import SANDBOX_ECR_PASSWORD

    data = boto3.client("ecr", region_name="us-east-1").get_authorization_token()[
        "authorizationData"
    ][0]
    assert base64.b64decode(data["authorizationToken"]).decode() == f"AWS:{SANDBOX_ECR_PASSWORD}"


def test_a_dry_run_plans_and_sends_nothing(ecr: Ecr) -> None:
    name = unique("dry")
    built = push_image(ecr.tmp, ecr.source, f"x/{name}:1.0.0")
    code, out, doc = ecr.run(images=f"{ecr.source}/x/{name}:1.0.0", dry_run="true")
    assert code == 0, out
    assert ecr.log.mutations() == [] and name not in ecr.repositories()
    assert states(doc) == {
        f"repository:{name}": "planned",
        f"image:{ecr.host}/{name}:1.0.0": "planned",
    }
    assert json.loads(section(doc)["outputs"]["images"])[0]["digest"] == built.digest
    assert "dry run: nothing was changed" in out
