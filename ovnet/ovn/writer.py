"""The syncer's writer role: one ovnet-server per store applies the outbox to OVN NB.

Several ovnet-server processes may share one PostgreSQL store. Exactly one of them, the holder of
a PostgreSQL session-level advisory lock, applies the outbox and runs the reconcile; the others
serve the API and only wait for the outbox to drain. The lock lives on a connection of its own,
outside the pool, so it ends exactly when that connection does: a holder killed with SIGKILL loses
its socket, PostgreSQL ends the session and frees the lock, and the next process that asks
(every ``OUTBOX_POLL`` second, ovnet.ovn.syncer) takes over.

Why an advisory lock rather than ``FOR UPDATE SKIP LOCKED`` claims or an OVSDB lock on NB: claims
would let several servers apply at once, so two servers could apply a network's and its port's
changes out of order, and their full reconciles, each from its own snapshot, could undo each
other; one writer keeps the outbox's order and the reconcile simple. An OVSDB lock would tie the
role to NB connectivity (every standby loses it during a Raft leader change) while the work to
guard is reading the outbox in SQL: the advisory lock sits next to that data, needs no schema
change, and PostgreSQL already tracks the session it belongs to.

An SQLite store has one server by construction (the file is local), so that process is always the
writer, as before.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from ovnet.model.schema import Outbox
from ovnet.model.store import Store

LOG = logging.getLogger(__name__)
# First key of the two-key advisory lock ("ovn" in ASCII): names ovnet's syncer among whatever
# else uses advisory locks in that database. The second key is the hash of the schema, so
# installations sharing one database in different schemas each have their own writer.
LOCK_CLASS = 0x6F766E
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:cls, hashtext(current_schema()))")
_UNLOCK = text("SELECT pg_advisory_unlock(:cls, hashtext(current_schema()))")
DRAIN_POLL_S = 0.05  # how often a non-writer looks whether the writer applied the outbox


class WriterRole:
    """Whether this process is the syncer writer of ``store``.

    ``try_take()`` takes the role when free, or confirms it is still held (a query on the lock's
    connection: a lost connection means a lost lock). ``release()`` gives it up. ``held`` is the
    last known answer. On SQLite ``held`` is always True. Not thread-safe: the syncer's worker
    thread alone calls ``try_take``/``release``.
    """

    def __init__(self, store: Store):
        self.store = store
        self.shared = not store.is_sqlite
        self.held = not self.shared
        self._conn: Connection | None = None
        # Its own engine without a pool: closing the connection really ends the session (and
        # with it the lock) instead of parking it, lock and all, in a pool.
        self._engine = create_engine(store.url, poolclass=NullPool) if self.shared else None

    def try_take(self) -> bool:
        """True when this process holds the role now (taking it if no one does); never blocks on
        another holder. A database error counts as not holding it and is logged."""
        if not self.shared:
            return True
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if self.held:
                self._conn.execute(text("SELECT 1"))
            else:
                self.held = bool(self._conn.execute(_TRY_LOCK, {"cls": LOCK_CLASS}).scalar())
        except DBAPIError as exc:
            if self.held:
                LOG.warning("lost the syncer writer role (its database connection failed: %s)", exc.orig)
            self._drop()
        return self.held

    def release(self) -> None:
        """Give the role up (no-op when not held) and close the lock's connection."""
        if self._conn is not None and self.held:
            try:
                self._conn.execute(_UNLOCK, {"cls": LOCK_CLASS})
            except DBAPIError:
                pass  # closing the connection below frees the lock anyway
        self._drop()
        if self._engine is not None:
            self._engine.dispose()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self.held = not self.shared


def wait_applied(store: Store, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds until every outbox row committed before this call is gone
    (another process, the writer, applied it to NB). True when it is, False on timeout.

    Outbox ids only grow, so the rows to wait for are those with ids up to the largest present
    now. A non-writer has no event from the writer, so this looks every DRAIN_POLL_S seconds.
    """
    deadline = time.monotonic() + timeout
    with store.session(readonly=True) as session:
        last = session.scalar(select(func.max(Outbox.id)))
    while last is not None:
        with store.session(readonly=True) as session:
            if session.scalar(select(Outbox.id).where(Outbox.id <= last).limit(1)) is None:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(DRAIN_POLL_S)
    return True
