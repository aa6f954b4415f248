"""The read → prepare → apply flow: phases decide what exit 2 may mean, cancels keep records."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from imgpub.errors import ConfigError, InputError
from imgpub.gha import Gha
from imgpub.inputs import InputSpec, OutputSpec
from imgpub.results import Target
from imgpub.stage import run_stage


@dataclass
class Report:
    """A plan or result of the toy stage: one target per item."""

    states: dict[str, str]
    plan_lines: list[str] = field(default_factory=list)

    def targets(self):
        return [Target("thing", f"thing:{k}", v, resource_id=k) for k, v in self.states.items()]

    def outputs(self):
        return {"made": str(sum(v == "created" for v in self.states.values()))}

    def data(self):
        return {"n": len(self.states)}

    def summarize(self, summary):
        summary.heading("toy report")

    def lines(self):
        return self.plan_lines


def toy_stage(apply_behaviour="ok", changes=None):
    """A stage over ``items``: prepare plans each item; apply 'creates' them."""
    changes = changes if changes is not None else []

    def read(ctx):
        items = ctx.inputs.items("items")
        if "bad" in items:
            raise InputError("items", "'bad' is not an item", "use another name")
        return items

    def prepare(items, ctx):
        return Report(dict.fromkeys(items, "planned"), [f"create {i}" for i in items])

    def apply(plan, ctx):
        done = {}
        for item in plan.states:
            if ctx.cancel.is_set:
                done[item] = "cancelled"
                continue
            changes.append(item)
            done[item] = "created"
            if apply_behaviour == "input-error-after-first":
                raise ConfigError("the table path went away", remedy="fix it")
            if apply_behaviour == "wait-for-signal":
                os.kill(os.getpid(), signal.SIGTERM)
                ctx.cancel.sleep(5)
        return Report(done)

    return SimpleNamespace(
        NAME="toy",
        HELP="a toy stage",
        INPUTS=(
            InputSpec("items", "items", kind="list"),
            InputSpec("table", "where the table goes", kind="output"),
        ),
        OUTPUTS=(OutputSpec("made", "what was made"),),
        read=read,
        prepare=prepare,
        apply=apply,
    )


def run(tmp_path, flags, stage, mask=()):
    out = tmp_path / "out"
    out.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(out), "RUNNER_TEMP": str(tmp_path)}
    gha = Gha(env, stdout=io.StringIO())
    for value in mask:
        gha.mask(value)
    code = run_stage(stage, flags=flags, env=env, gha=gha)
    return code, out.read_text(), gha


def document(tmp_path):
    path = tmp_path / "imgpub-results.json"
    return json.loads(path.read_text()) if path.exists() else None


def test_apply_results_are_recorded(tmp_path):
    code, outputs, _ = run(tmp_path, {"items": "a,b"}, toy_stage())
    assert code == 0
    sec = document(tmp_path)["stages"]["toy"]
    assert [t["state"] for t in sec["targets"]] == ["created", "created"]
    assert sec["outputs"]["made"] == "2" and sec["data"] == {"n": 2}
    assert "results-path<<" in outputs


def test_dry_run_records_the_plan_and_applies_nothing(tmp_path):
    changes = []
    code, _, _ = run(tmp_path, {"items": "a", "dry-run": "true"}, toy_stage(changes=changes))
    assert code == 0 and changes == []
    sec = document(tmp_path)["stages"]["toy"]
    assert sec["status"] == "planned" and sec["targets"][0]["state"] == "planned"


def test_bad_input_is_exit_2_and_writes_no_document_and_no_results_path(tmp_path):
    code, outputs, _ = run(tmp_path, {"items": "bad"}, toy_stage())
    assert code == 2
    assert document(tmp_path) is None
    assert "results-path" not in outputs and "status<<" in outputs


@pytest.mark.parametrize("where", ["dir", "under-file"])
def test_an_unwritable_output_path_is_exit_2_before_any_change(tmp_path, where):
    changes = []
    (tmp_path / "afile").write_text("x")
    table = tmp_path if where == "dir" else tmp_path / "afile" / "t.md"
    code, _, _ = run(tmp_path, {"items": "a", "table": str(table)}, toy_stage(changes=changes))
    assert code == 2 and changes == []


def test_an_input_error_after_changes_began_is_not_exit_2(tmp_path):
    changes = []
    stage = toy_stage("input-error-after-first", changes)
    code, outputs, _ = run(tmp_path, {"items": "a,b"}, stage)
    assert changes == ["a"]
    assert code == 1, "exit 2 would claim nothing changed"
    sec = document(tmp_path)["stages"]["toy"]
    assert sec["status"] == "failed" and "table path" in sec["error"]["message"]
    assert {t["state"] for t in sec["targets"]} == {"cancelled"}, "plan targets kept, unconfirmed"
    assert "results-path<<" in outputs


def test_a_signal_mid_apply_stops_new_work_and_saves_what_was_done(tmp_path):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers need the main thread")
    changes = []
    before = signal.getsignal(signal.SIGTERM)
    code, _, _ = run(tmp_path, {"items": "a,b,c"}, toy_stage("wait-for-signal", changes))
    assert changes == ["a"]
    assert code == 3
    sec = document(tmp_path)["stages"]["toy"]
    assert [t["state"] for t in sec["targets"]] == ["created", "cancelled", "cancelled"]
    assert sec["data"]["cancelled"] == "cancelled by SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before, "handlers are restored"


def test_masked_values_and_url_credentials_never_reach_the_document(tmp_path):
    url = "https://acct.blob.core.windows.net/c/x.vhd?sv=2024&sig=SECRETSIG"
    presigned = (
        "https://b.s3.amazonaws.com/k.raw?X-Amz-Security-Token=TOKENVALUE&X-Amz-Signature=S1"
    )
    code, _, _ = run(
        tmp_path, {"items": f"{url},{presigned},plain-secret"}, toy_stage(), mask=["plain-secret"]
    )
    assert code == 0
    text = (tmp_path / "imgpub-results.json").read_text()
    for leaked in ("SECRETSIG", "TOKENVALUE", "S1", "plain-secret"):
        assert leaked not in text
    assert "acct.blob.core.windows.net/c/x.vhd" in text
