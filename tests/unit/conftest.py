"""The unit tier leaks nothing: a ResourceWarning (an unclosed socket, file or httpx client, a
subprocess dropped while running), raised directly or from a destructor, fails the test it shows
in, so a new leak is found where it is made rather than in a later run with ``-W``."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(__file__.rpartition("/")[0]):
            item.add_marker(pytest.mark.filterwarnings("error::ResourceWarning"))
            item.add_marker(pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning"))
