"""``imgpub notify``: post a digest of a whole results document, for a workflow's last job.

Each stage can post its own outcome; a release of several jobs usually wants one message
at the end saying what every stage did. This reads the document (downloaded from the
jobs' artifacts) and posts the same kind of message, rendered by the same code. Like a
stage's notification it never fails the workflow: an empty webhook (a fork's run gets no
secrets) or a failed post is a warning, and only unusable input is exit 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from imgpub.cancel import Cancellation, cancel_on_signals
from imgpub.errors import EXIT_OK, InputError
from imgpub.gha import Gha
from imgpub.github.run_link import run_url
from imgpub.inputs import COMMON_INPUTS, InputReader, InputSpec
from imgpub.notify.hook import notify_document
from imgpub.notify.message import document_text
from imgpub.notify.settings import read_notify_settings
from imgpub.results import ResultsDocument, default_results_path

#: The flags of ``imgpub notify``: the results document and the notification inputs.
NOTIFY_COMMAND_INPUTS: tuple[InputSpec, ...] = tuple(
    s for s in COMMON_INPUTS if s.name == "results" or s.name.startswith("notify-")
)


def run_notify(flags: Mapping[str, str | None], env: Mapping[str, str], gha: Gha) -> int:
    reader = InputReader((), flags=flags, env=env, mask=gha.mask)
    settings = read_notify_settings(reader, gha.mask)
    given = reader.text("results")
    path = Path(given) if given else default_results_path(env)
    if not path.is_file():
        raise InputError(
            "results",
            f"{path} does not exist",
            "download the jobs' results artifact first, or pass --results PATH",
        )
    doc = ResultsDocument.load(path)
    if not doc.stages:
        raise InputError("results", f"{path} holds no stage's results", "pass a stage's document")
    text = document_text(doc, run_url=run_url(env))
    with gha.group("Notification"):
        gha.info(text)
    if settings is None:
        if reader.text("notify-on") != "never":
            gha.warning("notify-webhook is empty: nothing was posted", title="imgpub notify")
        return EXIT_OK
    cancel = Cancellation()
    with cancel_on_signals(cancel):
        notify_document(settings, doc, env=env, gha=gha, cancel=cancel)
    return EXIT_OK
