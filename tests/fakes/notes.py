"""A tiny REST fake on the fake-server base: notes by name (the base's own tests use it)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from imgpub.sandbox.fake_server import (
    FakeError,
    FakeRequest,
    FakeServer,
    json_response,
    route,
    verb,
)


class NotesFake(FakeServer):
    """``PUT/GET/DELETE /notes/<name>``, ``GET /notes`` and ``GET /files/<path:rest>``."""

    RECORD_HEADERS = (*FakeServer.RECORD_HEADERS, "X-Note-Trace")

    def __init__(self, *, prefix: str = "", **server: Any) -> None:
        self.prefix = prefix
        super().__init__(**server)

    def reset_state(self) -> None:
        self.notes: dict[str, str] = {}

    @verb
    def add_note(self, name: str, text: str) -> None:
        self.notes[name] = self.prefix + text

    @verb
    def note_names(self) -> list[str]:
        return sorted(self.notes)

    @route("GET", "/notes", "ListNotes")
    def list_notes(self, request: FakeRequest) -> Any:
        return {"names": self.note_names()}

    @route("GET", "/notes/<name>", "GetNote")
    def get_note(self, request: FakeRequest, name: str) -> Any:
        if name not in self.notes:
            raise FakeError(404, "NoSuchNote", f"There is no note {name}.")
        return {"name": name, "text": self.notes[name]}

    @route("PUT", "/notes/<name>", "PutNote")
    def put_note(self, request: FakeRequest, name: str) -> Any:
        if not isinstance(request.body, dict) or not isinstance(request.body.get("text"), str):
            raise FakeError(400, "BadNote", 'A note is {"text": "..."}.')
        existed = name in self.notes
        self.add_note(name, request.body["text"])
        return json_response({"name": name, "text": self.notes[name]}, 200 if existed else 201)

    @route("DELETE", "/notes/<name>", "DeleteNote")
    def delete_note(self, request: FakeRequest, name: str) -> Any:
        self.notes.pop(name, None)
        return Response(status=204)

    @route("GET", "/files/<path:rest>", "GetFile")
    def get_file(self, request: FakeRequest, rest: str) -> Any:
        return {"path": rest, "query": request.query.to_dict()}
