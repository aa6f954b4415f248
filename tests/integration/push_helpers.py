"""Staged images, credentials and in-process runs of `imgpub push` for the push tests."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import boto3

from imgpub.gha import Gha
from imgpub.push.examples import example_mappings
from imgpub.stage import run_stage
from imgpub.stages import STAGES, load_stage
from tests.integration.build_helpers import make_image

IMAGE = "rhel-9.6-20250522.0.x86_64.raw"
SECRET_KEY = "push-secret-key-0xDEADBEEF"
ACCESS_ID = "AKIAPUSHTESTKEY00001"


def staged(root: Path, name: str = "rhel-ec2", image: str = IMAGE, **meta: str) -> Path:
    """A staged folder: one sparse raw image and a metadata.yaml naming it."""
    folder = root / f"staged-{name}"
    folder.mkdir(parents=True)
    make_image(folder, name=image)
    lines = [f"name: {name}", *(f"{k}: {v}" for k, v in meta.items())]
    (folder / "metadata.yaml").write_text("\n".join(lines) + "\n")
    return folder


def mapping_file(root: Path, *names: str) -> Path:
    """The example mappings (only the named entities, when names are given)."""
    entries = [e for e in example_mappings() if not names or e["name"] in names]
    path = root / "mapping.json"
    path.write_text(json.dumps(entries))
    return path


def aws_credentials(alias: str = "aws-us-storage", **auth: Any) -> dict[str, Any]:
    base = {
        "AWS_IMAGE_ACCESS_ID": ACCESS_ID,
        "AWS_IMAGE_SECRET_ACCESS": SECRET_KEY,
        "AWS_REGION": "us-east-1",
    }
    return {"marketplace_account": alias, "auth": {**base, **auth}}


def as_file(root: Path, doc: dict[str, Any]) -> str:
    path = root / f"creds-{doc['marketplace_account']}.json"
    path.write_text(json.dumps(doc))
    return str(path)


def as_base64(doc: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def push(root: Path, **flags: str) -> tuple[int, dict[str, Any], str]:
    """Run push in this process: (exit code, the results document or {}, the log)."""
    out = io.StringIO()
    gha = Gha(os.environ, stdout=out, stderr=out)
    given = {"results": str(root / "r.json"), **{k.replace("_", "-"): v for k, v in flags.items()}}
    code = run_stage(load_stage(STAGES["push"]), flags=given, env=os.environ, gha=gha)
    path = root / "r.json"
    doc = json.loads(path.read_text()) if path.exists() else {}
    return code, doc, out.getvalue()


def everything_written(root: Path) -> str:
    """The results document and every chain document, as text."""
    return "\n".join(p.read_text() for p in sorted(root.rglob("*.json")) if "creds" not in p.name)


def images_named(region: str, name: str) -> list[dict[str, Any]]:
    ec2 = boto3.client("ec2", region_name=region)
    return ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])[
        "Images"
    ]


def is_public(region: str, image_id: str) -> bool:
    ec2 = boto3.client("ec2", region_name=region)
    perms = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    return any(p.get("Group") == "all" for p in perms["LaunchPermissions"])
