"""The environment-file parser against the runner's rules (FileCommandManager on Linux)."""

from __future__ import annotations

import pytest

from .filecommands import FileCommandError, parse_key_values, parse_path_file, prepend_path


def test_simple_and_heredoc_records() -> None:
    text = "a=1\nb<<EOF\nline one\nline two\nEOF\nc=3\n"
    assert parse_key_values(text) == {"a": "1", "b": "line one\nline two", "c": "3"}


def test_multiline_value_keeps_inner_blank_lines_and_trailing_spaces() -> None:
    text = "v<<D\n\nfirst  \n\nlast\nD\n"
    assert parse_key_values(text) == {"v": "\nfirst  \n\nlast"}


def test_empty_heredoc_value() -> None:
    assert parse_key_values("v<<D\nD\n") == {"v": ""}


def test_simple_value_containing_equals_and_heredoc_marker() -> None:
    # '=' comes first, so this is the simple form and the rest is the value.
    assert parse_key_values("a=b=c<<d\n") == {"a": "b=c<<d"}


def test_heredoc_marker_before_equals_makes_a_heredoc() -> None:
    # '<<' comes first: the delimiter is 'x=y', not a value.
    assert parse_key_values("a<<x=y\nvalue\nx=y\n") == {"a": "value"}


def test_heredoc_value_containing_equals_and_heredoc_markers() -> None:
    text = "v<<ghadelimiter_1\nk=v\nother<<EOF\n<<\n=\nghadelimiter_1\n"
    assert parse_key_values(text) == {"v": "k=v\nother<<EOF\n<<\n="}


def test_value_line_equal_to_a_fixed_delimiter_ends_the_value_early() -> None:
    # Why imgpub uses random delimiters: with a fixed 'EOF', a value containing the line
    # 'EOF' is cut there and the rest is parsed as records (here: an invalid one).
    with pytest.raises(FileCommandError, match="Invalid format 'tail'"):
        parse_key_values("v<<EOF\nhead\nEOF\ntail\nEOF\n")


def test_value_that_merely_looks_like_a_delimiter_is_kept() -> None:
    text = "v<<ghadelimiter_abc\nEOF\nghadelimiter_abd\nghadelimiter_abc\n"
    assert parse_key_values(text) == {"v": "EOF\nghadelimiter_abd"}


def test_missing_delimiter_fails_like_the_runner() -> None:
    with pytest.raises(FileCommandError) as err:
        parse_key_values("v<<EOF\nno end\n")
    assert str(err.value) == (
        "Unable to process file command 'output' successfully. "
        "Invalid value. Matching delimiter not found 'EOF'"
    )


def test_last_value_line_without_newline_fails() -> None:
    with pytest.raises(FileCommandError, match="EOF marker missing new line"):
        parse_key_values("v<<EOF\nvalue")


def test_value_glued_to_delimiter_fails() -> None:
    # The commonest real-world bug: no newline between the value and the delimiter.
    with pytest.raises(FileCommandError, match="Matching delimiter not found"):
        parse_key_values("v<<EOF\nvalueEOF\n")


def test_delimiter_as_last_line_without_newline_is_accepted() -> None:
    assert parse_key_values("v<<EOF\nvalue\nEOF") == {"v": "value"}


@pytest.mark.parametrize("line", ["=value", "<<EOF", "name<<"])
def test_empty_name_or_delimiter_fails(line: str) -> None:
    with pytest.raises(FileCommandError, match="Invalid format"):
        parse_key_values(line + "\nEOF\n")


def test_line_with_neither_form_fails() -> None:
    with pytest.raises(FileCommandError, match="Invalid format 'garbage'"):
        parse_key_values("garbage\n")


def test_crlf_is_not_a_line_break_on_linux() -> None:
    # Simple form: the CR stays in the value.
    assert parse_key_values("a=1\r\n") == {"a": "1\r"}
    # All-CRLF heredoc: the delimiter itself is 'EOF\r', so it matches, but every value
    # line keeps its CR -- a CRLF writer silently corrupts values on Linux.
    assert parse_key_values("v<<EOF\r\nx\r\ny\r\nEOF\r\n") == {"v": "x\r\ny\r"}
    # LF header, CRLF closing line: 'EOF\r' never equals 'EOF', the step fails.
    with pytest.raises(FileCommandError, match="Matching delimiter not found 'EOF'"):
        parse_key_values("v<<EOF\nvalue\r\nEOF\r\n")


def test_blank_lines_between_records_are_skipped_and_last_record_wins() -> None:
    assert parse_key_values("\n\na=1\n\na=2\n") == {"a": "2"}


def test_error_names_the_file_command() -> None:
    with pytest.raises(FileCommandError, match="file command 'env'"):
        parse_key_values("oops\n", "env")


def test_path_file_order_duplicates_and_crlf() -> None:
    entries = parse_path_file("/a\r\n/b\n\n/a\n")
    assert entries == ["/b", "/a"]
    assert prepend_path(entries, "/usr/bin") == "/a:/b:/usr/bin"
