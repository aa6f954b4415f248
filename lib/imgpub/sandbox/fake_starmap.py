"""A local StArMap (APIv2 query endpoint), so that online and hybrid push can be rehearsed.

StArMap answers ``GET /api/v2/query?name=NAME&version=VERSION`` with a JSON list of
destination entities (the ``QueryResponseContainer`` format ``imgpub push`` reads from a
file) and 404 with ``{"message": ...}`` when no mapping has that name, or none of its
version patterns matches. Server side, mappings are picked per version by shell-style
patterns; :meth:`FakeStarmap.add_entry` seeds an entity with its pattern (default ``*``).
The request log lets tests see which names were asked for (hybrid mode asks only for
what the local file lacks).
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from imgpub.sandbox.fake_server import (
    FakeError,
    FakeRequest,
    FakeServer,
    json_response,
    route,
    serve,
    verb,
)


@dataclass(frozen=True)
class _Seeded:
    entity: dict[str, Any]
    version_fnmatch: str


class FakeStarmap(FakeServer):
    """StArMap's query API over seeded entities."""

    def reset_state(self) -> None:
        self.entries: list[_Seeded] = []

    def error_response(self, error: FakeError) -> Response:
        return json_response({"message": error.message}, error.status, error.headers)

    @verb
    def add_entry(self, entity: dict[str, Any], version_fnmatch: str = "*") -> None:
        """Serve ``entity`` for its name and any version matching ``version_fnmatch``."""
        self.entries.append(_Seeded(copy.deepcopy(entity), version_fnmatch))

    @route("GET", "/api/v2/query", "Query")
    def query(self, request: FakeRequest) -> Any:
        name = request.query.get("name", "")
        version = request.query.get("version", "")
        if not name:
            raise FakeError(400, "BadRequest", "the name parameter is required")
        found = [
            copy.deepcopy(e.entity)
            for e in self.entries
            if e.entity.get("name") == name
            and (not version or fnmatch.fnmatchcase(version, e.version_fnmatch))
        ]
        if not found:
            raise FakeError(404, "NotFound", f"No mappings found for name={name} version={version}")
        return found


if __name__ == "__main__":
    raise SystemExit(serve(FakeStarmap))
