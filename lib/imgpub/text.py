"""Small wording helpers every stage uses the same way: sizes and one-line errors."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_bytes(value: float) -> str:
    """``1536`` → ``1.5 KiB``: binary units, whole bytes below 1 KiB."""
    size = float(value)
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns


def first_line(error: BaseException | str) -> str:
    """The first line of an error, white space folded; the type name if it says nothing.

    SDK errors carry multi-line bodies (HTTP traces, XML); a log line, a summary cell and
    the results document want one line.
    """
    text = str(error).strip()
    if not text:
        return type(error).__name__ if isinstance(error, BaseException) else ""
    return " ".join(text.splitlines()[0].split())
