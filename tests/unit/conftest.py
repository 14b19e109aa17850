"""The unit tier leaks nothing: a ResourceWarning (an unclosed socket, file or httpx client, a
subprocess dropped while running), raised directly or from a destructor, fails the test it shows
in, so a new leak is found where it is made rather than in a later run with ``-W``."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

UNIT = Path(__file__).parent
_garbage_of_earlier_tiers_collected = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(UNIT):
            item.add_marker(pytest.mark.filterwarnings("error::ResourceWarning"))
            item.add_marker(pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    # A whole-suite run reaches this tier after the e2e and integration tiers, which do not hold
    # themselves to this rule: a Popen object of a process still running, dropped there, was
    # collected inside the first unit test and failed it (a fresh-clone CI run). Their garbage is
    # collected once before this tier's filters apply (outermost wrapper), so it stays a warning.
    global _garbage_of_earlier_tiers_collected
    if not _garbage_of_earlier_tiers_collected and item.path.is_relative_to(UNIT):
        _garbage_of_earlier_tiers_collected = True
        gc.collect()
    return (yield)
