"""The license-check hook's runtime image: hadolint clean, non-root, and what the hook expects."""

from __future__ import annotations

from .checks import REPO, check_hadolint

DOCKERFILE = REPO / "license-check.Dockerfile"


def test_hadolint_clean() -> None:
    assert check_hadolint(DOCKERFILE) == []


def test_runs_as_the_numeric_user_the_hook_job_requires() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    hook = (REPO / "lib/imgpub/templates/helm/license-check-job.yaml.j2").read_text(
        encoding="utf-8"
    )
    assert "USER 65532:65532" in text and "runAsUser: 65532" in hook
    assert 'ENTRYPOINT ["/usr/local/bin/imgpub", "license-check"]' in text
    assert '"/opt/imgpub-src[aws]"' in text, "boto3 is all the check needs"
