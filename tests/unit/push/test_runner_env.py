"""What environment each stage run gets: its account's credentials and nothing of the job's."""

from __future__ import annotations

from imgpub.push.model import Credentials
from imgpub.push.plan import StageRun
from imgpub.push.runner import run_env

JOB = {
    "PATH": "/usr/bin",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
    "AWS_ACCESS_KEY_ID": "JOBKEY",
    "AWS_SECRET_ACCESS_KEY": "JOBSECRET",
    "AZURE_CLIENT_SECRET": "JOBAZURE",
    "INPUT_CREDENTIALS": "the push's own input",
    "INPUT_NOTIFY_WEBHOOK": "https://hooks.invalid/x",
}
KEYS = Credentials(
    "aws-na",
    {
        "AWS_IMAGE_ACCESS_ID": "IMG",
        "AWS_IMAGE_SECRET_ACCESS": "IMGS",
        "AWS_MARKETPLACE_ACCESS_ID": "MKT",
        "AWS_MARKETPLACE_SECRET_ACCESS": "MKTS",
        "AWS_ACCESS_ROLE_ARN": "arn:aws:iam::1:role/ingest",
        "AWS_SNAPSHOT_ACCOUNTS": ["111122223333"],
        "AWS_REGION": "eu-west-1",
    },
)


def test_image_keys_for_builds_marketplace_keys_for_change_sets():
    build = run_env(StageRun("build-ami", {}), KEYS, JOB, frozenset(), "")
    assert (build["AWS_ACCESS_KEY_ID"], build["AWS_SECRET_ACCESS_KEY"]) == ("IMG", "IMGS")
    assert build["AWS_REGION"] == build["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert build["INPUT_SHARE_ACCOUNTS"] == "111122223333"
    assert "INPUT_ACCESS_ROLE_ARN" not in build
    market = run_env(StageRun("marketplace-changeset", {}), KEYS, JOB, frozenset(), "")
    assert (market["AWS_ACCESS_KEY_ID"], market["AWS_SECRET_ACCESS_KEY"]) == ("MKT", "MKTS")
    assert market["INPUT_ACCESS_ROLE_ARN"] == "arn:aws:iam::1:role/ingest"
    assert "INPUT_SHARE_ACCOUNTS" not in market
    for env in (build, market):
        assert "INPUT_CREDENTIALS" not in env and "INPUT_NOTIFY_WEBHOOK" not in env
        assert "AZURE_CLIENT_SECRET" not in env
        assert env["AWS_ENDPOINT_URL"] == JOB["AWS_ENDPOINT_URL"] and env["PATH"] == "/usr/bin"


def test_skip_share_keeps_the_credentials_accounts_out():
    env = run_env(StageRun("mirror-ami", {}), KEYS, JOB, frozenset({"share"}), "")
    assert "INPUT_SHARE_ACCOUNTS" not in env


def test_a_role_is_assumed_with_the_token_file_and_no_static_key():
    role = Credentials("aws-oidc", {"AWS_ROLE_ARN": "arn:aws:iam::1:role/push"})
    env = run_env(StageRun("build-ami", {}), role, JOB, frozenset(), "/tmp/token")
    assert env["AWS_ROLE_ARN"] == "arn:aws:iam::1:role/push"
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/tmp/token"
    assert env["AWS_ROLE_SESSION_NAME"] == "imgpub-push-aws-oidc"
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env


def test_azure_keys_become_the_sdk_variables():
    creds = Credentials(
        "azure-na",
        {"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_API_SECRET": "s",
         "AZURE_STORAGE_CONNECTION_STRING": "cs"},
    )  # fmt: skip
    env = run_env(StageRun("azure-gallery", {}), creds, JOB, frozenset(), "")
    assert (env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"]) == (
        "t", "c", "s",
    )  # fmt: skip
    assert env["AZURE_STORAGE_CONNECTION_STRING"] == "cs"
    assert "AWS_ACCESS_KEY_ID" not in env


def test_the_run_environment_is_the_process_environment_for_the_run(monkeypatch):
    import os

    from imgpub.process_env import process_environment

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "JOBKEY")
    before = dict(os.environ)
    with process_environment({"AWS_ACCESS_KEY_ID": "IMG", "PATH": "/usr/bin"}):
        assert dict(os.environ) == {"AWS_ACCESS_KEY_ID": "IMG", "PATH": "/usr/bin"}
    assert dict(os.environ) == before
