"""A process environment that holds for a while, then is put back as it was.

The SDKs read endpoints and credentials from ``os.environ`` (botocore's ``AWS_ENDPOINT_URL``
and credential chain, azure-identity's environment credential), not from the mapping a stage
is given; an in-process caller that runs stages under another environment (the demo against
the sandbox, push with each account's credentials) sets it here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def process_environment(env: Mapping[str, str]) -> Iterator[None]:
    """The process environment is exactly ``env`` for a while, then what it was.

    Callers run stages one at a time, so one environment holds at a time, as if each
    stage were its own process.
    """
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
