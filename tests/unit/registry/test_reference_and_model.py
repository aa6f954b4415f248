"""References and inputs: what registries refuse is refused before anything is sent."""

from __future__ import annotations

import pytest

from imgpub.errors import InputError
from imgpub.inputs import InputReader
from imgpub.oci.reference import Reference, ReferenceError, parse_reference
from imgpub.registry.model import parse_ecr_inputs
from imgpub.registry.spec import ECR_INPUTS, MARKETPLACE_REGION


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nginx:1.25", Reference("docker.io", "library/nginx", "1.25")),
        ("docker.io/camunda/zeebe:8.3.4", Reference("docker.io", "camunda/zeebe", "8.3.4")),
        ("ghcr.io/a/b/c:v1", Reference("ghcr.io", "a/b/c", "v1")),
        ("127.0.0.1:5000/x:1", Reference("127.0.0.1:5000", "x", "1")),
        ("localhost/x/y:2", Reference("localhost", "x/y", "2")),
        (f"quay.io/a/b@sha256:{'a' * 64}", Reference("quay.io", "a/b", None, f"sha256:{'a' * 64}")),
    ],
)
def test_references_parse_as_docker_does(text, expected):
    assert parse_reference(text, default_tag=None) == expected


def test_docker_hub_is_served_by_its_api_host():
    assert parse_reference("nginx:1").api_host == "registry-1.docker.io"
    assert str(parse_reference("nginx:1")) == "docker.io/library/nginx:1"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("docker.io/Camunda/zeebe:1", "repository"),
        ("x/yy:1.0+build.1", "is not allowed in a tag"),
        ("https://ghcr.io/a:1", "scheme"),
        ("x/y@sha256:short", "digest"),
        ("a b:1", "not an image reference"),
    ],
)
def test_bad_references_say_what_is_wrong(text, why):
    with pytest.raises(ReferenceError, match=why):
        parse_reference(text)


def read(env=None, **values):
    reader = InputReader(ECR_INPUTS, flags={k.replace("_", "-"): v for k, v in values.items()})
    masks: list[str] = []
    return parse_ecr_inputs(reader, env or {}, masks.append), masks


def test_destinations_default_to_the_last_component_and_the_source_tag():
    inputs, _ = read(images="docker.io/camunda/zeebe:8.3.4\nghcr.io/a/op:1 -> ops:1-fixed")
    assert [(j.repository, j.tag) for j in inputs.images] == [
        ("zeebe", "8.3.4"),
        ("ops", "1-fixed"),
    ]
    assert inputs.region == "us-east-1" and inputs.registry is None


def test_marketplace_pins_the_region_and_refuses_latest():
    inputs, _ = read(images="x/yy:1", marketplace_seller="acme")
    assert inputs.region == MARKETPLACE_REGION and inputs.marketplace
    with pytest.raises(InputError, match="latest"):
        read(images="x/yy:latest", marketplace_seller="acme")


def test_source_passwords_are_masked_one_by_one():
    inputs, masks = read(
        images="x/yy:1", source_credentials="docker.io=me:s3cr:et\nghcr.io=bot:tok"
    )
    assert masks == ["s3cr:et", "tok"]
    assert inputs.source_credentials["registry-1.docker.io"].password == "s3cr:et"


def test_an_images_file_with_per_image_options(tmp_path):
    path = tmp_path / "images.yaml"
    path.write_text(
        "images:\n  - docker.io/a/bb:1\n  - {source: ghcr.io/c/d:2, repository: dd, platforms: [linux/arm64]}\n"
    )
    inputs, _ = read(images=str(path))
    assert [(j.repository, j.platforms) for j in inputs.images] == [
        ("bb", ()),
        ("dd", ("linux/arm64",)),
    ]


def test_a_registry_is_host_and_namespace_without_scheme():
    inputs, _ = read(images="x/yy:1", registry="123456789012.dkr.ecr.eu-west-1.amazonaws.com/team")
    assert (
        str(inputs.registry.reference("yy", "1"))
        == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/yy:1"
    )
    with pytest.raises(InputError, match="scheme"):
        read(images="x/yy:1", registry="https://r.example")


def test_chart_versions_keep_plus_as_underscore_in_tags():
    inputs, _ = read(
        chart="oci://ghcr.io/acme/charts/app:1.2.3+build.4",
        product_sku="prod-abcd1234",
        entitlements="U",
        license_check_image="r.example/lc:1",
    )
    assert inputs.chart.version == "1.2.3+build.4" and inputs.chart.oci.tag == "1.2.3_build.4"
