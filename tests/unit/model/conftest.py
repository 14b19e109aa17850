"""Store fixtures of the model tests: every test taking ``store`` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib

import pytest

from ovnet.model.store import Store
from tests.pg import fresh_database_url, postgres_server  # noqa: F401 - fixture re-export


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    """A migrated, empty Store: SQLite (WAL) in tmp_path, or a fresh database on a private PostgreSQL."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'model.db'}"
        else:
            url = stack.enter_context(fresh_database_url(request.getfixturevalue("postgres_server")))
        st = Store(url)
        stack.callback(st.dispose)
        st.migrate()
        yield st
