"""run_stage: one flow for every stage — exit codes, results, outputs, summary on failure."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

from imgpub.errors import CloudError, InputError
from imgpub.flow import StageResult
from imgpub.gha import Gha
from imgpub.inputs import InputSpec, OutputSpec
from imgpub.results import Target
from imgpub.stage import run_stage


def make_stage(behaviour):
    """A small stage: creates one target per region, failing the regions it is told to."""

    def run(ctx):
        regions = ctx.inputs.items("regions")
        failing = set(ctx.inputs.items("fail"))
        if "bad" in regions:
            raise InputError("regions", "'bad' is not a region", "use a region name")
        if behaviour == "crash":
            raise RuntimeError("kaboom")
        if behaviour == "cloud":
            raise CloudError("the cloud said no", remedy="try later")
        for r in regions:
            state = "planned" if ctx.dry_run else ("failed" if r in failing else "created")
            ctx.record(
                Target("thing", f"thing@{r}", state, region=r, error="x" if r in failing else None)
            )
        ctx.summary.heading("done")
        return StageResult(outputs={"made": ",".join(regions)}, data={"n": len(regions)})

    return SimpleNamespace(
        NAME="demo-stage",
        HELP="a test stage",
        INPUTS=(
            InputSpec("regions", "regions", kind="list"),
            InputSpec("fail", "failing", kind="list"),
        ),
        OUTPUTS=(OutputSpec("made", "what was made"),),
        run=run,
    )


def run(tmp_path, flags, behaviour="ok", env=None, debug=False):
    out = tmp_path / "out"
    summ = tmp_path / "summary"
    out.write_text("")
    summ.write_text("")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summ),
        "RUNNER_TEMP": str(tmp_path),
        **(env or {}),
    }
    stdout = io.StringIO()
    code = run_stage(
        make_stage(behaviour), flags=flags, env=env, gha=Gha(env, stdout=stdout), debug=debug
    )
    return code, out.read_text(), summ.read_text(), stdout.getvalue()


def results(tmp_path):
    return json.loads((tmp_path / "imgpub-results.json").read_text())


def test_success_writes_results_outputs_and_summary(tmp_path):
    code, outputs, summary, _ = run(tmp_path, {"regions": "a,b"})
    assert code == 0
    sec = results(tmp_path)["stages"]["demo-stage"]
    assert sec["status"] == "success" and sec["data"] == {"n": 2}
    assert [t["state"] for t in sec["targets"]] == ["created", "created"]
    assert "made<<ghadelimiter_" in outputs and "\na,b\n" in outputs
    assert "status<<" in outputs and "results-path<<" in outputs
    assert "# done" in summary


def test_partial_failure_is_exit_3(tmp_path):
    code, outputs, _, _ = run(tmp_path, {"regions": "a,b", "fail": "b"})
    assert code == 3
    assert results(tmp_path)["stages"]["demo-stage"]["status"] == "partial"
    assert "\npartial\n" in outputs


def test_total_failure_is_exit_1(tmp_path):
    code, _, _, _ = run(tmp_path, {"regions": "a", "fail": "a"})
    assert code == 1


def test_bad_input_exit_2_keeps_previous_results(tmp_path):
    assert run(tmp_path, {"regions": "a"})[0] == 0
    code, _, summary, stdout = run(tmp_path, {"regions": "bad"})
    assert code == 2
    assert results(tmp_path)["stages"]["demo-stage"]["status"] == "success"
    assert "::error title=imgpub demo-stage::input 'regions'" in stdout
    assert "Nothing was changed" in summary


def test_bad_boolean_common_input_is_exit_2(tmp_path):
    code, _, _, stdout = run(tmp_path, {"regions": "a", "dry-run": "yes"})
    assert code == 2 and "dry-run" in stdout


def test_dry_run_is_planned_and_exit_0(tmp_path):
    code, _, _, _ = run(tmp_path, {"regions": "a", "dry-run": "true"})
    assert code == 0
    sec = results(tmp_path)["stages"]["demo-stage"]
    assert sec["dry_run"] is True and sec["status"] == "planned"


def test_cloud_error_records_remedy(tmp_path):
    code, _, summary, _ = run(tmp_path, {"regions": "a"}, behaviour="cloud")
    assert code == 1
    err = results(tmp_path)["stages"]["demo-stage"]["error"]
    assert err == {"message": "the cloud said no", "remedy": "try later", "exit_code": 1}
    assert "What to do: try later" in summary


def test_unexpected_exception_is_exit_1_one_line(tmp_path):
    code, _, _, stdout = run(tmp_path, {"regions": "a"}, behaviour="crash")
    assert code == 1
    errors = [ln for ln in stdout.splitlines() if ln.startswith("::error")]
    assert len(errors) == 1 and "RuntimeError: kaboom" in errors[0]
    assert "Traceback" not in stdout


def test_inputs_from_env_as_composite_actions_pass_them(tmp_path):
    code, outputs, _, _ = run(tmp_path, {}, env={"INPUT_REGIONS": "x\ny"})
    assert code == 0 and "\nx,y\n" in outputs


def test_config_file_supplies_inputs(tmp_path):
    cfg = tmp_path / "imgpub.yml"
    cfg.write_text("demo-stage:\n  regions: [c, d]\n")
    code, outputs, _, _ = run(tmp_path, {}, env={"IMGPUB_CONFIG": str(cfg)})
    assert code == 0 and "\nc,d\n" in outputs


def test_broken_config_file_is_exit_2(tmp_path):
    cfg = tmp_path / "imgpub.yml"
    cfg.write_text("demo-stage: [unclosed\n")
    code, _, _, stdout = run(tmp_path, {}, env={"IMGPUB_CONFIG": str(cfg)})
    assert code == 2 and "not valid YAML" in stdout


def test_debug_adds_the_traceback(tmp_path):
    code, _, _, stdout = run(tmp_path, {"regions": "a"}, behaviour="crash", debug=True)
    assert code == 1
    assert "Traceback (most recent call last)" in stdout and "kaboom" in stdout
