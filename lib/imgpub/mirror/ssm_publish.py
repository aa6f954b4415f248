"""Publishing the SSM parameters of one region, and reading them back.

Per region: one GetParameters (per 10 names) for what is there, a PutParameter for each
name that is missing or, for a latest-style name, holds another AMI, then one read-back of
everything written. ``DataType aws:ec2:image`` values are checked asynchronously — SSM
answers 200 and then drops a value that is not an AMI of the region — so only the
read-back says whether a write took. A per-image name (with ``{version}``, ``{name}`` or
``{image_id}``) that holds another value is never overwritten: that would rewrite history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from imgpub.aws import ssm_params
from imgpub.aws.errors import error_text
from imgpub.mirror.result import ParameterOutcome, ParameterState
from imgpub.mirror.ssm_names import SsmParameter

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


def publish_parameters(ssm: SSMClient, params: Sequence[SsmParameter]) -> list[ParameterOutcome]:
    """Write what is missing of ``params`` (all in the client's region); never raises."""
    if not params:
        return []
    try:
        current = ssm_params.current_values(ssm, [p.name for p in params])
    except Exception as exc:
        return [_outcome(p, ParameterState.FAILED, error_text(exc)) for p in params]
    written: dict[str, ParameterOutcome] = {}
    outcomes: list[ParameterOutcome] = []
    for p in params:
        old = current.get(p.name)
        if old == p.value:
            outcomes.append(_outcome(p, ParameterState.EXISTED))
            continue
        if old is not None and not p.overwrite:
            problem = (
                f"holds {old}; per-image names are never overwritten"
                " — delete it or change the template"
            )
            outcomes.append(_outcome(p, ParameterState.FAILED, problem))
            continue
        try:
            ssm_params.put_ami_parameter(
                ssm,
                p.name,
                p.value,
                overwrite=old is not None,
                description=f"{p.source_ami} mirrored by imgpub",
            )
        except Exception as exc:
            outcomes.append(_outcome(p, ParameterState.FAILED, error_text(exc)))
            continue
        new_state = ParameterState.UPDATED if old is not None else ParameterState.CREATED
        written[p.name] = _outcome(p, new_state)
    outcomes.extend(_read_back(ssm, written))
    return outcomes


def _read_back(ssm: SSMClient, written: dict[str, ParameterOutcome]) -> list[ParameterOutcome]:
    """The written parameters as SSM now holds them; a value SSM dropped is a failure."""
    if not written:
        return []
    try:
        back = ssm_params.current_values(ssm, written)
        note = ""
    except Exception as exc:
        back, note = {}, error_text(exc)
    out = []
    for name, o in written.items():
        if back.get(name) != o.value:
            o = replace(
                o,
                state=ParameterState.FAILED,
                error=note
                or f"read back {back.get(name)!r}; SSM rejected the value"
                f" (is it an AMI in {o.region}?)",
            )
        out.append(o)
    return out


def _outcome(p: SsmParameter, state: ParameterState, error: str = "") -> ParameterOutcome:
    return ParameterOutcome(p.region, p.name, p.value, state, p.source_ami, error)
