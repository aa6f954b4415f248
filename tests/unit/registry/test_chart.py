"""Chart repacking: deterministic bytes, the hook and Secret injected, values rewritten in place."""

from __future__ import annotations

import pytest

from imgpub.oci.reference import parse_reference
from imgpub.registry.chart import ChartError, repack, unpack, verify
from imgpub.registry.chart_inputs import HookValues
from imgpub.registry.hook import HOOK_FILE, SECRET_FILE, hook_problems, neutralised, render_hook
from imgpub.registry.values_rewrite import rewrite_values
from tests.integration.oci_helpers import make_chart

HOOK = HookValues(
    "prod-abcd1234", ("Users", "Admins"), "r.example/lc:1", "{{ .Values.sa }}", "us-east-1", "admin"
)
SRC = parse_reference("docker.io/camunda/zeebe:8.3.4")
DST = parse_reference("709825985650.dkr.ecr.us-east-1.amazonaws.com/acme/zeebe:8.3.4")


def test_repacking_is_deterministic_and_keeps_chart_yaml():
    archive = make_chart()
    one = repack(archive, name="demo", version="1.2.3", hook=HOOK, mirrored={}, rewrite=False)
    two = repack(archive, name="demo", version="1.2.3", hook=HOOK, mirrored={}, rewrite=False)
    assert one.archive == two.archive and one.manifest_digest == two.manifest_digest
    files = unpack(one.archive).files
    assert files["Chart.yaml"] == unpack(archive).files["Chart.yaml"]
    assert verify(one.archive, one) == []


def test_the_hook_runs_the_check_for_every_entitlement_and_never_retries():
    files = render_hook(HOOK)
    job = neutralised(files[HOOK_FILE])
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["backoffLimit"] == 0
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == [
        "--product-sku",
        "prod-abcd1234",
        "--entitlement",
        "Users",
        "--entitlement",
        "Admins",
        "--region",
        "us-east-1",
    ]
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "HELM"  # a Helm expression
    assert b"randAlphaNum" in files[SECRET_FILE] and b"lookup" in files[SECRET_FILE]
    assert hook_problems(files) == []
    assert hook_problems({**files, HOOK_FILE: files[HOOK_FILE].replace(b"pre-install,", b"")})


def test_values_are_rewritten_in_place_keeping_comments_and_quotes():
    text = "# top\nimage:\n  registry: docker.io  # where\n  repository: camunda/zeebe\n  tag: 8.3.4\nother: 'docker.io/camunda/zeebe:8.3.4'\nkeep: docker.io/camunda/zeebe:9.9.9\n"
    out, rewrites, notes = rewrite_values(text, {SRC: DST})
    assert out == (
        "# top\nimage:\n  registry: 709825985650.dkr.ecr.us-east-1.amazonaws.com  # where\n"
        "  repository: acme/zeebe\n  tag: 8.3.4\n"
        "other: '709825985650.dkr.ecr.us-east-1.amazonaws.com/acme/zeebe:8.3.4'\n"
        "keep: docker.io/camunda/zeebe:9.9.9\n"
    )
    assert [r[0] for r in rewrites] == ["image.registry", "image.repository", "other"]
    assert notes == []


def test_a_repository_without_registry_gets_the_whole_name():
    out, _, notes = rewrite_values("image:\n  repository: camunda/zeebe\n", {SRC: DST})
    assert (
        "repository: 709825985650.dkr.ecr.us-east-1.amazonaws.com/acme/zeebe" in out and notes == []
    )


@pytest.mark.parametrize("kind", ["symlink", "dotdot"])
def test_unsafe_archives_are_refused(kind):
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("demo/Chart.yaml" if kind == "symlink" else "demo/../../etc/x")
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ChartError):
        unpack(gzip.compress(raw.getvalue()))
