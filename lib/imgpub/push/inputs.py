"""Reading push's inputs: every problem found here is exit 2 and nothing has been touched."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imgpub.errors import InputError
from imgpub.inputs import InputReader
from imgpub.push.credentials import read_credentials
from imgpub.push.mapping import load_mapping_text, parse_entities
from imgpub.push.model import Credentials, Entity, PushItem
from imgpub.push.skip import parse_skip
from imgpub.push.sources import read_sources
from imgpub.push.workflows import PushOptions

WORKFLOWS = ("all", "stratosphere", "community")
_CONTAINER_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,50}$")


@dataclass(frozen=True)
class PushInputs:
    items: tuple[PushItem, ...]
    local: tuple[Entity, ...]
    starmap_url: str
    offline: bool
    credentials: dict[str, Credentials]
    options: PushOptions


def _mapping(text: str) -> tuple[Entity, ...]:
    if not text:
        return ()
    if text.lstrip().startswith(("[", "{")):
        origin, body = "inline mapping", text
    else:
        path = Path(text)
        try:
            body = path.read_text("utf-8")
        except OSError as exc:
            raise InputError(
                "mapping", f"cannot read {path}: {exc.strerror}", "give an existing file"
            ) from None
        origin = str(path)
    return parse_entities(load_mapping_text(body, origin=origin), origin=origin)


def parse_push_inputs(reader: InputReader, mask: Callable[[str], None]) -> PushInputs:
    # Credentials first: their values are masked before anything else can print them.
    credentials = read_credentials(reader.secret("credentials"), mask)
    skip = parse_skip(reader.items("skip"))
    workflow = reader.text("workflow") or "all"
    if workflow not in WORKFLOWS:
        raise InputError(
            "workflow", f"{workflow!r} is not a workflow", f"use {', '.join(WORKFLOWS)}"
        )
    prefix = reader.text("container-prefix")
    if prefix and not _CONTAINER_PREFIX.match(prefix):
        raise InputError(
            "container-prefix",
            f"{prefix!r} cannot start an Azure container name",
            "use lowercase letters, digits and single hyphens (at most 51)",
        )
    local = _mapping(reader.text("mapping"))
    url = reader.text("starmap-url")
    if url and not re.match(r"^https?://[^\s/]+", url):
        raise InputError("starmap-url", f"{url!r} is not an http(s) URL", "give https://host")
    offline = reader.boolean("offline")
    if offline and not local:
        raise InputError("offline", "offline needs a mapping", "give mapping, or drop offline")
    if not local and not url:
        raise InputError("mapping", "no mapping and no starmap-url", "give one (or both: hybrid)")
    items = read_sources(reader.lines("sources"), beta=reader.boolean("beta"))
    options = PushOptions(reader.boolean("pre-push"), skip, prefix, workflow)
    return PushInputs(tuple(items), local, url, offline, credentials, options)
