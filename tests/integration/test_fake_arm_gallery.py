"""The gallery adapter driving the real azure-mgmt-compute client against the fake ARM server.

Nothing here mocks the SDK: requests go through ComputeManagementClient's pipeline (retry
policy, LRO polling with Azure-AsyncOperation, deserialisation) to a real HTTP server on a
free loopback port. Waits use deadlines to fail instead of hanging, never to assert time.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from imgpub.azure.clouds import ARM_ENDPOINT_ENV, resolve_cloud
from imgpub.azure.credentials import azure_credential, compute_client, probe
from imgpub.azure.gallery import (
    GalleryAdapter,
    VersionSource,
    api_region,
    storage_account_id,
    version_body,
)
from imgpub.azure.image_names import parse_image_name
from imgpub.azure.naming import load_naming_rules
from imgpub.errors import CloudError, ConfigError
from imgpub.gallery.discover import discover_gallery
from imgpub.gallery.names import PublishOptions, plan_names
from imgpub.gallery.plan import build_plan
from imgpub.gallery.publish import publish_gallery
from imgpub.sandbox.fake_arm import DEFAULT_SUBSCRIPTION, FakeArm
from imgpub.sandbox.serving import PortInfo

RG = "rg-alma-images"
CI = "almalinux_ci"
X86 = "AlmaLinux-9-Azure-9.6-20250522.1.x86_64.raw.xz"
BLOB = "https://almalinux.blob.core.windows.net/9-default/almalinux-9.6-x86_64.20250522-01.vhd"
SOURCE = VersionSource(BLOB, storage_account_id(DEFAULT_SUBSCRIPTION, RG, "almalinux"))
VERSIONS_PUT = "/versions/"


@pytest.fixture
def fake():
    with FakeArm(polls=2) as server:
        server.add_gallery(RG, CI, "eastus")
        server.add_gallery(RG, "almalinux", "westeurope")
        yield server


@pytest.fixture
def env(fake):
    return {ARM_ENDPOINT_ENV: fake.url, "IMGPUB_SANDBOX": "1"}


@pytest.fixture
def client(env):
    cloud = resolve_cloud("AzureCloud", env=env)
    return compute_client(cloud, DEFAULT_SUBSCRIPTION, azure_credential(cloud, env), env=env)


@pytest.fixture
def adapter(client):
    return GalleryAdapter(client, wait_interval=0)


@pytest.fixture(scope="module")
def rules():
    return load_naming_rules()


def names_of(rules, filename=X86, **options):
    return plan_names(parse_image_name(filename, rules), rules, PublishOptions(**options))


def targets(rules, filename=X86, **options):
    return names_of(rules, filename, **options).versions


def publish(adapter, ts, source, *, create_definitions=False):
    """What the stage does with a gallery: discover, plan (blockers stop it), apply."""
    names = dataclasses.replace(names_of(load_naming_rules()), versions=tuple(ts))
    found = discover_gallery(adapter, names.versions)
    plan = build_plan(
        names,
        blob=None,
        gallery=found,
        source=source,
        subscription=DEFAULT_SUBSCRIPTION,
        steps=frozenset({"publish"}),
        create_definitions=create_definitions,
    )
    blockers = plan.blockers()
    if blockers is not None:
        raise blockers
    definitions, versions = publish_gallery(plan, adapter, workers=4)
    created = tuple(d.plan.target.definition.name for d in definitions if d.state == "created")
    return types.SimpleNamespace(outcomes=versions, created_definitions=created, plan=plan)


def add_definitions(fake, ts):
    for t in ts:
        fake.add_definition(
            t.resource_group,
            t.gallery,
            t.definition.name,
            generation=t.definition.generation,
            architecture=t.definition.architecture,
        )


def wait_until(predicate, what, deadline_s=30.0):
    """Fail (not hang) if something that must happen does not; not a timing assertion."""
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_lro_is_polled_to_succeeded(fake, adapter, rules):
    ts = targets(
        rules, "AlmaLinux-9-Azure-9.6-20250522.1.aarch64.raw", regions=("eastus", "westus2")
    )
    add_definitions(fake, ts)
    report = publish(adapter, ts, SOURCE)
    [outcome] = report.outcomes
    assert outcome.state == "created"
    assert outcome.id.endswith(
        "/galleries/almalinux_ci/images/almalinux-9-arm64/versions/9.6.2025052201"
    )
    assert outcome.regions == ("eastus", "westus2")
    assert fake.version_state(RG, CI, "almalinux-9-arm64", "9.6.2025052201") == "Succeeded"
    paths = [r.path for r in fake.requests if "/operations/" in r.path]
    assert len(paths) == 3  # two InProgress polls, then the terminal one
    put = next(r for r in fake.requests if r.method == "PUT")
    assert put.authorization  # the sandbox sends a (fake) bearer token over plain http
    assert put.query["api-version"]
    profile = put.body["properties"]["publishingProfile"]
    assert [r["name"] for r in profile["targetRegions"]] == ["eastus", "westus2"]
    assert put.body["properties"]["storageProfile"]["osDiskImage"]["source"] == {
        "uri": BLOB,
        "storageAccountId": SOURCE.storage_account_id,
    }
    assert put.body["location"] == "eastus"  # the gallery's region


def test_versions_are_created_in_parallel(fake, adapter, rules):
    ts = targets(rules)  # gen1 and gen2
    add_definitions(fake, ts)
    fake.hold()  # every LRO stays InProgress until both PUTs have arrived
    result = {}
    worker = threading.Thread(target=lambda: result.update(report=publish(adapter, ts, SOURCE)))
    worker.start()
    try:
        wait_until(lambda: fake.count("PUT", VERSIONS_PUT) == 2, "both version PUTs")
    finally:
        fake.release()
        worker.join(60)
    assert [o.state for o in result["report"].outcomes] == ["created", "created"]
    assert fake.count("PUT", "/almalinux-9-gen1/versions/9.6.2025052201") == 1
    assert fake.count("PUT", "/almalinux-9-gen2/versions/9.6.2025052201") == 1


def test_rerun_sends_no_create(fake, adapter, rules):
    ts = targets(rules)
    add_definitions(fake, ts)
    first = publish(adapter, ts, SOURCE)
    assert [o.state for o in first.outcomes] == ["created", "created"]
    puts = fake.count("PUT")
    # a SAS on the source URI does not make it a different source
    second = publish(adapter, ts, VersionSource(BLOB + "?sv=2024&sig=x", None))
    assert [o.state for o in second.outcomes] == ["existed", "existed"]
    assert fake.count("PUT") == puts


def test_duplicate_targets_are_sent_once(fake, adapter, rules):
    ts = targets(rules)
    add_definitions(fake, ts)
    report = publish(adapter, ts + ts, SOURCE)
    assert len(report.outcomes) == 2
    assert fake.count("PUT", VERSIONS_PUT) == 2


def test_existing_version_with_another_source_is_an_error(fake, adapter, rules):
    ts = targets(rules)
    add_definitions(fake, ts)
    other = "https://almalinux.blob.core.windows.net/9-default/other.vhd"
    fake.add_version(RG, CI, "almalinux-9-gen1", "9.6.2025052201", source_uri=other)
    report = publish(adapter, ts, SOURCE)
    gen1, gen2 = report.outcomes
    assert gen1.state == "failed" and other in gen1.error and "next index" in gen1.remedy
    assert gen2.state == "created"  # the other target still finishes (partial failure)
    assert fake.count("PUT", "/almalinux-9-gen1/") == 0


def test_existing_failed_version_is_reported_with_remedy(fake, adapter, rules):
    ts = targets(rules)
    add_definitions(fake, ts)
    fake.add_version(RG, CI, "almalinux-9-gen2", "9.6.2025052201", source_uri=BLOB, state="Failed")
    gen1, gen2 = publish(adapter, ts, SOURCE).outcomes
    assert gen1.state == "created"
    assert gen2.state == "failed" and "state Failed" in gen2.error
    assert "az sig image-version delete" in gen2.remedy
    assert fake.count("PUT", "/almalinux-9-gen2/") == 0


def test_version_whose_creation_fails(fake, adapter, rules):
    ts = targets(rules)
    add_definitions(fake, ts)
    fake.fail_version(
        RG, CI, "almalinux-9-gen1", "9.6.2025052201", code="OperationNotAllowed", message="Quota."
    )
    gen1, gen2 = publish(adapter, ts, SOURCE).outcomes
    assert gen1.state == "failed"
    assert "(OperationNotAllowed) Quota." in gen1.error and "\n" not in gen1.error
    assert "delete the failed version" in gen1.remedy
    assert gen2.state == "created"
    assert fake.version_state(RG, CI, "almalinux-9-gen1", "9.6.2025052201") == "Failed"
    assert fake.count("PUT", "/almalinux-9-gen1/") == 1  # a failed LRO is not re-sent
    # the next run sees the Failed version and says what to do, without a PUT
    again = publish(adapter, ts, SOURCE).outcomes[0]
    assert again.state == "failed" and "az sig image-version delete" in again.remedy
    assert fake.count("PUT", "/almalinux-9-gen1/") == 1


def test_version_still_creating_is_not_recreated(fake, client, rules):
    ts = targets(rules, "AlmaLinux-9-Azure-9.6-20250522.1.aarch64.raw")
    add_definitions(fake, ts)
    fake.add_version(
        RG, CI, "almalinux-9-arm64", "9.6.2025052201", source_uri=BLOB, state="Creating"
    )
    adapter = GalleryAdapter(client, timeout=0, wait_interval=0)
    [outcome] = publish(adapter, ts, SOURCE).outcomes
    assert outcome.state == "failed" and "Creating" in outcome.error
    assert fake.count("PUT") == 0


def test_missing_definitions_stop_before_any_write(fake, adapter, rules):
    ts = targets(rules)
    add_definitions(fake, ts[:1])
    with pytest.raises(ConfigError) as err:
        publish(adapter, ts, SOURCE)
    assert "almalinux_ci/almalinux-9-gen2" in err.value.one_line()
    assert "almalinux-9-gen1" not in err.value.message
    assert "create-definitions" in err.value.one_line()
    assert fake.count("PUT") == 0


def test_create_definitions(fake, adapter, rules):
    ts = targets(rules, "AlmaLinux-10-Azure-10.1-20251215.0.x86_64.raw", public=True)
    report = publish(adapter, ts, SOURCE, create_definitions=True)
    assert report.created_definitions == ("almalinux-10-gen1", "almalinux-10-gen2")
    assert [o.state for o in report.outcomes] == ["created", "created"]
    bodies = {
        r.path.rsplit("/", 1)[1]: r.body["properties"]
        for r in fake.requests
        if r.method == "PUT" and "/versions/" not in r.path
    }
    assert bodies["almalinux-10-gen1"]["hyperVGeneration"] == "V1"
    assert "features" not in bodies["almalinux-10-gen1"]
    assert bodies["almalinux-10-gen2"]["features"] == [
        {"name": "SecurityType", "value": "TrustedLaunchSupported"}
    ]
    assert bodies["almalinux-10-gen2"]["identifier"]["sku"] == "almalinux-10-gen2"
    assert {b["architecture"] for b in bodies.values()} == {"x64"}
    # 10.x is routed to the CI gallery even though public was asked for
    assert all(o.target.gallery == CI for o in report.outcomes)
    # a second run creates nothing
    again = publish(adapter, ts, SOURCE, create_definitions=True)
    assert again.created_definitions == ()
    assert [o.state for o in again.outcomes] == ["existed", "existed"]


def test_throttling_and_server_errors_are_retried_by_the_sdk(fake, adapter, rules):
    ts = targets(rules, "AlmaLinux-9-Azure-9.6-20250522.1.aarch64.raw")
    add_definitions(fake, ts)
    fake.fail_next("PUT", VERSIONS_PUT, 429)
    fake.fail_next("GET", "/galleries/almalinux_ci", 500)
    [outcome] = publish(adapter, ts, SOURCE).outcomes
    assert outcome.state == "created"
    assert fake.count("PUT", VERSIONS_PUT) == 2  # the 429'd request, then its retry


def test_missing_gallery(fake, adapter, rules):
    with pytest.raises(ConfigError, match="gallery nope not found"):
        publish(adapter, targets(rules, gallery="nope"), SOURCE)


def test_public_gallery_location_is_used(fake, adapter, rules):
    ts = targets(rules, "AlmaLinux-9-Azure-9.6-20250522.1.aarch64.raw", public=True)
    add_definitions(fake, ts)
    [outcome] = publish(adapter, ts, SOURCE).outcomes
    assert outcome.state == "created" and outcome.target.gallery == "almalinux"
    put = next(r for r in fake.requests if r.method == "PUT")
    assert put.body["location"] == "westeurope"


def test_a_version_without_the_gallery_region_is_refused_as_azure_does(fake, adapter, rules):
    """Issue 9, finding 9: the gallery is in westeurope, the default regions lack it."""
    ts = targets(rules, "AlmaLinux-9-Azure-9.6-20250522.1.aarch64.raw", public=True)
    add_definitions(fake, ts)
    [t] = ts
    assert "westeurope" not in t.region_names
    with pytest.raises(CloudError, match="replication regions must include the region"):
        adapter.create_version(t, SOURCE, "westeurope")
    assert fake.version_state(RG, "almalinux", "almalinux-9-arm64", t.version) is None
    # The plan knows the gallery's region and adds it first, as the portal does.
    report = publish(adapter, ts, SOURCE)
    [outcome] = report.outcomes
    assert outcome.state == "created" and outcome.regions[0] == "westeurope"
    assert list(outcome.regions[1:]) == list(t.region_names)
    assert any("westeurope was added first" in change for change in report.plan.changes)


def test_a_version_left_by_a_killed_client_finishes_as_on_azure(fake, adapter, rules):
    """Azure goes on creating a version nobody polls; reads see it progress and finish."""
    ts = targets(rules, "AlmaLinux-9-Azure-9.6-20250522.1.aarch64.raw")
    add_definitions(fake, ts)
    [t] = ts
    url = (
        f"{fake.url}/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{RG}/providers"
        f"/Microsoft.Compute/galleries/{CI}/images/{t.definition.name}/versions/{t.version}"
        "?api-version=2026-03-03"
    )
    body = json.dumps(version_body(t, SOURCE, "eastus")).encode()
    put = urllib.request.Request(url, data=body, method="PUT")
    put.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(put) as resp:  # the client "dies" here: nobody polls
        assert resp.status == 201
    states = [adapter.get_target(t).provisioning_state for _ in range(3)]
    assert states[0] == "Creating" and states[-1] == "Succeeded"
    assert [r for r in fake.requests if "/operations/" in r.path] == []


def test_reads_and_delete(fake, adapter, client, rules):
    ts = targets(rules, "AlmaLinux-9-Azure-9.6-20250522.1.aarch64.raw")
    add_definitions(fake, ts)
    [t] = ts
    assert adapter.get_version(RG, CI, "almalinux-9-arm64", t.version) is None
    publish(adapter, ts, SOURCE)
    state = adapter.get_version(RG, CI, "almalinux-9-arm64", t.version)
    assert (state.provisioning_state, state.source_uri) == ("Succeeded", BLOB)
    assert discover_gallery(adapter, ts).versions == {t.path: state}
    definition = adapter.get_definition(RG, CI, "almalinux-9-arm64")
    assert (definition.generation, definition.architecture) == ("V2", "Arm64")
    listed = [
        v.name
        for v in client.gallery_image_versions.list_by_gallery_image(RG, CI, "almalinux-9-arm64")
    ]
    assert listed == [t.version]
    replication = client.gallery_image_versions.get(
        RG, CI, "almalinux-9-arm64", t.version, expand="ReplicationStatus"
    ).properties.replication_status
    assert replication.aggregated_state == "Completed"
    # Azure (and the fake) answer display names; imgpub's reads turn them into API names.
    assert replication.summary[0].region == "East US"
    assert [api_region(s.region) for s in replication.summary] == [r.name for r in t.regions]
    assert state.regions == tuple(r.name for r in t.regions)
    adapter.delete_version(t)
    assert adapter.get_version(RG, CI, "almalinux-9-arm64", t.version) is None


def test_probe_against_the_fake(fake, env):
    cloud = resolve_cloud("AzureCloud", env=env)
    assert probe(azure_credential(cloud, env), cloud, timeout=5).ok


def test_standalone_server_serves_until_sigterm(tmp_path: Path):
    port_file = tmp_path / "port"
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"galleries": [{"resource_group": RG, "name": CI}]}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgpub.sandbox.fake_arm", "--port-file", str(port_file),
         "--seed", str(seed)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        wait_until(port_file.exists, "the port file")
        base = PortInfo.read(port_file).url
        url = f"{base}/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Compute/galleries/{CI}"
        with urllib.request.urlopen(url) as resp:
            assert json.load(resp)["name"] == CI
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "/images/missing")
        assert err.value.code == 404
        assert json.load(err.value)["error"]["code"] == "ResourceNotFound"
        with urllib.request.urlopen(f"{base}/_fake/requests") as resp:
            assert len(json.load(resp)) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
