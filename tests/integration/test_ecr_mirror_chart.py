"""The Helm chart: pulled, repacked with the hook and Secret, pushed, verified; re-runs push nothing."""

from __future__ import annotations

import base64
import gzip
import http.server
import io
import json
import tarfile
import threading
import urllib.request
from contextlib import contextmanager
from hashlib import sha256

import pytest
import yaml

from imgpub.registry.hook import HOOK_FILE, SECRET_FILE, neutralised
from imgpub.sandbox.services import SANDBOX_ECR_PASSWORD
from tests.integration.ecr_stage_helpers import Ecr, section, states
from tests.integration.oci_helpers import (
    AccessLog,
    make_chart,
    push_chart_source,
    push_image,
    unique,
)

pytestmark = pytest.mark.registry
HOOK = {
    "product_sku": "prod-abcd1234",
    "entitlements": "ReadOnlyUsers",
    "license_check_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/imgpub-license-check:1.0.0",
    "service_account": "demo-license",
}


@pytest.fixture
def ecr(registry, ecr_registry, aws_endpoint, tmp_path) -> Ecr:
    log = AccessLog(ecr_registry.info["access_log"], ecr_registry.info["host"])
    log.mark()
    return Ecr(registry, ecr_registry.info["host"], log, tmp_path)


def pull(host: str, repository: str, tag: str) -> tuple[dict, dict[str, bytes]]:
    """The chart at host/repository:tag, read with urllib: (manifest, files below the top folder)."""
    auth = "Basic " + base64.b64encode(f"AWS:{SANDBOX_ECR_PASSWORD}".encode()).decode()

    def get(path: str, accept: str = "") -> bytes:
        req = urllib.request.Request(
            f"http://{host}/v2/{repository}/{path}",
            headers={"Authorization": auth, "Accept": accept},
        )
        return urllib.request.urlopen(req, timeout=10).read()

    manifest = json.loads(get(f"manifests/{tag}", "application/vnd.oci.image.manifest.v1+json"))
    layer = get(f"blobs/{manifest['layers'][0]['digest']}")
    files = {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        for m in tar.getmembers():
            files[m.name.split("/", 1)[1]] = tar.extractfile(m).read()
    return manifest, files


def test_the_chart_round_trips_with_hook_and_secret_and_a_rerun_pushes_nothing(ecr: Ecr) -> None:
    zeebe, busy = unique("zeebe"), unique("busybox")
    push_image(ecr.tmp, ecr.source, f"camunda/{zeebe}:8.3.4")
    push_image(ecr.tmp, ecr.source, f"x/{busy}:1.36")
    values = (
        "# Images of the demo\n"
        f"image:\n  registry: {ecr.source}\n  repository: camunda/{zeebe}  # upstream\n  tag: 8.3.4\n"
        f'sidecar: "{ecr.source}/x/{busy}:1.36"\nreplicas: 2\n'
    )
    archive = make_chart("demo", "1.2.3", values)
    chart_repo = f"{unique('charts')}/demo"
    source = push_chart_source(ecr.tmp, ecr.source, chart_repo, archive, "1.2.3")
    flags = {
        "images": f"{ecr.source}/camunda/{zeebe}:8.3.4\n{ecr.source}/x/{busy}:1.36",
        "chart": source,
        "chart_repository": f"{zeebe}-chart",
        "rewrite_values": "true",
        **HOOK,
    }
    code, out, doc = ecr.run(**flags)
    assert code == 0, out
    assert states(doc)[f"chart:{ecr.host}/{zeebe}-chart:1.2.3"] == "created"
    manifest, files = pull(ecr.host, f"{zeebe}-chart", "1.2.3")
    assert manifest["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json"
    assert (
        manifest["layers"][0]["mediaType"] == "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    )
    assert "org.opencontainers.image.created" not in manifest.get("annotations", {})
    source_files = dict(_files(archive).items())
    assert files["Chart.yaml"] == source_files["Chart.yaml"], "Chart.yaml is unchanged"
    job = neutralised(files[HOOK_FILE])
    assert job["kind"] == "Job" and "pre-install" in job["metadata"]["annotations"]["helm.sh/hook"]
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == [
        "--product-sku",
        "prod-abcd1234",
        "--entitlement",
        "ReadOnlyUsers",
        "--region",
        "us-east-1",
    ]
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "demo-license"
    assert neutralised(files[SECRET_FILE])["kind"] == "Secret"
    new_values = files["values.yaml"].decode()
    assert (
        f"registry: {ecr.host}\n" in new_values and f"repository: {zeebe}  # upstream" in new_values
    )
    assert f'sidecar: "{ecr.host}/{busy}:1.36"' in new_values and new_values.startswith("# Images")
    assert yaml.safe_load(new_values)["replicas"] == 2
    outputs = section(doc)["outputs"]
    assert outputs["helm-chart-uri"] == f"{ecr.host}/{zeebe}-chart:1.2.3"
    assert (
        json.loads(outputs["chart"])["digest"]
        == "sha256:"
        + sha256(
            urllib.request.urlopen(
                urllib.request.Request(
                    f"http://{ecr.host}/v2/{zeebe}-chart/manifests/1.2.3",
                    headers={
                        "Authorization": "Basic "
                        + base64.b64encode(f"AWS:{SANDBOX_ECR_PASSWORD}".encode()).decode(),
                        "Accept": "application/vnd.oci.image.manifest.v1+json",
                    },
                )
            ).read()
        ).hexdigest()
    )

    ecr.log.mark()
    code, out, doc = ecr.run(**flags)
    assert code == 0, out
    assert ecr.log.mutations() == [], "the same input repacks to the same bytes: nothing to push"
    assert states(doc)[f"chart:{ecr.host}/{zeebe}-chart:1.2.3"] == "existed"


def _files(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {
            m.name.split("/", 1)[1]: tar.extractfile(m).read()
            for m in tar.getmembers()
            if m.isfile()
        }


@contextmanager
def chart_repository(archive: bytes, name: str, version: str):
    """A classic chart repository (index.yaml + archive) on a free loopback port."""
    digest = sha256(archive).hexdigest()
    index = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "entries": {
                name: [
                    {
                        "name": name,
                        "version": version,
                        "digest": digest,
                        "urls": [f"{name}-{version}.tgz"],
                    }
                ]
            },
        }
    ).encode()
    files = {"/index.yaml": index, f"/{name}-{version}.tgz": archive}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/stable"
    finally:
        server.shutdown()
        server.server_close()


def test_a_chart_from_a_chart_repository_url(ecr: Ecr) -> None:
    archive = make_chart("webapp", "0.4.0", "replicas: 1\n")
    repo = unique("webapp")
    with chart_repository(archive, "webapp", "0.4.0") as url:
        code, out, _doc = ecr.run(
            chart=url.removesuffix("/stable"),
            chart_name="webapp",
            chart_version="0.4.0",
            chart_repository=repo,
            **HOOK,
        )
    assert code == 0, out
    _, files = pull(ecr.host, repo, "0.4.0")
    assert HOOK_FILE in files and SECRET_FILE in files
    assert files["values.yaml"] == b"replicas: 1\n"


def test_a_chart_is_not_pushed_while_one_of_its_images_failed(ecr: Ecr) -> None:
    gone = unique("gone")
    archive = make_chart("demo", "2.0.0", "x: 1\n")
    repo = f"{unique('charts')}/demo"
    source = push_chart_source(ecr.tmp, ecr.source, repo, archive, "2.0.0")
    code, out, doc = ecr.run(
        images=f"{ecr.source}/x/{gone}:1.0.0",
        chart=source,
        chart_repository=f"{gone}-chart",
        **HOOK,
    )
    assert code == 1, out
    chart = next(t for t in section(doc)["targets"] if t["kind"] == "helm-chart")
    assert chart["state"] == "skipped" and "never be replaced" in chart["remedy"]
    assert "/manifests/" not in str(ecr.log.mutations())


def test_a_repository_shared_by_an_image_and_the_chart_is_made_before_the_copy(ecr: Ecr) -> None:
    name = unique("shared")
    push_image(ecr.tmp, ecr.source, f"x/{name}:1.0.0")
    repo = f"{unique('charts')}/demo"
    source = push_chart_source(
        ecr.tmp, ecr.source, repo, make_chart("demo", "1.0.1", "a: 1\n"), "1.0.1"
    )
    code, out, doc = ecr.run(
        images=f"{ecr.source}/x/{name}:1.0.0", chart=source, chart_repository=name, **HOOK
    )
    assert code == 0, out
    assert out.index(f"repository {name}: created") < out.index("[1/1]"), out
    assert states(doc)[f"chart:{ecr.host}/{name}:1.0.1"] == "created"
