"""fan_out: bounded, a value or a failure per key, lazy keys, deadline and cancel."""

from __future__ import annotations

import threading
import time

from imgpub.cancel import Cancellation
from imgpub.fanout import Failed, NotDone, fan_out


def test_each_key_gets_its_value_or_its_failure_in_key_order():
    def work(k: int) -> int:
        if k == 3:
            raise ValueError("three is bad\nmore detail")
        return k * 10

    result = fan_out(range(6), work, max_workers=3)
    assert list(result.outcomes) == [0, 1, 2, 3, 4, 5]
    assert result.values() == {0: 0, 1: 10, 2: 20, 4: 40, 5: 50}
    assert result.failed()[3].message == "three is bad"


def test_never_more_than_max_workers_at_once_and_keys_pulled_lazily():
    lock = threading.Lock()
    running = peak = pulled_ahead = 0
    started: list[int] = []

    def keys():
        nonlocal pulled_ahead
        for k in range(20):
            with lock:
                pulled_ahead = max(pulled_ahead, k - len(started))
            yield k

    def work(k: int) -> int:
        nonlocal running, peak
        with lock:
            started.append(k)
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1
        return k

    result = fan_out(keys(), work, max_workers=4)
    assert len(result.values()) == 20
    assert peak <= 4
    assert pulled_ahead <= 4, "a key is only pulled when a worker is free"


def test_on_done_runs_on_the_calling_thread():
    caller = threading.get_ident()
    seen: list[tuple[int, int]] = []
    fan_out(
        range(5),
        lambda k: k,
        max_workers=2,
        on_done=lambda k, v: seen.append((k, threading.get_ident())),
    )
    assert sorted(k for k, _ in seen) == [0, 1, 2, 3, 4]
    assert {t for _, t in seen} == {caller}


def test_cancel_stops_new_keys_and_reports_in_flight_after_the_grace():
    cancel = Cancellation()
    release = threading.Event()
    one_started = threading.Event()

    def work(k: int) -> int:
        if k == 0:
            one_started.wait(5)
            cancel.cancel("cancelled by SIGTERM")
            return 0
        one_started.set()
        release.wait(5)  # a stuck call
        return k

    result = fan_out(range(10), work, max_workers=2, cancel=cancel, grace=0.2)
    release.set()
    assert result.outcomes[0] == 0
    stuck = result.outcomes[1]
    assert isinstance(stuck, NotDone) and stuck.started
    unstarted = [v for k, v in result.outcomes.items() if k >= 2]
    assert unstarted and all(isinstance(v, NotDone) and not v.started for v in unstarted)
    assert all("SIGTERM" in v.reason for v in unstarted)


def test_a_passed_deadline_starts_nothing_new_but_awaits_what_runs():
    clock = [0.0]

    def work(k: int) -> int:
        clock[0] = 100.0  # the first key takes us past the deadline
        return k

    result = fan_out(range(5), work, max_workers=1, deadline=50.0, monotonic=lambda: clock[0])
    assert result.outcomes[0] == 0
    assert all(isinstance(result.outcomes[k], NotDone) for k in range(1, 5))
    assert not result.failed()


def test_failed_keeps_the_exception():
    boom = RuntimeError("")
    result = fan_out([1], lambda k: (_ for _ in ()).throw(boom), max_workers=1)
    failure = result.outcomes[1]
    assert (
        isinstance(failure, Failed) and failure.error is boom and failure.message == "RuntimeError"
    )
