"""ovnet.ovn.gcpause: the collector is off inside every pause and back as it was after the last one,
whatever the nesting, the threads or an exception."""

from __future__ import annotations

import gc
import threading

import pytest

from ovnet.ovn import gcpause


@pytest.fixture(autouse=True)
def collector_restored():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_nested_pauses_enable_the_collector_only_after_the_outer_one():
    gc.enable()
    with gcpause.paused():
        assert not gc.isenabled()
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_exception_still_ends_the_pause():
    gc.enable()
    with pytest.raises(ValueError), gcpause.paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with gcpause.paused():
        pass
    assert not gc.isenabled()


def test_a_thread_ending_its_pause_does_not_end_another_threads_pause():
    gc.enable()
    entered, release = threading.Event(), threading.Event()
    seen = []

    def other():
        with gcpause.paused():
            entered.set()
            release.wait(10)
            seen.append(gc.isenabled())

    thread = threading.Thread(target=other)
    with gcpause.paused():
        thread.start()
        assert entered.wait(10)
    assert not gc.isenabled()  # this thread's pause ended; the other's has not
    release.set()
    thread.join(10)
    assert seen == [False]
    assert gc.isenabled()
