"""The runner's environment files (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH), parsed as it does.

The point of a harness is to fail where the runner fails, so this mirrors the runner's
``FileCommandManager`` rules on Linux rather than being lenient:

* records are ``NAME=value`` or ``NAME<<DELIM`` … ``DELIM``; whichever of ``=`` and ``<<``
  comes first in the line decides the form, so ``a=b<<c`` sets ``a`` to ``b<<c`` and
  ``a<<x=y`` opens a heredoc whose delimiter is ``x=y``;
* lines are split on LF only (CRLF is accepted only on Windows runners), so a ``\\r`` stays
  part of a simple value and a CRLF-terminated delimiter line never matches;
* a heredoc value ends before the newline that precedes the delimiter line; the delimiter
  line itself may be the file's last line without a newline;
* an empty name, an empty delimiter, a missing delimiter, or a value line that ends the file
  without a newline fail the step ("Unable to process file command 'output' successfully.").
"""

from __future__ import annotations


class FileCommandError(Exception):
    """A file command the runner would reject; the step that wrote it fails."""

    def __init__(self, command: str, detail: str) -> None:
        self.command = command
        self.detail = detail
        super().__init__(f"Unable to process file command '{command}' successfully. {detail}")


def _read_line(text: str, index: int) -> tuple[str | None, int, str | None]:
    """Return (line, next index, newline) like the runner's ReadLine on Linux (LF only)."""
    if index >= len(text):
        return None, index, None
    lf = text.find("\n", index)
    if lf < 0:
        return text[index:], len(text), None
    return text[index:lf], lf + 1, "\n"


def parse_key_values(text: str, command: str = "output") -> dict[str, str]:
    """Parse a GITHUB_OUTPUT / GITHUB_ENV file; later records of the same name win.

    ``command`` names the file in error messages (``output`` or ``env``), as the runner does.
    """
    result: dict[str, str] = {}
    index = 0
    line, index, _ = _read_line(text, index)
    while line is not None:
        if line:
            eq = line.find("=")
            heredoc = line.find("<<")
            if eq >= 0 and (heredoc < 0 or eq < heredoc):
                name, value = line[:eq], line[eq + 1 :]
                if not name:
                    raise FileCommandError(
                        command, f"Invalid format '{line}'. Name must not be empty"
                    )
            elif heredoc >= 0:
                name, delimiter = line[:heredoc], line[heredoc + 2 :]
                if not name or not delimiter:
                    raise FileCommandError(
                        command,
                        f"Invalid format '{line}'. Name must not be empty and delimiter must "
                        "not be empty",
                    )
                start = end = index
                value_line, index, newline = _read_line(text, index)
                while value_line != delimiter:
                    if value_line is None:
                        raise FileCommandError(
                            command, f"Invalid value. Matching delimiter not found '{delimiter}'"
                        )
                    if newline is None:
                        raise FileCommandError(
                            command, "Invalid value. EOF marker missing new line."
                        )
                    end = index - len(newline)
                    value_line, index, newline = _read_line(text, index)
                value = text[start:end] if end > start else ""
            else:
                raise FileCommandError(command, f"Invalid format '{line}'")
            result[name] = value
        line, index, _ = _read_line(text, index)
    return result


def parse_path_file(text: str) -> list[str]:
    """Parse GITHUB_PATH: one directory per non-empty line, in the order written.

    The runner reads this file with .NET's ReadAllLines, which (unlike the key/value parser)
    splits on CRLF too, so a trailing ``\\r`` is dropped here.
    """
    entries: list[str] = []
    for raw in text.split("\n"):
        line = raw.removesuffix("\r")
        if line:
            if line in entries:
                entries.remove(line)
            entries.append(line)
    return entries


def prepend_path(additions: list[str], path: str) -> str:
    """PATH after GITHUB_PATH additions: the most recently added directory comes first."""
    return ":".join([*reversed(additions), *([path] if path else [])])
