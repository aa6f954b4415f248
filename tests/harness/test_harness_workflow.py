"""The workflow runner (job graph, matrix, conditions, outputs, artifacts, stubs), on tiny
reusable workflows whose steps are shell: no service is needed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from .runner import HarnessError
from .workflow_runner import expand_matrix, job_order, run_workflow

HEADER = """\
name: t
on:
  workflow_call:
    inputs:
      greeting:
        type: string
        required: true
      loud:
        type: boolean
        default: false
    secrets:
      TOKEN:
        required: false
    outputs:
      joined:
        value: ${{ jobs.join.outputs.joined }}
      secret-out:
        value: ${{ jobs.join.outputs.leaky }}
permissions: {}
jobs:
"""


def _workflow(tmp_path: Path, jobs: str) -> Path:
    path = tmp_path / "wf.yml"
    path.write_text(HEADER + textwrap.indent(textwrap.dedent(jobs), "  "), encoding="utf-8")
    return path


GRAPH = """\
join:
  needs: [legs]
  runs-on: ubuntu-latest
  outputs:
    joined: ${{ steps.j.outputs.joined }}
    leaky: ${{ steps.j.outputs.leaky }}
  steps:
    - id: j
      shell: bash
      env:
        X: ${{ needs.legs.outputs.x }}
        Y: ${{ needs.legs.outputs.y }}
        WORD: ${{ inputs.loud && 'HELLO' || inputs.greeting }}
        TOKEN: ${{ secrets.TOKEN }}
      run: |
        echo "joined=$WORD $X $Y" >> "$GITHUB_OUTPUT"
        echo "leaky=token $TOKEN" >> "$GITHUB_OUTPUT"
legs:
  runs-on: ubuntu-latest
  strategy:
    matrix:
      arch: [x, y]
  outputs:
    x: ${{ steps.leg.outputs.x }}
    y: ${{ steps.leg.outputs.y }}
  steps:
    - id: leg
      shell: bash
      env:
        ARCH: ${{ matrix.arch }}
      run: echo "${ARCH}=built-${ARCH}" >> "$GITHUB_OUTPUT"
"""


def test_jobs_run_in_needs_order_matrix_legs_and_outputs_meet(tmp_path):
    run = run_workflow(
        _workflow(tmp_path, GRAPH), {"greeting": "hi"}, {"TOKEN": "s3cret"}, root=tmp_path / "r"
    )
    assert run.order == ["legs", "join"]
    assert [leg["arch"] for leg in run.jobs["legs"].matrix] == ["x", "y"]
    assert run.jobs["legs"].outputs == {"x": "built-x", "y": "built-y"}
    assert run.outputs["joined"] == "hi built-x built-y"
    assert run.outputs["secret-out"] == "", "an output holding a secret is dropped"
    loud = run_workflow(_workflow(tmp_path, GRAPH), {"greeting": "hi", "loud": "true"})
    assert loud.outputs["joined"].startswith("HELLO "), "a boolean input is a boolean"


def test_a_failed_need_skips_a_job_unless_its_condition_says_otherwise(tmp_path):
    jobs = """\
    first:
      runs-on: ubuntu-latest
      steps:
        - shell: bash
          run: exit 3
    next:
      needs: first
      runs-on: ubuntu-latest
      steps:
        - shell: bash
          run: echo never
    report:
      needs: [first, next]
      if: ${{ always() && needs.first.result == 'failure' && needs.next.result == 'skipped' }}
      runs-on: ubuntu-latest
      steps:
        - shell: bash
          run: echo reported
    """
    run = run_workflow(_workflow(tmp_path, jobs), {"greeting": "hi"})
    assert {j: r.result for j, r in run.jobs.items()} == {
        "first": "failure",
        "next": "skipped",
        "report": "success",
    }
    assert run.jobs["first"].legs[0].exit_code == 3


def test_the_call_is_checked_before_anything_runs(tmp_path):
    path = _workflow(tmp_path, GRAPH)
    with pytest.raises(HarnessError, match="greeting is required"):
        run_workflow(path, {})
    with pytest.raises(HarnessError, match="colour is not defined"):
        run_workflow(path, {"greeting": "hi", "colour": "red"})
    with pytest.raises(HarnessError, match="OTHER is not defined"):
        run_workflow(path, {"greeting": "hi"}, {"OTHER": "x"})
    with pytest.raises(HarnessError, match="not a boolean"):
        run_workflow(path, {"greeting": "hi", "loud": "yes"})


def test_job_order_refuses_cycles_and_unknown_jobs():
    assert job_order({"b": {"needs": "a"}, "a": {}, "c": {"needs": ["a", "b"]}}) == ["a", "b", "c"]
    with pytest.raises(HarnessError, match="a cycle"):
        job_order({"a": {"needs": "b"}, "b": {"needs": "a"}})
    with pytest.raises(HarnessError, match="unknown jobs"):
        job_order({"a": {"needs": "zz"}})


def test_matrix_product_exclude_include():
    strategy = {
        "matrix": {
            "arch": ["x86_64", "aarch64"],
            "major": [9, 10],
            "exclude": [{"arch": "aarch64", "major": 9}],
            "include": [{"arch": "x86_64", "extra": "gen1"}, {"arch": "riscv64"}],
        }
    }
    assert expand_matrix(strategy) == [
        {"arch": "x86_64", "major": 9, "extra": "gen1"},
        {"arch": "x86_64", "major": 10, "extra": "gen1"},
        {"arch": "aarch64", "major": 10},
        {"arch": "riscv64"},
    ]
    assert expand_matrix(None) == [{}]


ARTIFACTS = """\
make:
  runs-on: ubuntu-latest
  strategy:
    matrix:
      n: [one, two]
  steps:
    - shell: bash
      env:
        N: ${{ matrix.n }}
      run: echo "$N" > "$RUNNER_TEMP/doc.txt"
    - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02
      with:
        name: doc-${{ matrix.n }}
        path: ${{ runner.temp }}/doc.txt
    - id: again
      continue-on-error: true
      uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02
      with:
        name: doc-${{ matrix.n }}
        path: ${{ runner.temp }}/doc.txt
    - id: missing
      continue-on-error: true
      uses: actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093
      with:
        name: nothing-by-this-name
use:
  needs: make
  runs-on: ubuntu-latest
  outputs:
    joined: ${{ steps.read.outputs.joined }}
  steps:
    - uses: actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093
      with:
        pattern: doc-*
        path: ${{ runner.temp }}/docs
    - id: read
      shell: bash
      run: echo "joined=$(cat "$RUNNER_TEMP"/docs/*/doc.txt | tr '\\n' ' ')" >> "$GITHUB_OUTPUT"
"""


def test_artifacts_pass_between_jobs_as_the_service_keeps_them(tmp_path):
    run = run_workflow(_workflow(tmp_path, ARTIFACTS), {"greeting": "hi"})
    assert run.artifacts.names() == ["doc-one", "doc-two"]
    leg = run.jobs["make"].legs[0]
    assert leg.step("again").outcome == "failure", "a second upload of a name is a conflict"
    assert leg.step("missing").outcome == "failure"
    assert "Artifact not found for name: nothing-by-this-name" in leg.stdout
    assert run.jobs["use"].outputs["joined"] == "one two "


AWS = """\
{name}:
  runs-on: ubuntu-latest
  permissions: {permissions}
  outputs:
    region: ${{{{ steps.show.outputs.region }}}}
  steps:
    - uses: aws-actions/configure-aws-credentials@7474bc4690e29a8392af63c5b98e7449536d5c3a
      with:
        role-to-assume: arn:aws:iam::123456789012:role/r
        aws-region: eu-west-1
    - id: show
      shell: bash
      run: echo "region=$AWS_REGION" >> "$GITHUB_OUTPUT"; echo "key $AWS_SECRET_ACCESS_KEY"
"""


def test_aws_credentials_only_where_the_job_may_mint_an_oidc_token(tmp_path):
    jobs = AWS.format(name="oidc", permissions="{id-token: write}") + AWS.format(
        name="plain", permissions="{}"
    )
    creds = {"AWS_ACCESS_KEY_ID": "AKIATEST", "AWS_SECRET_ACCESS_KEY": "very-secret"}
    run = run_workflow(_workflow(tmp_path, jobs), {"greeting": "hi"}, aws_credentials=creds)
    assert run.jobs["oidc"].result == "success"
    assert run.jobs["oidc"].outputs == {"region": "eu-west-1"}
    assert "very-secret" in run.jobs["oidc"].legs[0].mask_values
    assert run.jobs["plain"].result == "failure"
    assert "id-token" in run.jobs["plain"].legs[0].stdout


def test_an_action_without_a_stub_is_refused(tmp_path):
    jobs = """\
    a:
      runs-on: ubuntu-latest
      steps:
        - uses: someone/else@ea165f8d65b6e75b540449e92b4886f43607fa02
    """
    with pytest.raises(HarnessError, match="no stub registered for uses: someone/else"):
        run_workflow(_workflow(tmp_path, jobs), {"greeting": "hi"})


def test_azure_login_needs_its_ids_and_an_oidc_token(tmp_path):
    jobs = """\
    ok:
      runs-on: ubuntu-latest
      permissions: {id-token: write}
      steps:
        - uses: azure/login@a457da9ea143d694b1b9c7c869ebb04ebe844ef5
          with: {client-id: c, tenant-id: t, subscription-id: s}
    no-token:
      runs-on: ubuntu-latest
      permissions: {}
      steps:
        - uses: azure/login@a457da9ea143d694b1b9c7c869ebb04ebe844ef5
          with: {client-id: c, tenant-id: t, subscription-id: s}
    no-ids:
      runs-on: ubuntu-latest
      permissions: {id-token: write}
      steps:
        - uses: azure/login@a457da9ea143d694b1b9c7c869ebb04ebe844ef5
          with: {client-id: c}
    """
    run = run_workflow(_workflow(tmp_path, jobs), {"greeting": "hi"})
    assert {j: r.result for j, r in run.jobs.items()} == {
        "ok": "success",
        "no-token": "failure",
        "no-ids": "failure",
    }
    assert "tenant-id, subscription-id not supplied" in run.jobs["no-ids"].legs[0].stdout
