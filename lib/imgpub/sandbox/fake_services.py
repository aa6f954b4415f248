"""imgpub's own fakes as sandbox services: how each is started, seeded and pointed at.

Where no emulator exists (Azure Resource Manager, Marketplace Catalog, License Manager,
GitHub, a webhook receiver, StArMap) the sandbox runs a fake from ``fake_server`` as a
child process, like the real services in ``services``; each declaration says which class, with which
options and seed, and which standard variables point clients at it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from imgpub.push.examples import example_mappings
from imgpub.sandbox.catalog_entities import sandbox_seed
from imgpub.sandbox.services import (
    SANDBOX_SUBSCRIPTION,
    RunningService,
    port_info,
    read_port_file,
    spawn,
    wait_until,
)
from imgpub.sandbox.serving import PortInfo


@dataclass(frozen=True)
class FakeService:
    """How the sandbox runs one of imgpub's fakes (see ``fake_server``) as a service.

    ``factory`` is the fake's class as ``module:Class``; ``options`` are keyword arguments
    of its constructor (JSON values); ``seed`` is given to its ``seed()`` before it
    serves; ``env`` turns the fake's URL into the variables that point clients at it
    (the SDK's standard endpoint variable, e.g. ``AWS_ENDPOINT_URL_LICENSE_MANAGER``).
    """

    name: str
    factory: str
    env: Callable[[str], dict[str, str]]
    options: Mapping[str, object] = field(default_factory=dict)
    seed: Mapping[str, object] | None = None


def start_fake(fake: FakeService, workdir: Path, timeout: float = 20.0) -> RunningService:
    """Start a fake as a child process (``python -m imgpub.sandbox.fake_server``)."""
    port_file = workdir / f"{fake.name}.port"
    port_file.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "imgpub.sandbox.fake_server", fake.factory]
    argv += ["--port-file", str(port_file), "--exit-with-parent"]
    for option, value in fake.options.items():
        argv += ["--option", f"{option}={json.dumps(value)}"]
    if fake.seed is not None:
        seed = workdir / f"{fake.name}-seed.json"
        seed.write_text(json.dumps(fake.seed), encoding="utf-8")
        argv += ["--seed", str(seed)]
    svc = spawn(f"fake-{fake.name}", argv, workdir)
    wait_until(read_port_file(port_file), svc, timeout, "port file")
    endpoint = port_info(port_file).url
    return RunningService(fake.name, fake.env(endpoint), svc, {"endpoint": endpoint})


#: The fake Azure Resource Manager (Compute Gallery); no emulator exists for it. The
#: galleries a release publishes to exist before the first release; definitions do not,
#: so a rehearsal shows what `create-definitions` would create.
FAKE_ARM = FakeService(
    name="arm",
    factory="imgpub.sandbox.fake_arm:FakeArm",
    env=lambda url: {
        "IMGPUB_AZURE_ARM_ENDPOINT": url,
        "AZURE_SUBSCRIPTION_ID": SANDBOX_SUBSCRIPTION,
    },
    options={"subscription_id": SANDBOX_SUBSCRIPTION},
    seed={
        "galleries": [
            {"resource_group": "rg-alma-images", "name": name, "location": "eastus"}
            for name in ("almalinux_ci", "almalinux")
        ]
    },
)


#: The fake AWS License Manager (no emulator exists): licenses of a demo product in each
#: state a buyer's license can be in, for `imgpub license-check` rehearsals.
FAKE_LICENSE_MANAGER = FakeService(
    name="license-manager",
    factory="imgpub.sandbox.fake_license_manager:FakeLicenseManager",
    env=lambda url: {"AWS_ENDPOINT_URL_LICENSE_MANAGER": url},
    seed={
        "add_license": [
            {"product_sku": "prod-imgpubdemo1", "entitlements": [{"Name": "ReadOnlyUsers"}]},
            {
                "product_sku": "prod-imgpubexpired",
                "entitlements": [{"Name": "ReadOnlyUsers"}],
                "valid_days": -1,
            },
        ]
    },
)


#: The fake AWS Marketplace Catalog (AMI products); moto has none. Seeded with AlmaLinux's
#: products and dev/test product; its AMI and access-role checks look into the local AWS.
FAKE_CATALOG = FakeService(
    name="catalog",
    factory="imgpub.sandbox.fake_catalog:FakeCatalog",
    env=lambda url: {"AWS_ENDPOINT_URL_MARKETPLACE_CATALOG": url},
    options={"preparing_seconds": 1.0, "applying_seconds": 2.0},
    seed=sandbox_seed(),
)


def start_fake_catalog(
    workdir: Path, timeout: float = 20.0, *, aws_endpoint: str | None = None
) -> RunningService:
    """The fake Marketplace Catalog; it checks AMIs and roles in the local AWS, which is
    ``aws_endpoint`` or, in a sandbox, the moto started before it in ``workdir``."""
    if aws_endpoint is None:
        moto = PortInfo.read(workdir / "moto.port")
        aws_endpoint = moto.url if moto is not None else None
    fake = FAKE_CATALOG
    if aws_endpoint:
        fake = replace(fake, options={**fake.options, "aws_endpoint": aws_endpoint})
    return start_fake(fake, workdir, timeout)


#: The fake GitHub's token and documentation repository (AlmaLinux's wiki layout, on its
#: default branch ``master``); the token is a dummy credential like the AWS ones.
SANDBOX_GITHUB_TOKEN = "ghp_imgpubsandbox0000000000000000000000"  # noqa: S105 - a dummy
SANDBOX_WIKI_REPOSITORY = "almalinux/wiki"
FAKE_GITHUB = FakeService(
    name="github",
    factory="imgpub.sandbox.fake_github:FakeGithub",
    env=lambda url: {"GITHUB_API_URL": url, "GITHUB_TOKEN": SANDBOX_GITHUB_TOKEN},
    seed={
        "add_repo": [
            {
                "full_name": SANDBOX_WIKI_REPOSITORY,
                "default_branch": "master",
                "files": {
                    "README.md": "# AlmaLinux wiki (imgpub sandbox)\n",
                    "docs/cloud/AWS_AMIS_9.md": "Distribution|Version|Region|AMI ID|Arch\n"
                    "-|-|-|-|-\n",
                },
                "collaborators": ["cloud-sig"],
            }
        ],
        "add_token": [{"token": SANDBOX_GITHUB_TOKEN, "login": "imgpub-sandbox-bot"}],
    },
)


#: A local incoming-webhook receiver (Mattermost's answers) for notifications.
SANDBOX_WEBHOOK_KEY = "imgpub-sandbox"
FAKE_WEBHOOK = FakeService(
    name="webhook",
    factory="imgpub.sandbox.fake_webhook:FakeWebhook",
    env=lambda url: {"IMGPUB_SANDBOX_WEBHOOK": f"{url}/hooks/{SANDBOX_WEBHOOK_KEY}"},
    seed={"add_hook": [{"key": SANDBOX_WEBHOOK_KEY, "channel": "releases"}]},
)


#: A local StArMap (APIv2 query) serving imgpub's example mappings, for `imgpub push`.
FAKE_STARMAP = FakeService(
    name="starmap",
    factory="imgpub.sandbox.fake_starmap:FakeStarmap",
    env=lambda url: {"IMGPUB_STARMAP_URL": url},
    seed={"add_entry": [{"entity": e} for e in example_mappings()]},
)
