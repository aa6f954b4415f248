"""A deliberately tiny subset of the GitHub Actions expression language.

Our action.yml files should only ever need: context lookups (``inputs.x``,
``steps.id.outputs.y``, ``github.*``, ``runner.*``, ``env.X``), literals, ``==``, ``!=``,
``&&``, ``||``, ``!``, parentheses and the status functions ``success()``, ``always()``,
``failure()``, ``cancelled()``. Anything else raises :class:`ExpressionError`, so an action
that grows a clever expression fails its harness test and someone decides whether the
expression (or the harness) should change — rather than the harness guessing.

Semantics follow the runner where it matters: a missing property is ``null``; string
comparison is case-insensitive; mixed-type comparison coerces to numbers; ``&&``/``||``
return an operand, not a boolean; interpolated values are stringified (``null`` → ``''``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Value = Any  # str | float | bool | None | Mapping


class ExpressionError(Exception):
    """An expression outside the supported subset, or malformed."""


_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<op>==|!=|&&|\|\||!|\(|\)|\.|\[|\]|,)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokenize(src: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    src = src.rstrip()
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"unsupported syntax at {src[pos:]!r} in {src!r}")
        kind = m.lastgroup or ""
        tokens.append(_Tok(kind, m.group(kind)))
        pos = m.end()
    return tokens


@dataclass
class Contexts:
    """What an expression may see; status functions read ``job_failed``."""

    values: Mapping[str, Value]
    job_failed: bool = False


def truthy(v: Value) -> bool:
    """The runner's truthiness: false, 0, -0, '', null and NaN are falsy."""
    if v is None or v is False:
        return False
    if isinstance(v, float | int) and not isinstance(v, bool):
        return not (v == 0 or math.isnan(v))
    if isinstance(v, str):
        return v != ""
    return True


def to_string(v: Value) -> str:
    """Stringify a value the way ``${{ }}`` interpolation does."""
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, Mapping):
        return "Object"
    return str(v)


def _to_number(v: Value) -> float:
    if v is None or v is False:
        return 0.0
    if v is True:
        return 1.0
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return 0.0
        try:
            return float(int(s, 0)) if s.lower().startswith(("0x", "0o")) else float(s)
        except ValueError:
            return math.nan
    return math.nan


def _equal(a: Value, b: Value) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if a is None and b is None:
        return True
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return a is b
    return _to_number(a) == _to_number(b)


class _Parser:
    def __init__(self, tokens: list[_Tok], ctx: Contexts) -> None:
        self.tokens = tokens
        self.pos = 0
        self.ctx = ctx

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (text is not None and tok.text != text):
            raise ExpressionError(f"expected {text or 'a token'}, got {tok.text if tok else 'end'}")
        self.pos += 1
        return tok

    def parse(self) -> Value:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek().text!r}")  # type: ignore[union-attr]
        return value

    def or_(self) -> Value:
        left = self.and_()
        while (tok := self.peek()) and tok.text == "||":
            self.take()
            right = self.and_()
            left = left if truthy(left) else right
        return left

    def and_(self) -> Value:
        left = self.unary()
        while (tok := self.peek()) and tok.text == "&&":
            self.take()
            right = self.unary()
            left = right if truthy(left) else left
        return left

    def unary(self) -> Value:
        tok = self.peek()
        if tok and tok.text == "!":
            self.take()
            return not truthy(self.unary())
        return self.comparison()

    def comparison(self) -> Value:
        left = self.primary()
        tok = self.peek()
        if tok and tok.text in ("==", "!="):
            self.take()
            right = self.primary()
            eq = _equal(left, right)
            return eq if tok.text == "==" else not eq
        return left

    def primary(self) -> Value:
        tok = self.take()
        if tok.kind == "str":
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "num":
            return float(tok.text)
        if tok.text == "(":
            value = self.or_()
            self.take(")")
            return value
        if tok.kind != "ident":
            raise ExpressionError(f"unexpected {tok.text!r}")
        word = tok.text
        nxt = self.peek()
        if nxt and nxt.text == "(":
            return self.call(word)
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return None
        if word not in self.ctx.values:
            raise ExpressionError(f"unsupported context {word!r}")
        return self.path(self.ctx.values[word])

    def path(self, value: Value) -> Value:
        while (tok := self.peek()) and tok.text in (".", "["):
            self.take()
            if tok.text == ".":
                key = self.take().text
            else:
                key_tok = self.take()
                if key_tok.kind != "str":
                    raise ExpressionError("only 'string' indexes are supported")
                key = key_tok.text[1:-1].replace("''", "'")
                self.take("]")
            value = _lookup(value, key)
        return value

    def call(self, name: str) -> Value:
        functions: dict[str, Callable[[], bool]] = {
            "success": lambda: not self.ctx.job_failed,
            "failure": lambda: self.ctx.job_failed,
            "always": lambda: True,
            "cancelled": lambda: False,
        }
        if name not in functions:
            raise ExpressionError(f"unsupported function {name}()")
        self.take("(")
        self.take(")")
        return functions[name]()


def _lookup(value: Value, key: str) -> Value:
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        folded = {str(k).casefold(): v for k, v in value.items()}
        return folded.get(key.casefold())
    return None


def evaluate(expression: str, ctx: Contexts) -> Value:
    """Evaluate one expression (the text between ``${{`` and ``}}``)."""
    return _Parser(_tokenize(expression), ctx).parse()


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def interpolate(text: str, ctx: Contexts) -> str:
    """Replace every ``${{ expr }}`` in a string value (env:, with:, value:)."""
    return _TEMPLATE.sub(lambda m: to_string(evaluate(m.group(1), ctx)), text)


_STATUS_CALL = re.compile(r"\b(success|failure|always|cancelled)\s*\(")


def evaluate_condition(condition: str | bool | None, ctx: Contexts) -> bool:
    """Evaluate a step's ``if:``; without a status function it means ``success() && (...)``."""
    if condition is None:
        return not ctx.job_failed
    if isinstance(condition, bool):
        return condition and not ctx.job_failed
    text = condition.strip()
    whole = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.DOTALL)
    if whole:
        text = whole.group(1)
    if "${{" in text:
        raise ExpressionError(f"an if: condition mixes text and templates: {condition!r}")
    result = truthy(evaluate(text, ctx))
    if not _STATUS_CALL.search(text):
        result = result and not ctx.job_failed
    return result
