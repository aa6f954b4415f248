"""The manifests injected into a chart: the license-check hook Job and the first-user Secret.

They are Helm templates written by Jinja2 templates (``imgpub/templates/helm``), so the
Jinja2 delimiters are ``[[ ]]`` and ``[% %]``: ``{{ }}`` belongs to Helm. Every value put
in is validated (model) to plain names, so nothing can break out of its YAML string.
"""

from __future__ import annotations

import re
from functools import cache

import jinja2
import yaml

from imgpub.registry.chart_inputs import HookValues

HOOK_FILE = "templates/imgpub-license-check.yaml"
SECRET_FILE = "templates/imgpub-first-user-secret.yaml"  # noqa: S105 - a file name
_HELM_ACTION = re.compile(r"\{\{-?.*?-?\}\}", re.DOTALL)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("imgpub", "templates/helm"),
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - YAML, not HTML; values are validated names
    )


def render_hook(values: HookValues) -> dict[str, bytes]:
    """The two injected files, by their path inside the chart."""
    env = _environment()
    job = env.get_template("license-check-job.yaml.j2").render(
        service_account=values.service_account,
        image=values.checker_image,
        product_sku=values.product_sku,
        entitlements=values.entitlements,
        region=values.license_region,
    )
    secret = env.get_template("first-user-secret.yaml.j2").render(user=values.first_user_name)
    return {HOOK_FILE: job.encode("utf-8"), SECRET_FILE: secret.encode("utf-8")}


def neutralised(template: bytes) -> object:
    """A Helm template parsed as YAML with every ``{{ }}`` action replaced by a word.

    Without a ``helm`` binary this is how the injected manifests are checked: their
    structure (kinds, hook annotations, args) is plain YAML around inline actions.
    """
    return yaml.safe_load(_HELM_ACTION.sub("HELM", template.decode("utf-8")))


def hook_problems(files: dict[str, bytes]) -> list[str]:
    """What is wrong with the injected hook and Secret in a chart's files (empty: fine)."""
    problems: list[str] = []
    try:
        job = neutralised(files[HOOK_FILE])
        secret = neutralised(files[SECRET_FILE])
    except KeyError as exc:
        return [f"{exc.args[0]} is missing"]
    except yaml.YAMLError as exc:
        return [f"an injected manifest is not YAML: {str(exc).splitlines()[0]}"]
    if not isinstance(job, dict) or job.get("kind") != "Job":
        problems.append(f"{HOOK_FILE} is not a Job")
    else:
        hooks = str(job.get("metadata", {}).get("annotations", {}).get("helm.sh/hook", ""))
        if "pre-install" not in hooks.split(","):
            problems.append(f"{HOOK_FILE} is not a pre-install hook")
        spec = job.get("spec", {})
        if (
            spec.get("backoffLimit") != 0
            or spec.get("template", {}).get("spec", {}).get("restartPolicy") != "Never"
        ):
            problems.append(f"{HOOK_FILE} would retry: a failed check must fail the install")
    if not isinstance(secret, dict) or secret.get("kind") != "Secret":
        problems.append(f"{SECRET_FILE} is not a Secret")
    return problems
