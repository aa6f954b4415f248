"""``imgpub demo``: a whole release rehearsed in the local sandbox, needing no account.

It makes a small sparse disk image (build-ami turns it into the AMI the release starts
from; without build-ami a test AMI is registered), then runs every stage that exists in
this installation, in release order, each reading the results document the previous one
wrote — the same chaining a workflow uses. What each stage did is printed from that
document, not from logs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from imgpub.errors import EXIT_OK
from imgpub.flow import StageModule
from imgpub.gha import Gha, Summary
from imgpub.process_env import process_environment

if TYPE_CHECKING:
    from imgpub.sandbox import Sandbox
from imgpub.build.chain import built_amis
from imgpub.results import ResultsDocument
from imgpub.stage import run_stage
from imgpub.stages import STAGES, MissingExtra, load_stage, present_stages

DEMO_IMAGE_NAME = "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw"
DEMO_AMI_NAME = "AlmaLinux OS 9.6.20250522 x86_64"
DEMO_ARM_AMI_NAME = "AlmaLinux OS 9.6.20250522 aarch64"
DEMO_MARKETPLACE_ROLE = "imgpub-demo-marketplace-ingestion"
DEMO_IMAGE_MIB = 64


@dataclass
class DemoWorld:
    """What the demo prepared before the stages run."""

    workdir: Path
    image: Path
    ami_id: str
    region: str
    results: Path
    arm_ami_id: str = ""  # the aarch64 build of the same release
    marketplace_role: str = ""  # the role AWS Marketplace assumes to copy the AMIs


def make_demo_disk(path: Path, size_mib: int = DEMO_IMAGE_MIB) -> int:
    """A sparse RAW disk with a few MiB of deterministic data in scattered extents."""
    size = size_mib * 1024 * 1024
    with path.open("wb") as fh:
        fh.truncate(size)
        for i, offset_mib in enumerate((0, 7, 20, size_mib - 2)):
            fh.seek(offset_mib * 1024 * 1024)
            block = bytes((i * 37 + j) % 251 for j in range(4096)) * 128  # 512 KiB
            fh.write(block)
    return size


def register_demo_ami(
    env: dict[str, str], name: str = DEMO_AMI_NAME, arch: str = "x86_64"
) -> tuple[str, str]:
    """Register a test AMI in the local EC2, tagged like an AlmaLinux build."""
    import boto3

    from imgpub.sandbox.seed import register_release_ami

    region = env.get("AWS_DEFAULT_REGION", "us-east-1")
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=env["AWS_ENDPOINT_URL"])
    existing = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])[
        "Images"
    ]
    if existing:
        return existing[0]["ImageId"], region
    image_id = register_release_ami(ec2, name, "9.6.20250522", arch)
    return image_id, region


def create_marketplace_role(env: dict[str, str]) -> str:
    """The IAM role AWS Marketplace assumes to copy AMIs (it trusts the ingestion service)."""
    import json

    import boto3

    from imgpub.sandbox.catalog_assets import ingestion_trust_policy

    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"])
    trust = ingestion_trust_policy()
    try:
        return str(iam.get_role(RoleName=DEMO_MARKETPLACE_ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName=DEMO_MARKETPLACE_ROLE, AssumeRolePolicyDocument=json.dumps(trust)
        )
        return str(role["Role"]["Arn"])


def list_regions(env: dict[str, str]) -> list[str]:
    import boto3

    ec2 = boto3.client(
        "ec2", region_name=env.get("AWS_DEFAULT_REGION"), endpoint_url=env["AWS_ENDPOINT_URL"]
    )
    return sorted(r["RegionName"] for r in ec2.describe_regions()["Regions"])


#: Stage → the flags the demo passes it. Each stage adds its entry when it lands.
DemoFlags = Callable[[DemoWorld], dict[str, str | None]]
DEMO_FLAGS: dict[str, DemoFlags] = {}


def demo_stage(name: str) -> Callable[[DemoFlags], DemoFlags]:
    def register(fn: DemoFlags) -> DemoFlags:
        DEMO_FLAGS[name] = fn
        return fn

    return register


@demo_stage("build-ami")
def _build_flags(world: DemoWorld) -> dict[str, str | None]:
    """The release starts here: the sparse disk becomes an AMI, boot-tested."""
    return {"image": str(world.image), "region": world.region, "test": "true"}


@demo_stage("mirror-ami")
def _mirror_flags(world: DemoWorld) -> dict[str, str | None]:
    # The x86_64 AMI is build-ami's (read from the results document, as a workflow chains
    # it) or, without build-ami, the registered test AMI; the aarch64 one is registered.
    built = [a.image_id for a in built_amis(ResultsDocument.load(world.results))]
    sources = [*(built or [world.ami_id]), world.arm_ami_id]
    return {
        "source-ami": ",".join(a for a in sources if a),
        "source-region": world.region,
        "regions": "us-east-2,eu-west-1,eu-central-1,ap-southeast-2",
        "make-public": "true",
        "ssm-parameters": "/imgpub-demo/{arch}/latest\n/imgpub-demo/{arch}/{version}",
        "csv-output": str(world.workdir / "amis.csv"),
        "md-output": str(world.workdir / "amis.md"),
    }


@demo_stage("marketplace-changeset")
def _marketplace_flags(world: DemoWorld) -> dict[str, str | None]:
    # ami-id empty: the us-east-1 AMIs mirror-ami recorded; public-product false: both go
    # to the dev/test product of the built-in AlmaLinux table, as a rehearsal would.
    return {"access-role-arn": world.marketplace_role}


@demo_stage("azure-gallery")
def _azure_flags(world: DemoWorld) -> dict[str, str | None]:
    return {
        "image": str(world.image),
        "dry-run": "false",
        "create-definitions": "true",
    }


@demo_stage("ecr-mirror")
def _ecr_flags(world: DemoWorld) -> dict[str, str | None]:
    """A two-platform image and a chart in the sandbox's registry, mirrored into its ECR."""
    from imgpub.sandbox.oci_seed import chart_archive, seed_chart, seed_image

    source = os.environ["IMGPUB_REGISTRY"]
    seed_image(source, "camunda/zeebe:8.3.4", seed="imgpub-demo")
    values = f"image:\n  registry: {source}\n  repository: camunda/zeebe\n  tag: 8.3.4\n"
    chart = seed_chart(source, "charts/zeebe", chart_archive("zeebe", "1.0.0", values))
    return {
        "images": f"{source}/camunda/zeebe:8.3.4",
        "registry": os.environ["IMGPUB_ECR_REGISTRY"],
        "tls-verify": "false",
        "chart": chart,
        "chart-repository": "zeebe-chart",
        "rewrite-values": "true",
        "product-sku": "prod-imgpubdemo1",
        "entitlements": "ReadOnlyUsers",
        "license-check-image": f"{os.environ['IMGPUB_ECR_REGISTRY']}/imgpub-license-check:0.1.0",
    }


#: Stages that need sandbox services besides moto, and which.
DEMO_NEEDS: dict[str, tuple[str, ...]] = {"ecr-mirror": ("registry", "ecr")}


@demo_stage("wiki-pr")
def _wiki_flags(world: DemoWorld) -> dict[str, str | None]:
    from imgpub.sandbox.fake_services import SANDBOX_WIKI_REPOSITORY

    # GITHUB_API_URL and GITHUB_TOKEN point at the sandbox's GitHub; the webhook is its own.
    return {
        "repository": SANDBOX_WIKI_REPOSITORY,
        "labels": "aws,automated",
        "reviewers": "cloud-sig",
        "notify-webhook": os.environ.get("IMGPUB_SANDBOX_WEBHOOK"),
    }


def _demo_stages(gha: Gha) -> dict[str, StageModule]:
    """The stages the demo can run here; one whose extra is missing is skipped with a warning."""
    stages: dict[str, StageModule] = {}
    for name, info in present_stages().items():
        try:
            stages[name] = cast(StageModule, load_stage(info))
        except MissingExtra as exc:
            gha.warning(f"skipping {name}: {exc}")
    return stages


def run_demo(gha: Gha, *, keep: bool = False, again: bool = False) -> int:
    """The release in a fresh sandbox; with ``again``, once more on the same sandbox.

    The second run is a new run (a new results document, as a new workflow run has) against
    the same clouds, so every target must be found in place: ``existed``. It runs in the same
    process on purpose: the sandbox's services die with the process that started them (so
    that a killed demo leaves nothing behind), and a sandbox outliving its command would
    give that up.
    """
    from imgpub.sandbox import Sandbox

    stages = _demo_stages(gha)
    workdir = Path(tempfile.mkdtemp(prefix="imgpub-demo-"))
    code = EXIT_OK
    try:
        with (
            Sandbox(workdir=workdir / "sandbox") as sandbox,
            process_environment({**os.environ, **sandbox.env}),
        ):
            intro = Summary().heading("imgpub demo: a release rehearsed in the local sandbox")
            intro.table(["service", "where"], sandbox.describe())
            gha.write_summary(intro)
            if "aws" not in sandbox.running:
                gha.error("the local EC2 (moto) did not start; the demo needs it")
                return 1
            world = _prepare(gha, workdir, dict(sandbox.env), stages)
            code = _release(gha, world, stages, sandbox)
            if again and code != EXIT_OK:
                gha.error(f"not running --again: the first run ended with exit code {code}")
            elif again:
                world = replace(world, results=workdir / "results-again.json")
                gha.write_summary(
                    Summary().heading("imgpub demo --again: the same release, the same sandbox")
                )
                code = _release(gha, world, stages, sandbox) or _all_existed(gha, world.results)
    finally:
        if keep:
            gha.info(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


def _prepare(
    gha: Gha, workdir: Path, env: dict[str, str], stages: dict[str, StageModule]
) -> DemoWorld:
    """The account as a release finds it: the disk image, the aarch64 build, the role."""
    regions = list_regions(env)
    image = workdir / DEMO_IMAGE_NAME
    size = make_demo_disk(image)
    if "build-ami" in stages:
        ami_id, region = "", env.get("AWS_DEFAULT_REGION", "us-east-1")
    else:
        ami_id, region = register_demo_ami(env)
    arm_ami_id, _ = register_demo_ami(env, DEMO_ARM_AMI_NAME, "aarch64")
    role = create_marketplace_role(env)
    world = DemoWorld(workdir, image, ami_id, region, workdir / "results.json", arm_ami_id, role)
    prep = Summary().heading("Prepared", 3)
    prep.bullets(
        [
            f"local EC2 regions: {len(regions)} ({', '.join(regions[:6])}, …)",
            f"test AMI {ami_id} registered in {region} as '{DEMO_AMI_NAME}'"
            if ami_id
            else f"build-ami makes the AMI (x86_64) in {region} from the disk image below",
            f"the aarch64 build {arm_ami_id} registered as '{DEMO_ARM_AMI_NAME}'",
            f"Marketplace ingestion role {role}",
            f"sparse disk image {image.name}: {size // (1024 * 1024)} MiB virtual, 2 MiB of data",
        ]
    )
    gha.write_summary(prep)
    return world


def _release(gha: Gha, world: DemoWorld, stages: dict[str, StageModule], sandbox: Sandbox) -> int:
    """Every stage in release order, each reading the document the one before it wrote."""
    code = EXIT_OK
    for name in [n for n in STAGES if n in DEMO_FLAGS and n in stages]:  # release order
        if name == "azure-gallery" and "azure" not in sandbox.running:
            gha.warning("skipping azure-gallery: Azurite is not installed")
            continue
        lacking = [s for s in DEMO_NEEDS.get(name, ()) if s not in sandbox.running]
        if lacking:
            gha.warning(f"skipping {name}: sandbox services {lacking} are not running")
            continue
        flags = {"results": str(world.results), **DEMO_FLAGS[name](world)}
        with gha.group(f"imgpub {name}"):
            stage_code = run_stage(stages[name], flags=flags, env=os.environ, gha=gha)
        gha.info(f"imgpub {name}: exit code {stage_code}")
        code = code or stage_code
    _print_results(gha, world.results)
    _notify_release(gha, world.results, sandbox)
    return code


def _all_existed(gha: Gha, path: Path) -> int:
    """1 unless every target of the second run was found in place."""
    doc = ResultsDocument.load(path)
    changed = [
        f"{name} {t.key}: {t.state}"
        for name, section in doc.stages.items()
        for t in section.targets
        if t.state != "existed"
    ]
    if not doc.stages or changed:
        gha.error("the second run changed or missed: " + ("; ".join(changed) or "no stage ran"))
        return 1
    count = sum(len(s.targets) for s in doc.stages.values())
    gha.info(f"imgpub demo --again: all {count} targets existed; nothing was changed")
    return EXIT_OK


def _print_results(gha: Gha, path: Path) -> None:
    """The one results document as one table: every stage's targets, in release order."""
    doc = ResultsDocument.load(path)
    summary = Summary().heading("What each stage did (from the results document)")
    if not doc.stages:
        summary.text("No stage has landed in this installation yet; the sandbox works.")
        gha.write_summary(summary)
        return
    summary.bullets(
        [
            f"{name}: {section.status} ("
            + (
                ", ".join(f"{n} {state}" for state, n in sorted(section.counts().items()))
                or "no targets"
            )
            + ")"
            for name, section in doc.stages.items()
        ]
    )
    rows = [
        [name, t.kind, t.region or "", _short_id(t.resource_id or ""), t.state, t.error or ""]
        for name, section in doc.stages.items()
        for t in section.targets
    ]
    header = ["stage", "target", "region", "id", "state", "error"]
    if not any(row[-1] for row in rows):  # a terminal is narrow: no empty error column
        header, rows = header[:-1], [row[:-1] for row in rows]
    summary.table(header, rows)
    gha.write_summary(summary)


def _short_id(resource_id: str) -> str:
    """An ARM resource ID from its gallery on (the document keeps the whole ID)."""
    _, galleries, rest = resource_id.partition("/providers/Microsoft.Compute/galleries/")
    return rest if galleries else resource_id


def _notify_release(gha: Gha, path: Path, sandbox: Sandbox) -> None:
    """The release's digest posted to the sandbox's webhook, then what the webhook got."""
    webhook = sandbox.env.get("IMGPUB_SANDBOX_WEBHOOK")
    if not webhook or not path.exists():
        return
    from imgpub.notify.command import run_notify
    from imgpub.sandbox.fake_client import FakeClient

    run_notify({"results": str(path), "notify-webhook": webhook}, os.environ, gha)
    received = FakeClient(sandbox.running["webhook"].info["endpoint"]).call("messages")
    summary = Summary().heading("Notifications the local webhook received")
    for message in received:
        summary.code(str(message["text"]))
    gha.write_summary(summary)
