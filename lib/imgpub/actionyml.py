"""Render ``actions/<stage>/action.yml`` from the stage's own input and output declarations.

The stage module is the single source of truth for names, descriptions and defaults; the
action file is generated from it (``python -m imgpub.actionyml --write``) and a contract
test fails when a committed file differs from what this renders. So the action, the CLI
flags and the README tables can never drift apart — the lesson of codeql-action's
generated checks, without a second language.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from imgpub.flow import StageModule
from imgpub.inputs import COMMON_OUTPUTS, with_common_inputs
from imgpub.stages import STAGES

SETUP_PYTHON = "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97"
SETUP_PYTHON_VERSION = "v7.0.0"
PYTHON_VERSION = "3.12"


def env_name(input_name: str) -> str:
    return "INPUT_" + input_name.upper().replace("-", "_")


def _inputs(module: StageModule) -> dict[str, Any]:
    """The action's inputs, exactly as the stage declares them (common ones included)."""
    inputs: dict[str, Any] = {}
    for spec in with_common_inputs(module.INPUTS):
        entry: dict[str, Any] = {"description": " ".join(spec.description.split())}
        entry["required"] = spec.required
        if not spec.required:
            entry["default"] = spec.default if spec.default is not None else ""
        inputs[spec.name] = entry
    return inputs


def render(module: StageModule) -> str:
    """The action.yml text for one stage."""
    meta = STAGES[module.NAME]
    inputs = _inputs(module)
    outputs = {
        out.name: {
            "description": " ".join(out.description.split()),
            "value": f"${{{{ steps.run.outputs.{out.name} }}}}",
        }
        for out in (*module.OUTPUTS, *COMMON_OUTPUTS)
    }
    # A stage may need a tool installed before it runs (build-ami: Packer, only when its
    # template input is given): SETUP_STEPS holds (step, version comment) pairs, each step
    # pinned by full commit SHA.
    extra_steps: tuple[tuple[dict[str, Any], str], ...] = getattr(module, "SETUP_STEPS", ())
    run_env: dict[str, str] = {"IMGPUB_VENV": "${{ steps.install.outputs.venv }}"}
    for spec in with_common_inputs(module.INPUTS):
        run_env[env_name(spec.name)] = f"${{{{ inputs.{spec.name} }}}}"
    doc: dict[str, Any] = {
        "name": f"imgpub {module.NAME}",
        "description": " ".join(module.HELP.split()),
        "author": "imgpub maintainers",
        "branding": {"icon": meta.icon, "color": meta.color},
        "inputs": inputs,
        "outputs": outputs,
        "runs": {
            "using": "composite",
            "steps": [
                {
                    "name": "Set up Python",
                    "id": "setup-python",
                    "uses": SETUP_PYTHON,
                    "with": {"python-version": PYTHON_VERSION, "update-environment": False},
                },
                {
                    "name": "Install imgpub",
                    "id": "install",
                    "shell": "bash",
                    "env": {
                        "IMGPUB_PYTHON": "${{ steps.setup-python.outputs.python-path }}",
                        "IMGPUB_EXTRAS": ",".join(meta.extras),
                    },
                    "run": 'bash "$GITHUB_ACTION_PATH/../_shared/install.sh"',
                },
                *(dict(step) for step, _ in extra_steps),
                {
                    "name": f"Run imgpub {module.NAME}",
                    "id": "run",
                    "shell": "bash",
                    "env": run_env,
                    "run": f'"$IMGPUB_VENV/bin/imgpub" {module.NAME}',
                },
            ],
        },
    }
    body = yaml.safe_dump(doc, sort_keys=False, width=100, allow_unicode=True)
    pinned = f"uses: {SETUP_PYTHON}"
    body = body.replace(pinned + "\n", f"{pinned} # {SETUP_PYTHON_VERSION}\n")
    for step, version in extra_steps:
        line = f"uses: {step['uses']}"
        body = body.replace(line + "\n", f"{line} # {version}\n")
    header = (
        f"# Generated from lib/imgpub/stages/{module.NAME.replace('-', '_')}.py by\n"
        "# `python -m imgpub.actionyml --write`; edit the stage's INPUTS/OUTPUTS, not this file.\n"
    )
    return header + body


def action_path(root: Path, name: str) -> Path:
    return root / "actions" / name / "action.yml"


_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")


def render_docker(module: StageModule, image: str) -> str:
    """The Docker variant of a stage's action: the runtime image, pinned by digest.

    For runners where setting up Python is unwanted. The runner passes the inputs to the
    container as ``INPUT_<NAME>`` (imgpub reads that spelling too) and mounts the file
    commands, so the stage, its outputs and its summary are the same as the composite
    action's. ``image`` is ``registry/name@sha256:<digest>``: release.yml writes these files
    with the digest it has just pushed and attested; nothing on main names an unpublished one.
    """
    if not _IMAGE.match(image):
        raise ValueError(f"image {image!r} must be REGISTRY/NAME@sha256:<64 hex digits>")
    meta = STAGES[module.NAME]
    inputs = _inputs(module)
    doc: dict[str, Any] = {
        "name": f"imgpub {module.NAME} (Docker)",
        "description": " ".join(module.HELP.split()),
        "author": "imgpub maintainers",
        "branding": {"icon": meta.icon, "color": meta.color},
        "inputs": inputs,
        "outputs": {
            out.name: {"description": " ".join(out.description.split())}
            for out in (*module.OUTPUTS, *COMMON_OUTPUTS)
        },
        "runs": {"using": "docker", "image": f"docker://{image}", "args": [module.NAME]},
    }
    header = (
        f"# Generated from lib/imgpub/stages/{module.NAME.replace('-', '_')}.py by\n"
        f"# `python -m imgpub.actionyml --docker {image} --write` (release.yml).\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, width=100, allow_unicode=True)


def docker_action_path(root: Path, name: str) -> Path:
    return root / "actions" / "docker" / name / "action.yml"


def main(argv: list[str] | None = None) -> int:
    from imgpub.cli import available_stages

    parser = argparse.ArgumentParser(description="Generate actions/<stage>/action.yml files.")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument("--write", action="store_true", help="write the files (default: check)")
    parser.add_argument(
        "--docker",
        metavar="IMAGE@sha256:DIGEST",
        help="write the Docker variants (actions/docker/<stage>) for this published image",
    )
    args = parser.parse_args(argv)
    stale = []
    for name, module in available_stages().items():
        if args.docker:
            path = docker_action_path(args.root, name)
            text = render_docker(module, args.docker)
        else:
            path = action_path(args.root, name)
            text = render(module)
        if path.exists() and path.read_text("utf-8") == text:
            continue
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
            print(f"wrote {path}")
        else:
            stale.append(str(path))
    if stale:
        print("stale (run python -m imgpub.actionyml --write): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
