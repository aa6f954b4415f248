"""The error hierarchy, one exit code per kind.

Every error a user can meet is an :class:`ImgpubError` whose message is one line that says
what is wrong and what to do next. The CLI prints that line (a traceback only with
``--debug``) and exits with the class's code, so the exit code always tells a workflow
whether anything in the cloud may have changed:

* 2 (:class:`InputError`, :class:`ConfigError`): found before any change; only read-only
  calls, if any, were made. Fix the input and re-run.
* 1 (:class:`CloudError` and anything unexpected): the stage failed; the results document
  says what was done before the failure, and a re-run resumes.
* 3 (:class:`PartialFailure`): some targets failed, the others are done.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_PARTIAL = 3


class ImgpubError(Exception):
    """Base of every error imgpub reports to its user."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, remedy: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy

    def one_line(self) -> str:
        """The message and remedy as one line, as the CLI prints it."""
        text = self.message if not self.remedy else f"{self.message} — {self.remedy}"
        return " ".join(text.split())


class InputError(ImgpubError):
    """A bad input value; raised before anything in the cloud is touched."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, name: str, problem: str, fix: str) -> None:
        super().__init__(f"input '{name}': {problem}", remedy=fix)
        self.name = name


class ConfigError(ImgpubError):
    """The environment or a configuration file is unusable (credentials, files, tools)."""

    exit_code = EXIT_BAD_INPUT


class CloudError(ImgpubError):
    """A cloud call failed in a way that stops the stage."""

    exit_code = EXIT_FAILURE


class PartialFailure(ImgpubError):
    """Some targets failed while the others finished; the results document lists which."""

    exit_code = EXIT_PARTIAL
