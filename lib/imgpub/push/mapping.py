"""The destination mapping: StArMap's QueryResponseContainer, validated and parsed.

The format is StArMap's, unchanged, so a team's existing mappings (and StArMap's own
answers) are read as they are. Validation is by the JSON Schema in the package
(``schemas/starmap.schema.json``); every problem is reported with its JSON path, e.g.
``$[0].mappings.aws-na.destinations[1].architecture``, so the fix is found without
guessing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any, cast

import jsonschema
import yaml

from imgpub.errors import InputError
from imgpub.push.billing import community_target
from imgpub.push.meta import merge_meta
from imgpub.push.model import AccountMapping, BillingRule, Cloud, Destination, Entity, Workflow


@cache
def mapping_schema() -> dict[str, Any]:
    text = resources.files("imgpub").joinpath("schemas/starmap.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


def json_path(parts: Sequence[str | int]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def load_mapping_text(text: str, *, origin: str, input_name: str = "mapping") -> list[Any]:
    """JSON or YAML text → the raw container (a list; one entity alone is accepted too)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(
            input_name,
            f"{origin} is not valid JSON or YAML: {str(exc).splitlines()[0]}",
            "fix the syntax (a JSON list of StArMap entities)",
        ) from None
    if isinstance(data, dict):
        data = [data]
    return cast(list[Any], data)


def validate(data: Any, *, origin: str, input_name: str = "mapping") -> None:
    """Schema check; the first problem (in document order) names its JSON path."""
    validator = jsonschema.Draft202012Validator(mapping_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path])
    if not errors:
        return
    err = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise InputError(
        input_name,
        f"{origin} {json_path(list(err.absolute_path))}: {_problem(err)}{more}",
        "fix that value (the format is StArMap's APIv2 QueryResponseContainer)",
    )


def _problem(err: jsonschema.ValidationError) -> str:
    if err.validator == "enum":
        choices = cast(list[Any], err.validator_value)
        allowed = ", ".join("null" if v is None else str(v) for v in choices)
        return f"{err.instance!r} is not one of {allowed}"
    if err.validator == "required":
        return str(err.message).replace("'", "", 2)
    return str(err.message)


def parse_entities(data: Any, *, origin: str, input_name: str = "mapping") -> tuple[Entity, ...]:
    """Validated container → entities with each destination's meta merged."""
    validate(data, origin=origin, input_name=input_name)
    for index, raw in enumerate(data):
        if raw["workflow"] == "community":
            _check_community(raw, f"{origin} $[{index}]", input_name)
    return tuple(_entity(e) for e in data)


def _check_community(raw: dict[str, Any], where: str, input_name: str) -> None:
    """Community destinations are ``<region>-<type>``: checked here, with their path."""
    for account, mapping in raw["mappings"].items():
        for n, dest in enumerate(mapping["destinations"]):
            path = f"{where}.mappings.{account}.destinations[{n}].destination"
            community_target(dest["destination"], path, input_name)


def _keep(value: Any) -> int | None:
    """restrict_*: an integer says how many to keep; ``true`` is StArMap's 1, false none."""
    if value is None or value is False:
        return None
    if value is True:
        return 1
    return int(value)


def _entity(raw: dict[str, Any]) -> Entity:
    mappings = []
    for account, mapping in raw["mappings"].items():
        dests = tuple(
            Destination(
                destination=d["destination"],
                architecture=d.get("architecture"),
                meta=merge_meta(raw.get("meta"), mapping.get("meta"), d.get("meta")),
                overwrite=bool(d.get("overwrite", False)),
                restrict_version=_keep(d.get("restrict_version")),
                restrict_major=_keep(d.get("restrict_major")),
                restrict_minor=_keep(d.get("restrict_minor")),
                provider=d.get("provider") or mapping.get("provider"),
                tags=dict(d.get("tags") or {}),
            )
            for d in mapping["destinations"]
        )
        mappings.append(AccountMapping(account, dests, mapping.get("provider")))
    billing = tuple(
        BillingRule(
            key=key,
            codes=tuple(rule["codes"]),
            image_name=str(rule.get("image_name", "")),
            image_types=tuple(rule["image_types"]),
            name=rule["name"],
            release_type=str(rule.get("release_type") or ""),
        )
        for key, rule in (raw.get("billing-code-config") or {}).items()
    )
    return Entity(
        name=raw["name"],
        cloud=cast(Cloud, raw["cloud"]),
        workflow=cast(Workflow, raw["workflow"]),
        mappings=tuple(mappings),
        billing=billing,
        raw=raw,
    )
