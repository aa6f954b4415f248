"""Bad input is exit 2 with one line naming the input and the fix, and changes nothing: no
mutating call reaches the fake catalog or the local EC2, and no results document is
written. Run in-process (the stage module through run_stage) to keep the matrix cheap."""

from __future__ import annotations

import io
import json
import os

import boto3
import pytest

from imgpub.gha import Gha
from imgpub.stage import run_stage
from imgpub.stages import marketplace_changeset
from tests.integration.marketplace_helpers import mutating_calls, release
from tests.integration.mirror_helpers import make_source
from tests.integration.mirror_helpers import mutating_calls as ec2_mutating


def run(tmp_path, flags):
    out, err = io.StringIO(), io.StringIO()
    gha = Gha(dict(os.environ), stdout=out, stderr=err)
    code = run_stage(
        marketplace_changeset,
        flags={"results": str(tmp_path / "r.json"), **flags},
        env=os.environ,
        gha=gha,
    )
    return code, out.getvalue(), err.getvalue()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def case_flags(tmp_path, x86, arm, role):
    """Each bad input → (flags, the input the error must name)."""
    west = boto3.client("ec2", region_name="us-west-2")
    in_west = make_source("us-west-2", "AlmaLinux OS 9.6.20250522 x86_64", "9.6", "x86_64")
    untagged = west.register_image(Name="untagged image", RootDeviceName="/dev/sda1")["ImageId"]
    untagged_east = boto3.client("ec2", region_name="us-east-1").register_image(
        Name="AlmaLinux OS 9.6 x86_64", RootDeviceName="/dev/sda1"
    )["ImageId"]
    debian = make_source("us-east-1", "Debian 12 x86_64", "12.20250522", "x86_64")
    ok = {"ami-id": f"{x86},{arm}", "access-role-arn": role}
    one = {"ami-id": x86, "access-role-arn": role}
    bad_rules = "products:\n  - product-id: prod-a\n    match: {colour: blue}\n"
    not_json = write(tmp_path, "t.j2", "[{{ ami_id }}]")
    no_ami = write(tmp_path, "u.j2", '[{"ChangeType": "AddDeliveryOptions", "Entity": '
                   '{"Type": "AmiProduct@1.0", "Identifier": "prod-x"}, "DetailsDocument": {}}]')  # fmt: skip
    return {
        "malformed-ami": ({**ok, "ami-id": "ami-12"}, "ami-id"),
        "ami-in-another-region": ({**ok, "ami-id": in_west}, "ami-id"),
        "ami-without-version-tag": ({**ok, "ami-id": untagged_east}, "ami-id"),
        "mirror-map-without-us-east-1": (
            {**ok, "ami-id": json.dumps({untagged: {"us-west-2": untagged}})},
            "ami-id",
        ),
        "no-ami-and-no-results": ({"access-role-arn": role}, "ami-id"),
        "malformed-product": ({**ok, "product-id": "prod x!"}, "product-id"),
        "unknown-product": ({**ok, "product-id": "prod-doesnotexist1"}, "product-id"),
        "missing-products-file": ({**ok, "products": "/nonexistent/p.yml"}, "products"),
        "bad-products-rule": ({**ok, "products": write(tmp_path, "p.yml", bad_rules)}, "products"),
        "no-rule-matches": ({**ok, "ami-id": debian}, "products"),
        "malformed-role": ({**ok, "access-role-arn": "role/marketplace"}, "access-role-arn"),
        "role-needed-with-product-id": (
            {"ami-id": x86, "product-id": "prod-t4oyq2p42jn2u"},
            "access-role-arn",
        ),
        "undefined-template-variable": ({**ok, "version-title": "{{ colour }}"}, "version-title"),
        "template-syntax": ({**ok, "release-notes": "{% if %}"}, "release-notes"),
        "same-title-twice": ({**ok, "version-title": "{{ version }}"}, "version-title"),
        "bad-security-group": ({**ok, "security-groups": "tcp 99999 0.0.0.0/0"}, "security-groups"),
        "bad-port": ({**ok, "scanning-port": "0"}, "scanning-port"),
        "instance-type-of-another-architecture": ({**one, "instance-type": "t4g.small"}, "instance-type"),
        "instance-type-not-offered": ({**one, "instance-type": "x1e.32xlarge"}, "instance-type"),
        "keep-zero": ({**ok, "keep-versions": "0"}, "keep-versions"),
        "keep-without-wait": ({**ok, "keep-versions": "2", "wait": "false"}, "keep-versions"),
        "bad-timeout": ({**ok, "timeout": "soon"}, "timeout"),
        "bad-boolean": ({**ok, "public-product": "yes"}, "public-product"),
        "template-not-json": ({**ok, "template": not_json}, "template"),
        "template-without-the-ami": ({**ok, "template": no_ami}, "template"),
        "bad-user-name": ({**ok, "user-name": "9lives"}, "user-name"),
    }  # fmt: skip


CASES = [
    "malformed-ami", "ami-in-another-region", "ami-without-version-tag",
    "mirror-map-without-us-east-1", "no-ami-and-no-results", "malformed-product",
    "unknown-product", "missing-products-file", "bad-products-rule", "no-rule-matches",
    "malformed-role", "role-needed-with-product-id", "undefined-template-variable",
    "template-syntax", "same-title-twice", "bad-security-group", "bad-port",
    "instance-type-of-another-architecture", "instance-type-not-offered", "keep-zero",
    "keep-without-wait", "bad-timeout", "bad-boolean", "template-not-json",
    "template-without-the-ami", "bad-user-name",
]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_exit_2_naming_it_with_no_changing_call(tmp_path, catalog, ec2_control, case):
    x86, arm, role = release(catalog)
    flags, needle = case_flags(tmp_path, x86, arm, role)[case]
    catalog.log.clear()
    ec2_control.reset_stats()
    code, out, err = run(tmp_path, flags)
    assert code == 2, out + err
    errors = [ln for ln in err.splitlines() if ln.startswith("error")]
    assert len(errors) == 1 and f"input '{needle}'" in errors[0], err
    assert "Traceback" not in out + err
    assert "Nothing was changed" in out
    assert mutating_calls(catalog) == {}
    assert ec2_mutating(ec2_control.stats()) == {}
    assert not (tmp_path / "r.json").exists()


def test_no_credentials_is_exit_2_before_any_call(tmp_path, catalog, monkeypatch):
    x86, _, role = release(catalog)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    catalog.log.clear()
    code, _, err = run(tmp_path, {"ami-id": x86, "access-role-arn": role})
    assert code == 2 and "no AWS credentials" in err
    assert catalog.log.all() == []
