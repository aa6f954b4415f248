"""The one error a disk source raises that is not a plain bad input."""

from __future__ import annotations

from imgpub.errors import InputError


class CorruptSource(InputError):
    """The image's stream is corrupt or truncated: no blob can ever be completed from it.

    An input error, because the input is what is wrong. Raised before anything is written
    it is exit 2 like any other; raised while a blob is being written it is a failure of
    the run (the stage flow knows that changes have begun), and it tells the uploader that
    its partial blob is worthless and may be removed — unlike a broken connection, after
    which the same source resumes the same blob.
    """
