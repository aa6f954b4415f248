"""The immutable-tag guard: same digest existed, another digest refused naming both."""

from __future__ import annotations

from imgpub.oci.reference import parse_reference
from imgpub.registry.model import ImageJob
from imgpub.registry.plan import ImageAction, decide_image

JOB = ImageJob(parse_reference("docker.io/a/b:1"), "b", "1", ("linux/amd64",))
DEST = parse_reference("709825985650.dkr.ecr.us-east-1.amazonaws.com/acme/b:1")
A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def decide(existing, platforms=("linux/amd64", "linux/arm64")):
    return decide_image(
        JOB,
        DEST,
        digest=A,
        platforms=platforms,
        media_type="x",
        existing=existing,
        marketplace=True,
    )


def test_the_guard():
    assert decide(None).action is ImageAction.COPY
    assert decide(A).action is ImageAction.EXISTS and decide(A).state == "existed"
    refused = decide(B)
    assert refused.action is ImageAction.CONFLICT and refused.state == "failed"
    assert A in refused.problem and B in refused.problem and "never be changed" in refused.problem


def test_a_required_platform_missing_is_refused():
    plan = decide(None, platforms=("linux/arm64",))
    assert plan.action is ImageAction.PLATFORMS and "linux/amd64" in plan.problem
