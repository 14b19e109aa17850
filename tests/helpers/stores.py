"""Migrated, empty model stores for tests, without running the migrations for every test.

Migrating costs ~0.1 s on SQLite and ~0.7 s on PostgreSQL (loaded machine), and several hundred
tests each want an empty store at Alembic head; the migrations themselves are tested by
tests/unit/model/test_store.py and tests/unit/api/test_upgrade.py, which still run them.

- SQLite: the session migrates one template file; each test gets a copy (SQLite's online backup
  API, so the copy is consistent whatever the template's WAL holds).
- PostgreSQL: the session migrates one schema; each test starts by emptying every table in it
  (TRUNCATE ... RESTART IDENTITY, ~30 ms), which leaves what a fresh migration leaves, since the
  migrations insert no rows into an empty database (``MigratedSchema`` checks that once).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import func, select

from ovnet.model.schema import Base
from ovnet.model.store import Store
from tests.helpers.pg import PrivatePostgres, fresh_database_url

LOCK_TIMEOUT = "10s"  # a TRUNCATE waiting on a connection a previous test leaked fails, never hangs


def _assert_empty(store: Store) -> None:
    # An empty store at head is what a fresh migration gives only if no migration seeds rows.
    with store.engine.connect() as conn:
        seeded = {t.name: n for t in Base.metadata.sorted_tables
                  if (n := conn.execute(select(func.count()).select_from(t)).scalar_one())}
    assert not seeded, f"the migrations seed rows {seeded}; emptying tables no longer equals migrating"


class SqliteTemplate:
    """A SQLite database migrated to head once; ``copy_to(path)`` gives a test its own copy."""

    def __init__(self, directory: Path):
        self.path = directory / "template.db"
        store = Store(f"sqlite:///{self.path}")
        try:
            store.migrate()
            _assert_empty(store)
        finally:
            store.dispose()

    def copy_to(self, path: Path) -> str:
        """Write a copy of the template at ``path`` (which must not exist); return its SQLAlchemy URL."""
        with closing(sqlite3.connect(self.path)) as src, closing(sqlite3.connect(path)) as dst:
            src.backup(dst)
        return f"sqlite:///{path}"


class MigratedSchema:
    """One PostgreSQL schema migrated to head for the session; ``empty_store()`` hands it to a test
    with every table emptied. ``server`` is a PrivatePostgres or an OVNET_TEST_PG_URL string."""

    def __init__(self, server: PrivatePostgres | str):
        self._schema = fresh_database_url(server)
        self.url = self._schema.__enter__()
        store = Store(self.url)
        try:
            store.migrate()
            _assert_empty(store)
        finally:
            store.dispose()
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        self._truncate = f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; TRUNCATE {names} RESTART IDENTITY CASCADE"

    def empty_store(self) -> Store:
        """A Store on the schema with no rows in any table (the caller disposes it)."""
        store = Store(self.url)
        with store.engine.begin() as conn:
            for statement in self._truncate.split("; "):
                conn.exec_driver_sql(statement)
        return store

    def close(self) -> None:
        """Drop the schema (a no-op on an external OVNET_TEST_PG_URL server)."""
        self._schema.__exit__(None, None, None)
