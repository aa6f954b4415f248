"""Running ecr-mirror against the sandbox: moto's ECR API, a source registry, the ECR stand-in."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import boto3

from imgpub.gha import Gha
from imgpub.stage import run_stage
from imgpub.stages import ecr_mirror
from tests.integration.oci_helpers import AccessLog


@dataclass
class Ecr:
    """One test's view of the sandbox for ecr-mirror."""

    source: str  # host:port of the anonymous source registry
    host: str  # host:port of the ECR stand-in
    log: AccessLog
    tmp: Path

    def flags(self, **extra: str) -> dict[str, str | None]:
        base = {
            "registry": self.host,
            "tls-verify": "false",
            "results": str(self.tmp / "results.json"),
        }
        return {**base, **{k.replace("_", "-"): v for k, v in extra.items()}}

    def run(self, **flags: str) -> tuple[int, str, dict]:
        out = io.StringIO()
        env = dict(os.environ)
        gha = Gha(env, stdout=out, stderr=out)
        code = run_stage(ecr_mirror, flags=self.flags(**flags), env=env, gha=gha)
        path = self.tmp / "results.json"
        doc = json.loads(path.read_text()) if path.exists() else {}
        return code, out.getvalue(), doc

    def repositories(self) -> dict[str, dict]:
        ecr = boto3.client("ecr", region_name="us-east-1")
        return {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}


def section(doc: dict) -> dict:
    return doc["stages"]["ecr-mirror"]


def states(doc: dict) -> dict[str, str]:
    return {t["key"]: t["state"] for t in section(doc)["targets"]}
