"""Where mappings come from: a local container, a StArMap server, or both (hybrid).

The three modes StArMap's users know:

* **offline** (``offline: true``): only the local mapping; an item it lacks fails, alone.
* **online** (``starmap-url`` only): ``GET <url>/api/v2/query?name=…&version=…``.
* **hybrid** (both): the local mapping first, the server for the names it lacks; a
  server's answer is kept for the rest of the run.

A query is read-only, so it belongs to planning: a server that answers with a malformed
container is exit 2 (naming the JSON path), one that does not answer fails that item.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from imgpub.push.mapping import parse_entities
from imgpub.push.model import Entity, PushItem
from imgpub.redact import redact_urls

QUERY_PATH = "/api/v2/query"
TIMEOUT_SECONDS = 30.0


class NoMapping(Exception):
    """No mapping for one item: that item fails, the others go on."""


@dataclass
class MappingResolver:
    local: tuple[Entity, ...]
    url: str = ""
    offline: bool = False
    queried: list[str] = field(default_factory=list)
    _cache: dict[tuple[str, str], tuple[Entity, ...]] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        if self.offline or not self.url:
            return "offline"
        return "hybrid" if self.local else "online"

    def resolve(self, item: PushItem) -> tuple[Entity, ...]:
        found = tuple(e for e in self.local if e.name == item.name)
        if found:
            return found
        if self.mode == "offline":
            raise NoMapping(f"no mapping named {item.name!r} in the mapping file (offline mode)")
        key = (item.name, item.version)
        if key not in self._cache:
            self._cache[key] = self._query(item)
        return self._cache[key]

    def _query(self, item: PushItem) -> tuple[Entity, ...]:
        query = urllib.parse.urlencode({"name": item.name, "version": item.version})
        url = f"{self.url.rstrip('/')}{QUERY_PATH}?{query}"
        self.queried.append(item.name)
        try:
            # starmap-url is checked to be http(s) when read.
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NoMapping(f"StArMap has no mapping for {item.name} {item.version}") from None
            raise NoMapping(f"StArMap answered {exc.code} for {item.name} {item.version}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            where = redact_urls(self.url)
            raise NoMapping(f"StArMap at {where} did not answer: {exc}") from None
        origin = f"StArMap's answer for {item.name} {item.version}"
        return parse_entities(body, origin=origin, input_name="starmap-url")
