"""The one polling helper of the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str | None = None) -> T:
    """Call ``check()`` every ``interval`` seconds until it returns something true or ``timeout``
    seconds have passed; return its last value (false on timeout). With ``what``, a timeout raises
    AssertionError "timed out after T s waiting for WHAT" instead.

    For state that other processes reach on their own (an NB replica, a port status, a restarted
    container); a test that can wait on an event should. The ceiling is for a loaded CI machine (a
    passing wait returns as soon as its condition holds): waiting for something NOT to happen is
    not what this is for.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if not value and what is not None:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
    return value
