"""mirror-ami as users run it (the CLI, a real process) against the local EC2.

The engine's own tests cover its rules; these prove the stage's promises end to end:
exit codes, outputs, the results document, tables on disk, no change on bad input or a
dry run, repair of a failed region, and no duplicate after the process is killed mid-way.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from imgpub.results import ResultsDocument
from tests.integration.mirror_helpers import (
    calls_that_may_change,
    images_by_source,
    mutating_calls,
    release_sources,
)

REGIONS = "us-east-2,eu-west-1,ap-southeast-2"


def imgpub(tmp_path, *args, wait=True, env=None):
    argv = [
        sys.executable,
        "-m",
        "imgpub.cli",
        "mirror-ami",
        "--results",
        str(tmp_path / "r.json"),
        *args,
    ]
    if not wait:
        return subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)


def wait_for_copies(ec2_control, proc, at_least):
    """Block until the local EC2 has seen ``at_least`` CopyImage calls (the run is mid-way)."""
    deadline = time.monotonic() + 60
    started = 0
    while time.monotonic() < deadline and proc.poll() is None:
        started = ec2_control.stats().count("CopyImage")
        if started >= at_least:
            return started
        time.sleep(0.1)
    raise AssertionError(f"only {started} CopyImage calls; the run: {proc.poll()}")


def section(tmp_path):
    return json.loads((tmp_path / "r.json").read_text())["stages"]["mirror-ami"]


def test_two_sources_public_tables_and_rerun_changes_nothing(tmp_path, aws_endpoint, ec2_control):
    x86, arm = release_sources()
    csv, md = tmp_path / "amis.csv", tmp_path / "amis.md"
    args = [
        "--source-ami",
        f"{x86},{arm}",
        "--regions",
        REGIONS,
        "--make-public",
        "true",
        "--csv-output",
        str(csv),
        "--md-output",
        str(md),
        "--ssm-parameters",
        "/golden/{arch}/latest",
    ]
    first = imgpub(tmp_path, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert ec2_control.stats().other_services.get("ssm"), "SSM requests are counted"
    sec = section(tmp_path)
    assert sec["status"] == "success"
    amis = json.loads(sec["outputs"]["amis"])
    assert set(amis) == {x86, arm}
    assert set(amis[x86]) == {"us-east-1", *REGIONS.split(",")}
    rows = csv.read_text().splitlines()
    assert len(rows) == 8 and rows[0].startswith('"AlmaLinux OS","9.6.20250522","ap-southeast-2"')
    assert rows[0].endswith('"x86_64"') and rows[1].endswith('"aarch64"')  # x86_64 first
    assert md.read_text().startswith("Distribution|Version|Region|AMI ID|Arch\n-|-|-|-|-\n")
    params = json.loads(sec["outputs"]["ssm-parameters"])
    assert {
        "region": "eu-west-1",
        "name": "/golden/aarch64/latest",
        "value": amis[arm]["eu-west-1"],
    } in params

    ec2_control.reset_stats()
    second = imgpub(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert mutating_calls(ec2_control.stats()) == {}
    states = {t["state"] for t in section(tmp_path)["targets"]}
    assert states == {"existed"}
    for region in REGIONS.split(","):
        assert all(len(v) == 1 for v in images_by_source(region).values())


def test_failing_region_exit_3_then_rerun_repairs_only_it(tmp_path, aws_endpoint, ec2_control):
    x86, arm = release_sources()
    ec2_control.configure(failing_regions={"eu-west-1": "InternalError"})
    args = ["--source-ami", f"{x86}\n{arm}", "--regions", REGIONS]
    first = imgpub(tmp_path, *args)
    assert first.returncode == 3, first.stdout + first.stderr
    sec = section(tmp_path)
    assert sec["status"] == "partial"
    assert sec["outputs"]["failed-regions"] == "eu-west-1"
    failed = [t for t in sec["targets"] if t["state"] == "failed"]
    assert {t["region"] for t in failed} == {"eu-west-1"} and all(t["remedy"] for t in failed)

    ec2_control.configure(failing_regions={})
    ec2_control.reset_stats()
    second = imgpub(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    copies = {k: v for k, v in ec2_control.stats().calls.items() if k[0] == "CopyImage"}
    assert copies == {("CopyImage", "eu-west-1"): 2}


BAD_INPUTS = [
    # (extra flags, words the one error line must contain); {tmp} is the test's folder
    (("--source-ami", "ami-12"), ("source-ami",)),
    (("--regions", "eu-atlantis-1"), ("regions",)),
    (("--tags", "no-equals-sign"), ("tags",)),
    (("--ssm-parameters", "/aws/reserved/{region}"), ("ssm-parameters",)),
    (("--ssm-parameters", "/x/{colour}"), ("ssm-parameters",)),
    (("--config", "/nonexistent/imgpub.yml"), ("config",)),
    (("--make-public", "yes"), ("make-public",)),
    # Table paths are checked writable before anything changes (issue 9, finding 1).
    (("--csv-output", "{tmp}"), ("csv-output", "is a directory")),
    (("--md-output", "{tmp}/a-file/amis.md"), ("md-output", "not a folder")),
    # A KMS key for a region that gets no copy is a mistake (issue 9, finding 8).
    (("--encrypt", "true", "--kms-keys", "ap-south-1=alias/x"), ("kms-keys", "ap-south-1")),
    (("--encrypt", "true", "--kms-keys", "us-east-1=alias/x"), ("kms-keys", "source region")),
    (("--kms-keys", "us-east-2=alias/x"), ("kms-keys", "without encryption")),
]


@pytest.mark.parametrize(("flags", "needles"), BAD_INPUTS, ids=lambda v: " ".join(v)[:40])
def test_bad_input_exit_2_one_line_no_changing_call(
    tmp_path, aws_endpoint, ec2_control, flags, needles
):
    x86, _ = release_sources()
    (tmp_path / "a-file").write_text("not a folder")
    ec2_control.reset_stats()
    flags = [f.replace("{tmp}", str(tmp_path)) for f in flags]
    args = ["--source-ami", x86, "--regions", "us-east-2", *flags]
    if flags[0] == "--source-ami":
        args = flags
    proc = imgpub(tmp_path, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error")]
    assert len(errors) == 1 and all(n in errors[0] for n in needles), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert calls_that_may_change(ec2_control.stats()) == {}
    assert not (tmp_path / "r.json").exists(), "an exit-2 run saves no results document"


def test_blocked_public_access_fails_before_copying(tmp_path, aws_endpoint, ec2_control):
    x86, _ = release_sources()
    ec2_control.configure(blocked_regions=["eu-west-1"])
    ec2_control.reset_stats()
    proc = imgpub(tmp_path, "--source-ami", x86, "--regions", REGIONS, "--make-public", "true")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "eu-west-1" in proc.stderr and "allow-unblock-public-access" in proc.stderr
    assert calls_that_may_change(ec2_control.stats()) == {}


def test_dry_run_changes_nothing_and_records_the_plan(tmp_path, aws_endpoint, ec2_control):
    x86, arm = release_sources()
    ec2_control.reset_stats()
    proc = imgpub(
        tmp_path, "--source-ami", f"{x86},{arm}", "--regions", REGIONS, "--dry-run", "true"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert calls_that_may_change(ec2_control.stats()) == {}
    sec = section(tmp_path)
    assert sec["status"] == "planned"
    assert len(sec["data"]["plan"]["copies"]) == 6
    assert "copy   " in proc.stdout


def test_killed_mid_way_rerun_finishes_without_duplicates(tmp_path, aws_endpoint, ec2_control):
    x86, arm = release_sources()
    ec2_control.configure(copy_pending_seconds=30)
    args = ["--source-ami", f"{x86},{arm}", "--regions", REGIONS, "--make-public", "true"]
    proc = imgpub(tmp_path, *args, wait=False)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            started = sum(v for k, v in ec2_control.stats().calls.items() if k[0] == "CopyImage")
            if started >= 4:
                break
            time.sleep(0.1)
        assert started >= 4
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    ec2_control.configure(copy_pending_seconds=0)
    second = imgpub(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    for region in REGIONS.split(","):
        by_source = images_by_source(region)
        assert sorted(by_source) == sorted([x86, arm]), region
        assert all(len(ids) == 1 for ids in by_source.values()), (region, by_source)


def test_table_write_failing_after_the_changes_is_a_failed_target_not_exit_2(
    tmp_path, aws_endpoint, ec2_control
):
    """The CSV folder is replaced by a file while the copies run (issue 9, finding 1)."""
    x86, arm = release_sources()
    ec2_control.configure(copy_pending_seconds=4)
    folder = tmp_path / "tables"
    folder.mkdir()
    csv, md = folder / "amis.csv", tmp_path / "amis.md"
    args = ["--source-ami", f"{x86},{arm}", "--regions", REGIONS, "--make-public", "true"]
    proc = imgpub(tmp_path, *args, "--csv-output", str(csv), "--md-output", str(md), wait=False)
    try:
        wait_for_copies(ec2_control, proc, 1)
        shutil.rmtree(folder)
        folder.write_text("the folder is gone: the table cannot be written any more")
        log, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, log
    assert "Nothing was changed" not in log and "could not write csv-output" in log
    sec = section(tmp_path)
    assert sec["status"] == "partial" and "error" not in sec
    tables = [t for t in sec["targets"] if t["kind"] == "region-table"]
    assert len(tables) == 1, tables
    assert tables[0]["state"] == "failed" and tables[0]["resource_id"] == str(csv)
    assert tables[0]["details"]["input"] == "csv-output"
    assert "re-run" in tables[0]["remedy"] and tables[0]["error"]
    copies = [t for t in sec["targets"] if t["kind"] == "ami-copy"]
    assert len(copies) == 6 and {t["state"] for t in copies} == {"created"}
    assert set(json.loads(sec["outputs"]["amis"])) == {x86, arm}
    assert sec["outputs"]["failed-regions"] == ""
    assert md.read_text().count("\n") == 2 + 8, "the other table is written"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_mid_run_records_what_was_done_and_the_rerun_finishes(
    tmp_path, aws_endpoint, ec2_control, sig
):
    """A cancelled job (SIGINT, then SIGTERM on GitHub) keeps a record (issue 9, finding 7)."""
    x86, arm = release_sources()
    ec2_control.configure(copy_pending_seconds=10)
    outputs, summary = tmp_path / "outputs", tmp_path / "summary.md"
    outputs.write_text("")
    summary.write_text("")
    runner = os.environ | {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    args = ["--source-ami", f"{x86},{arm}", "--regions", REGIONS, "--make-public", "true"]
    args += ["--ssm-parameters", "/golden/{arch}/latest"]
    proc = imgpub(tmp_path, *args, wait=False, env=runner)
    try:
        wait_for_copies(ec2_control, proc, 4)
        proc.send_signal(sig)
        log, _ = proc.communicate(timeout=30)  # a hang guard: the grace is 5 s
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (1, 3), log
    assert f"{sig.name} received" in log

    sec = ResultsDocument.load(tmp_path / "r.json").stages["mirror-ami"]  # schema-checked
    assert sec.data["cancelled"] == f"cancelled by {sig.name}"
    images = {t.key: t for t in sec.targets if t.kind in ("ami-copy", "ami-source")}
    assert len(images) == 8, sorted(images)
    started = 0
    for region in REGIONS.split(","):
        in_ec2 = images_by_source(region)
        for source in (x86, arm):
            target = images[f"{source}@{region}"]
            found = in_ec2.get(source, [])
            assert len(found) <= 1
            if found:  # a copy this run started is named, so the re-run can adopt it
                started += 1
                assert target.resource_id == found[0], target
                assert target.state == "cancelled" and "copy" in target.details["changes"]
            else:
                assert target.state == "cancelled" and target.resource_id is None, target
            assert target.remedy and target.error
    assert started >= 4
    written = outputs.read_text()
    assert "status<<" in written and "results-path<<" in written and "amis<<" in written
    assert "mirror-ami: cancelled" in summary.read_text()

    ec2_control.reset_stats()
    second = imgpub(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert ec2_control.stats().count("CopyImage") == 6 - started, "started copies are adopted"
    for region in REGIONS.split(","):
        by_source = images_by_source(region)
        assert sorted(by_source) == sorted([x86, arm]), region
        assert all(len(ids) == 1 for ids in by_source.values()), (region, by_source)
    assert {t["state"] for t in section(tmp_path)["targets"]} <= {"created", "existed"}
