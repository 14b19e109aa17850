"""The SQL store: one engine, sessions, retried write transactions and Alembic migrations.

SQLite (the embedded default) runs in WAL mode with foreign keys on; a write transaction starts
with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of failing
when a read lock cannot be upgraded. PostgreSQL is used as given by its URL.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ovnet.model import prepared
from ovnet.model.errors import Conflict

T = TypeVar("T")
MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_ATTEMPTS = 8
RETRY_JITTER_S = 0.005


def _json_loads(text: str | bytes):
    # JSON columns (tags, binding:profile, address pairs, ...) are nearly always empty; a listing
    # of 10,000 ports decoded 30,000 of them, and json.loads of "[]" costs ~20x a dict lookup.
    empty = _EMPTY_JSON.get(text)
    return empty() if empty is not None else json.loads(text)


_EMPTY_JSON = {"[]": list, "{}": dict, b"[]": list, b"{}": dict}


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001 - DB-API objects
        # pysqlite's own implicit BEGIN would defeat BEGIN IMMEDIATE below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # LIKE matches tags (query._tag_match), which are case-sensitive as in Neutron; SQLite's
        # LIKE folds ASCII case unless told otherwise (PostgreSQL's never does).
        cur.execute("PRAGMA case_sensitive_like=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        immediate = conn.get_execution_options().get("ovnet_write", False)
        # On the driver's connection: exec_driver_sql's execution context cost a twentieth of a
        # single port create. Its errors come wrapped, so Store.run still sees "database is
        # locked" as OperationalError (and retries it).
        prepared.execute_text(conn, "BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    """The model's SQL database at ``sql_url`` (any SQLAlchemy URL; sqlite:/// or postgresql+psycopg://).

    ``session()`` yields a Session committed on success and rolled back on error. ``run(fn)`` runs
    ``fn(session)`` in a write transaction and retries it when a unique constraint or a lock lost a
    race with a concurrent writer, so callers re-check state on each attempt.
    """

    def __init__(self, sql_url: str):
        self.url = sql_url
        self.is_sqlite = sql_url.startswith("sqlite")
        kwargs: dict = {"json_deserializer": _json_loads}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            kwargs["pool_size"] = 16
        else:
            kwargs.update(pool_size=16, max_overflow=16, pool_pre_ping=True)
        self.engine = create_engine(sql_url, **kwargs)
        if self.is_sqlite:
            _setup_sqlite(self.engine)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self.engine.execution_options(ovnet_write=True), expire_on_commit=False)
        self._write_lock = threading.RLock() if self.is_sqlite else contextlib.nullcontext()

    @contextlib.contextmanager
    def session(self, readonly: bool = False) -> Iterator[Session]:
        """A transaction as a Session: committed when the block ends, rolled back if it raises.

        ``readonly=True`` takes no write lock on SQLite (use it for snapshots and listings).
        """
        if readonly:
            with self._reader() as session, session.begin():
                yield session
            return
        # SQLite has one writer at a time; queueing this process's writers on a lock hands the
        # database over at once, where SQLite's busy handler would make them sleep and poll.
        with self._write_lock, self._writer() as session, session.begin():
            yield session

    def run(self, fn: Callable[[Session], T], readonly: bool = False) -> T:
        """Run ``fn(session)`` in one transaction and return its result.

        Write transactions that lose a race (IntegrityError, e.g. two writers picked the same free
        IP; or a serialization/lock error) are retried from scratch up to WRITE_ATTEMPTS times;
        then Conflict is raised. ModelError raised by ``fn`` rolls back and propagates as is.
        """
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.session(readonly=readonly) as session:
                    return fn(session)
            except (IntegrityError, OperationalError) as exc:
                if readonly or attempt == WRITE_ATTEMPTS - 1 or not _is_race(exc):
                    if isinstance(exc, IntegrityError):
                        raise Conflict("A concurrent request changed the same resources; retry.") from exc
                    raise
                time.sleep(random.uniform(0, RETRY_JITTER_S * (attempt + 1)))  # de-synchronise the losers
        raise AssertionError("unreachable")

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to Alembic ``revision`` (default the newest: alembic upgrade head; an
        older one lets the upgrade test build a previous release's schema)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection if self.url.startswith("sqlite") else None
            if raw is not None:
                # A migration that changes a table on SQLite rebuilds it (Alembic's batch mode: copy,
                # drop, rename); with foreign keys on, the drop cascade-deleted every row referring to
                # it (0003 rebuilt networks: every subnet, port and address of a previous release was
                # lost). The pragma only takes effect outside a transaction, hence the raw connection
                # (autocommit, see _setup_sqlite); the check afterwards proves nothing dangles.
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, revision)
                if raw is not None:
                    dangling = raw.execute("PRAGMA foreign_key_check").fetchall()
                    if dangling:
                        raise RuntimeError(f"the migration left rows referring to nothing: {dangling[:5]}")
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def connection(session: Session) -> Connection:
    """``session``'s connection for a Core statement, after the autoflush an ORM query would do
    there (so it sees the session's pending rows, unless autoflush is off). A statement built once
    with bind parameters and run here skips building it, its cache key and the ORM's execution
    path: for the one-row reads of a port create that was 3x to 5x their cost."""
    if session.autoflush:
        session.flush()
    return session.connection()


def _is_race(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return "locked" in text or "deadlock" in text or "could not serialize" in text
