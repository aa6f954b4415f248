"""The fake-server base, through a tiny fake built on it (tests/fakes/notes.py).

In-process fakes are poked directly; child-process fakes are started the way the sandbox
starts them (``services.start_fake``) and driven only over HTTP with ``FakeClient``.
Processes are checked through /proc, ports by connecting, never by trusting bookkeeping.
Waits have deadlines to fail instead of hanging; no test asserts on elapsed time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from imgpub.sandbox.fake_client import FakeClient, FakeControlError
from imgpub.sandbox.fake_log import Match
from imgpub.sandbox.fake_server import Fault
from imgpub.sandbox.fake_services import FakeService, start_fake
from imgpub.sandbox.services import RunningService
from imgpub.sandbox.serving import PortInfo
from tests.fakes.notes import NotesFake

ROOT = Path(__file__).resolve().parents[2]
NOTES = FakeService(
    name="notes",
    factory="tests.fakes.notes:NotesFake",
    env=lambda url: {"NOTES_URL": url},
    options={"prefix": "> "},
    seed={"add_note": [{"name": "first", "text": "seeded"}]},
)
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    """(status, JSON body or None, headers) of one request, errors included."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with NO_PROXY.open(req, timeout=30) as resp:
            raw, status, got = resp.read(), resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        raw, status, got = err.read(), err.code, dict(err.headers)
    return status, json.loads(raw) if raw else None, got


def wait_until(predicate: Callable[[], bool], what: str, deadline_s: float = 30.0) -> None:
    """Fail (not hang) if something that must happen does not; not a timing assertion."""
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """Running (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def port_open(url: str) -> bool:
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def fake() -> Iterator[NotesFake]:
    with NotesFake(prefix="") as server:
        yield server


@pytest.fixture
def child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningService]:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # so the child can import tests.fakes
    svc = start_fake(NOTES, tmp_path)
    yield svc
    svc.process.stop()


# -- in-process -------------------------------------------------------------------------------


def test_in_process_fake_serves_on_loopback_and_state_is_pokeable(fake: NotesFake) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    assert call("PUT", fake.url + "/notes/a", {"text": "hello"})[:2] == (
        201,
        {"name": "a", "text": "hello"},
    )
    assert call("PUT", fake.url + "/notes/a", {"text": "again"})[0] == 200
    with fake.lock:
        assert fake.notes == {"a": "again"}
        fake.notes["b"] = "poked"
    assert call("GET", fake.url + "/notes")[1] == {"names": ["a", "b"]}
    assert call("GET", fake.url + "/files/x/y/z.txt?v=1&v=2")[1] == {
        "path": "x/y/z.txt",
        "query": {"v": "1"},
    }


def test_stop_releases_the_port(fake: NotesFake) -> None:
    url = fake.url
    assert port_open(url)
    fake.stop()
    assert not port_open(url)
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.url


def test_request_log_records_what_was_served(fake: NotesFake) -> None:
    call(
        "PUT",
        fake.url + "/notes/a?draft=1",
        {"text": "x"},
        {"Authorization": "Bearer secret-token", "X-Note-Trace": "t1", "X-Other": "no"},
    )
    call("GET", fake.url + "/notes/missing")
    fake.client().health()  # control calls are not recorded
    put, get = fake.log.all()
    assert (put.operation, put.method, put.path, put.query) == (
        "PutNote",
        "PUT",
        "/notes/a",
        {"draft": "1"},
    )
    assert put.body == {"text": "x"} and put.status == 201 and put.authorization
    assert put.headers == {"Content-Type": "application/json", "X-Note-Trace": "t1"}
    assert "secret-token" not in json.dumps(put.to_json())
    assert (get.operation, get.status, get.body, get.authorization) == ("GetNote", 404, None, False)
    assert fake.log.count("PutNote") == 1
    assert fake.log.count(method="get", path=r"^/notes/") == 1
    assert fake.log.matching(path="missing") == [get]


def test_unknown_routes_methods_and_bodies_are_errors_in_the_fakes_format(fake: NotesFake) -> None:
    status, body, _ = call("GET", fake.url + "/nope")
    assert (status, body["error"]["code"]) == (404, "NotFound")
    status, body, _ = call("POST", fake.url + "/notes/a", {"text": "x"})
    assert (status, body["error"]["code"]) == (405, "MethodNotAllowed")
    req = urllib.request.Request(
        fake.url + "/notes/a",
        data=b"{not json",
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        NO_PROXY.open(req, timeout=30)
    assert err.value.code == 400 and json.load(err.value)["error"]["code"] == "BadRequest"
    status, body, _ = call("PUT", fake.url + "/notes/a", {"wrong": 1})
    assert (status, body["error"]["code"]) == (400, "BadNote")
    assert fake.notes == {}
    assert [r.operation for r in fake.log.all()] == [None, None, "PutNote", "PutNote"]


def test_a_bug_in_a_handler_is_a_readable_500(fake: NotesFake) -> None:
    with fake.lock:
        fake.notes = None  # type: ignore[assignment]
    status, body, _ = call("GET", fake.url + "/notes")
    assert status == 500 and body["error"]["code"] == "FakeBug"
    assert "TypeError" in body["error"]["message"]


# -- faults and latency -----------------------------------------------------------------------


def test_fault_fails_n_matching_calls_then_the_fake_serves_normally(fake: NotesFake) -> None:
    fake.faults.fail("PutNote", status=503, times=2, headers={"Retry-After": "0"})
    first = call("PUT", fake.url + "/notes/a", {"text": "x"})
    assert first[0] == 503 and first[2]["Retry-After"] == "0"
    assert first[1]["error"]["code"] == "ServiceUnavailable"
    assert fake.notes == {}, "a failed call changes nothing"
    assert call("GET", fake.url + "/notes")[0] == 200, "other operations are not affected"
    assert fake.faults.pending()[0].times == 1
    assert call("PUT", fake.url + "/notes/a", {"text": "x"})[0] == 503
    assert call("PUT", fake.url + "/notes/a", {"text": "x"})[0] == 201
    assert fake.faults.pending() == []
    assert [r.status for r in fake.log.matching("PutNote")] == [503, 503, 201]
    assert fake.notes == {"a": "x"}


def test_fault_by_method_and_path_with_a_given_body_and_code(fake: NotesFake) -> None:
    fake.faults.fail(method="GET", path=r"/notes/b$", status=429, body={"custom": True})
    fake.faults.fail(
        method="GET", path=r"/notes/", status=500, code="Boom", message="kaput", times=None
    )
    assert call("GET", fake.url + "/notes/b")[:2] == (429, {"custom": True})
    # the first matching failure wins; the always-failing one still applies afterwards
    for _ in range(3):
        status, body, _ = call("GET", fake.url + "/notes/b")
        assert (status, body["error"]) == (500, {"code": "Boom", "message": "kaput"})
    assert call("GET", fake.url + "/notes")[0] == 200
    fake.faults.clear()
    assert call("GET", fake.url + "/notes/b")[0] == 404


def test_bad_faults_are_refused_where_they_are_given(fake: NotesFake) -> None:
    with pytest.raises(ValueError, match="status"):
        fake.faults.fail("PutNote", status=200)
    with pytest.raises(ValueError, match="a status to fail with or a delay"):
        fake.faults.add(Fault(Match("PutNote"), status=None, delay=0))
    with pytest.raises(ValueError, match="times"):
        fake.faults.fail("PutNote", status=500, times=0)
    with pytest.raises(ValueError, match=r"path '\(\[' is not a regular expression"):
        fake.client().faults.fail(path="([", status=500)
    with pytest.raises(FakeControlError, match="not a regular expression"):  # raw, to the server
        fake.client().request("POST", "faults", {"path": "([", "status": 500})
    with pytest.raises(FakeControlError, match="4xx or 5xx"):
        fake.client().request("POST", "faults", {"operation": "PutNote", "status": 302})
    assert fake.faults.pending() == []


def test_latency_delays_only_matching_calls_and_stop_wakes_them(fake: NotesFake) -> None:
    fake.add_note("a", "x")
    fake.faults.delay("GetNote", seconds=120)
    answers: list[int] = []
    slow = threading.Thread(target=lambda: answers.append(call("GET", fake.url + "/notes/a")[0]))
    slow.start()
    wait_until(lambda: fake.log.count("GetNote") == 1, "the delayed request to arrive")
    # While it waits, other operations are served: the delay is per operation, not global.
    assert call("PUT", fake.url + "/notes/b", {"text": "y"})[0] == 201
    assert call("GET", fake.url + "/notes")[0] == 200
    [pending] = fake.log.matching("GetNote")
    assert pending.status is None and answers == []
    fake.stop()  # stopping wakes delayed handlers: nothing waits out its delay
    slow.join(timeout=30)
    assert not slow.is_alive() and answers == [200]


def test_reset_forgets_state_requests_and_faults(fake: NotesFake) -> None:
    fake.add_note("a", "x")
    fake.faults.fail("GetNote", status=500, times=None)
    call("GET", fake.url + "/notes/a")
    fake.reset()
    assert fake.notes == {} and fake.log.all() == [] and fake.faults.pending() == []
    assert call("GET", fake.url + "/notes/a")[0] == 404


# -- seed, verbs and the client ---------------------------------------------------------------


def test_seed_calls_verbs_and_refuses_unknown_ones(fake: NotesFake) -> None:
    fake.seed({"add_note": [{"name": "a", "text": "1"}, {"name": "b", "text": "2"}]})
    assert fake.note_names() == ["a", "b"]
    with pytest.raises(ValueError, match=r"no seed verbs \['add_gallery'\].*add_note"):
        fake.seed({"add_gallery": [{}]})


def test_client_drives_everything_over_the_control_api(fake: NotesFake) -> None:
    client = FakeClient(fake.url)
    health = client.health()
    assert health == {"ok": True, "fake": "NotesFake", "pid": os.getpid(), "url": fake.url}
    client.seed({"add_note": [{"name": "a", "text": "1"}]})
    client.call("add_note", name="b", text="2")
    assert client.call("note_names") == ["a", "b"]
    client.faults.fail("GetNote", status=500, times=1)
    client.faults.delay("ListNotes", seconds=0.01, times=2)
    assert [(f.match.operation, f.status, f.delay, f.times) for f in client.faults.pending()] == [
        ("GetNote", 500, 0.0, 1),
        ("ListNotes", None, 0.01, 2),
    ]
    assert call("GET", fake.url + "/notes/a")[0] == 500
    assert call("GET", fake.url + "/notes/a")[0] == 200
    assert client.log.count("GetNote") == 2
    assert [r.status for r in client.log.matching(method="GET")] == [500, 200]
    assert client.log.all() == fake.log.all()
    client.log.clear()
    assert fake.log.all() == [] and fake.note_names() == ["a", "b"]
    client.faults.clear()
    assert fake.faults.pending() == []
    client.reset()
    assert fake.note_names() == []


def test_client_errors_name_the_problem(fake: NotesFake) -> None:
    client = fake.client()
    with pytest.raises(FakeControlError, match=r"no verb 'drop_all'.*add_note"):
        client.call("drop_all")
    with pytest.raises(FakeControlError, match="TypeError"):
        client.call("add_note", name="a")  # text missing
    with pytest.raises(FakeControlError, match="no control route GET /_fake/nothing"):
        client.request("GET", "nothing")
    with pytest.raises(ValueError, match="http"):
        FakeClient("127.0.0.1:1")
    assert fake.log.all() == []


# -- child processes --------------------------------------------------------------------------


def test_child_process_writes_one_port_file_and_serves_its_seed(
    child: RunningService, tmp_path: Path
) -> None:
    info = PortInfo.read(tmp_path / "notes.port")
    assert info is not None
    raw = json.loads((tmp_path / "notes.port").read_text())
    assert set(raw) == {"host", "port", "url", "pid"}
    assert (info.host, info.pid) == ("127.0.0.1", child.process.proc.pid)
    assert child.info["endpoint"] == info.url and child.env == {"NOTES_URL": info.url}
    client = FakeClient(info.url)
    assert client.health()["pid"] == child.process.proc.pid
    assert call("GET", info.url + "/notes/first")[1] == {"name": "first", "text": "> seeded"}
    client.faults.fail("GetNote", status=503)
    assert call("GET", info.url + "/notes/first")[0] == 503
    assert [r.status for r in client.log.all()] == [200, 503]


def test_stopping_a_child_leaves_no_process_and_no_port(
    child: RunningService, tmp_path: Path
) -> None:
    pid, url = child.process.proc.pid, child.info["endpoint"]
    child.process.stop()
    assert child.process.proc.returncode == 0, "a clean stop on SIGTERM"
    assert not alive(pid) and not port_open(url)
    assert not (tmp_path / "notes.port").exists(), "the port file goes with the server"


def test_sigterm_and_sigint_stop_a_child_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for sig in (signal.SIGTERM, signal.SIGINT):
        port_file = tmp_path / f"{sig.name}.port"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imgpub.sandbox.fake_server",
                NOTES.factory,
                "--port-file",
                str(port_file),
            ],
            env=env,
            stderr=subprocess.PIPE,
        )
        try:
            wait_until(lambda: PortInfo.read(port_file) is not None, "the port file")  # noqa: B023
            url = PortInfo.read(port_file).url
            assert FakeClient(url).health()["ok"]
            proc.send_signal(sig)
            assert proc.wait(timeout=30) == 0
            assert not port_open(url) and not port_file.exists()
            assert b"Traceback" not in proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


STARTER = """
import json, subprocess, sys, time
from pathlib import Path
if sys.argv[1] == "popen":  # only the server's own parent watch can notice
    child = subprocess.Popen([sys.executable, "-m", "imgpub.sandbox.fake_server",
        "tests.fakes.notes:NotesFake", "--port-file", sys.argv[2], "--exit-with-parent"])
    pid = child.pid
else:  # the sandbox's launcher (PR_SET_PDEATHSIG as well)
    from imgpub.sandbox.fake_services import FakeService, start_fake
    svc = start_fake(FakeService("notes", "tests.fakes.notes:NotesFake", env=lambda url: {}),
                     Path(sys.argv[2]).parent)
    pid = svc.process.proc.pid
print(pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("launcher", ["popen", "start_fake"])
def test_a_child_dies_with_its_sigkilled_parent(tmp_path: Path, launcher: str) -> None:
    port_file = tmp_path / "notes.port"
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, launcher, str(port_file)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert starter.stdout is not None
    server_pid = int(starter.stdout.readline())
    try:
        wait_until(lambda: PortInfo.read(port_file) is not None, "the port file")
        url = PortInfo.read(port_file).url
        assert FakeClient(url).health()["pid"] == server_pid
        starter.kill()
        starter.wait()
        wait_until(lambda: not alive(server_pid), "the orphaned server to stop")
        assert not port_open(url)
    finally:
        if alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)
        if starter.poll() is None:
            starter.kill()
            starter.wait()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tests.fakes.notes:NotesFake", "--host", "0.0.0.0"], "not a loopback address"),
        (["tests.fakes.notes:Nope"], "is not a FakeServer subclass"),
        (["json:JSONDecoder"], "is not a FakeServer subclass"),
        (["tests.fakes.notes:NotesFake", "--option", "novalue"], "expected name=value"),
        (
            ["tests.fakes.notes:NotesFake", "--option", "colour=1"],
            "unexpected keyword argument 'colour'",
        ),
        (["tests.fakes.notes:NotesFake", "--seed", "bad-seed.json"], "no seed verbs ['drop_all']"),
        (["tests.fakes.notes:NotesFake", "--seed", "missing.json"], "FileNotFoundError"),
    ],
)
def test_serve_refuses_bad_command_lines_with_exit_2(
    argv: list[str], message: str, tmp_path: Path
) -> None:
    (tmp_path / "bad-seed.json").write_text('{"drop_all": [{}]}')
    result = subprocess.run(
        [sys.executable, "-m", "imgpub.sandbox.fake_server", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
