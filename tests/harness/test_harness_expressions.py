"""The expression subset: runner semantics where our action.yml files rely on them."""

from __future__ import annotations

import pytest

from .expressions import Contexts, ExpressionError, evaluate, evaluate_condition, interpolate

CTX = Contexts(
    {
        "inputs": {"source-ami": "ami-1", "dry-run": "false", "empty": ""},
        "steps": {"run": {"outputs": {"amis": '{"a": 1}'}, "outcome": "success"}},
        "github": {"event_name": "push", "repository": "o/r"},
        "runner": {"os": "Linux"},
        "env": {"HOME_DIR": "/home"},
    }
)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("inputs.source-ami", "ami-1"),
        ("steps.run.outputs.amis", '{"a": 1}'),
        ("github.event_name == 'PUSH'", True),  # string comparison ignores case
        ("runner.os != 'Linux'", False),
        ("inputs.missing", None),
        ("inputs['source-ami']", "ami-1"),
        ("inputs.empty || 'fallback'", "fallback"),  # || returns an operand
        ("inputs.source-ami && 'yes'", "yes"),
        ("!inputs.empty", True),
        ("inputs.dry-run == 'false' && (github.event_name == 'push' || false)", True),
        ("'it''s'", "it's"),
        ("1 == '1'", True),  # mixed types compare as numbers
        ("null == ''", True),
        ("env.HOME_DIR", "/home"),
    ],
)
def test_evaluate(expr: str, expected: object) -> None:
    assert evaluate(expr, CTX) == expected


def test_interpolate_stringifies_like_the_runner() -> None:
    assert interpolate("a=${{ inputs.missing }}|${{ true }}|${{ 3 }}", CTX) == "a=|true|3"


@pytest.mark.parametrize("expr", ["hashFiles('x')", "secrets.TOKEN", "inputs.a < 2", "fromJSON(x)"])
def test_unsupported_expressions_fail_loudly(expr: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expr, CTX)


def test_if_without_status_function_implies_success() -> None:
    failed = Contexts(CTX.values, job_failed=True)
    assert evaluate_condition("runner.os == 'Linux'", CTX)
    assert not evaluate_condition("runner.os == 'Linux'", failed)
    assert evaluate_condition("${{ always() }}", failed)
    assert evaluate_condition("failure()", failed)
    assert not evaluate_condition(None, failed)
    assert evaluate_condition(None, CTX)
