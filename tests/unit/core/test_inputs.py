"""Input resolution follows the runner's rules: flag → INPUT_ env → config → default."""

from __future__ import annotations

import pytest

from imgpub.errors import InputError
from imgpub.inputs import InputReader, InputSpec

SPECS = (
    InputSpec("source-ami", "AMIs", required=True, kind="list"),
    InputSpec("make-public", "public?", default="false", kind="bool"),
    InputSpec("max-concurrency", "threads", default="16", kind="int"),
    InputSpec("tags", "KEY=VALUE lines", kind="lines"),
    InputSpec("token", "a secret", kind="secret"),
)


def reader(flags=None, env=None, config=None, masks=None):
    return InputReader(
        SPECS,
        flags=flags or {},
        env=env or {},
        config=config or {},
        mask=(masks.append if masks is not None else None),
    )


def test_flag_wins_over_env_config_and_default():
    r = reader(
        flags={"max-concurrency": "4"},
        env={"INPUT_MAX-CONCURRENCY": "8"},
        config={"max-concurrency": 12},
    )
    assert r.integer("max-concurrency") == 4


def test_runner_spelling_with_hyphen_then_underscore():
    assert reader(env={"INPUT_SOURCE-AMI": "ami-1"}).items("source-ami") == ["ami-1"]
    assert reader(env={"INPUT_SOURCE_AMI": "ami-2"}).items("source-ami") == ["ami-2"]
    both = reader(env={"INPUT_SOURCE-AMI": "ami-1", "INPUT_SOURCE_AMI": "ami-2"})
    assert both.items("source-ami") == ["ami-1"]


def test_empty_env_value_falls_through_to_config_then_default():
    # Composite actions pass every input, so '' means "not given".
    r = reader(env={"INPUT_MAX_CONCURRENCY": ""}, config={"max-concurrency": 7})
    assert r.integer("max-concurrency") == 7
    assert reader(env={"INPUT_MAX_CONCURRENCY": "  "}).integer("max-concurrency") == 16


def test_config_lists_and_booleans_become_runner_strings():
    r = reader(config={"source-ami": ["ami-1", "ami-2"], "make-public": True})
    assert r.items("source-ami") == ["ami-1", "ami-2"]
    assert r.boolean("make-public") is True


@pytest.mark.parametrize("text", ["true", "True", "TRUE"])
def test_booleans_true(text):
    assert reader(flags={"make-public": text}).boolean("make-public") is True


@pytest.mark.parametrize("text", ["false", "False", "FALSE"])
def test_booleans_false(text):
    assert reader(flags={"make-public": text}).boolean("make-public") is False


@pytest.mark.parametrize("text", ["yes", "1", "tRue", "on"])
def test_booleans_reject_what_the_runner_rejects(text):
    with pytest.raises(InputError) as err:
        reader(flags={"make-public": text}).boolean("make-public")
    assert err.value.exit_code == 2
    assert "make-public" in err.value.one_line() and "true or false" in err.value.one_line()


def test_lists_split_on_commas_and_newlines_dropping_blanks():
    r = reader(flags={"source-ami": "ami-1, ami-2\n\nami-3,\n"})
    assert r.items("source-ami") == ["ami-1", "ami-2", "ami-3"]


def test_lines_keep_commas_inside_values():
    r = reader(flags={"tags": "Team=a,b\n Owner = x \n"})
    assert r.lines("tags") == ["Team=a,b", "Owner = x"]


def test_required_input_missing_is_one_line_error_naming_flag():
    with pytest.raises(InputError) as err:
        reader().items("source-ami")
    line = err.value.one_line()
    assert "source-ami" in line and "--source-ami" in line and "\n" not in line


def test_integer_bounds_and_garbage():
    with pytest.raises(InputError, match="not a whole number"):
        reader(flags={"max-concurrency": "lots"}).integer("max-concurrency")
    with pytest.raises(InputError, match="below 1"):
        reader(flags={"max-concurrency": "0"}).integer("max-concurrency", minimum=1)


def test_secret_is_masked_when_read_and_left_out_of_given_values():
    masks: list[str] = []
    r = reader(flags={"token": "s3cr3t-value", "source-ami": "ami-1"}, masks=masks)
    assert r.secret("token") == "s3cr3t-value"
    assert masks == ["s3cr3t-value"]
    given = r.given_values()
    assert "token" not in given and given["source-ami"] == "ami-1"


def test_undeclared_input_is_a_programming_error():
    with pytest.raises(KeyError):
        reader().text("nope")


def test_spec_rules():
    with pytest.raises(ValueError):
        InputSpec("Bad_Name", "x")
    with pytest.raises(ValueError):
        InputSpec("flag", "x", default="yes", kind="bool")
