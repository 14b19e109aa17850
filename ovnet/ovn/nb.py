"""The OVN northbound connection: read ovnet's rows, apply a diff (one transaction per batch of
up to ``MAX_TXN_ROWS`` rows), watch ``Logical_Switch_Port.up``.

Built on ovsdbapp's connection thread and transaction retry loop (OVSDB RFC 7047 over python-ovs).
Two deliberate departures from ovsdbapp's defaults, both from DESIGN.md's measured facts:
reconnect back-off is capped at 1 s (the default cap makes a reconnect take 3-16 s), and the
connection starts without waiting for NB, so a server can come up while NB is down.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any

from ovs import poller
from ovs.db import custom_index
from ovs.db import idl as ovs_idl
from ovsdbapp.backend.ovs_idl import command, connection, event, transaction

from ovnet.ovn.diff import Change, held_in, plan
from ovnet.ovn.registry import ORDER, TABLE, TABLES, names_of, object_id
from ovnet.ovn.translate import LSP, OWNER_KEY, Desired, Row

LOG = logging.getLogger(__name__)
NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"  # Debian's ovn-common; same OVN as the NB server
MAX_BACKOFF_MS = 1000
CONNECT_POLL_MS = 200  # how often the first-connect loop checks for stop()
TXN_TIMEOUT = 30.0  # seconds one NB transaction may take, retries on TRY_AGAIN included
# Rows per transaction. python-ovs parses JSON in pure Python (~1,300 rows/s here); a bigger
# transaction keeps the IDL thread from answering ovsdb-server's 5 s inactivity probe, which then
# drops the connection and the transaction with it.
MAX_TXN_ROWS = 1000
READ_SLICE = 500  # rows read per hold of the IDL lock outside the IDL thread (~50 ms)


class NbUnavailable(RuntimeError):
    """NB is not connected (or not yet synchronised), so nothing was read or written."""


class _Idl(connection.OvsdbIdl):
    """ovsdbapp's IDL with row events forwarded to ``handler``, the reconnect back-off capped and
    the connection state exposed.

    python-ovs keeps the JSON-RPC session (back-off, connection state) in the Idl's ``_session``
    and offers no public accessor for either, so this subclass, not its callers, is where the
    session is used: ``cap_backoff``, ``is_connected`` and the leader failover in ``run`` are the
    things ovnet needs of it.
    """

    def __init__(self, remote: str, helper: ovs_idl.SchemaHelper, handler: event.RowEventHandler,
                 on_connected: Callable[[], None] | None = None):
        super().__init__(remote, helper)
        self._handler = handler
        self._on_connected = on_connected
        self._was_monitoring = False
        self.epoch = 0  # how many times the replica has been (re)loaded; read from other threads

    def run(self) -> bool:
        """python-ovs's run(); besides, on reaching a replica, arm one pass over every remote
        without back-off for the next disconnect, count the (re)load in ``epoch`` and call
        ``on_connected``. python-ovs skips the back-off only for a
        disconnect it forces itself; when a Raft leader dies the connection just drops, and the
        1 s back-off (python-ovs's minimum) before each try of a follower that has no leader yet
        made NB writes wait ~3-5 s after a leader's SIGKILL instead of ~1-2 s (DESIGN.md facts).
        """
        changed = super().run()
        monitoring = self.state == self.IDL_S_MONITORING and self._session.is_connected()
        if monitoring and not self._was_monitoring:
            self._session.reset_backoff()
            self.epoch += 1
            if self._on_connected is not None:
                self._on_connected()
        self._was_monitoring = monitoring
        return changed

    def notify(self, ev: str, row: Any, updates: Any = None) -> None:
        self._handler.notify(ev, row, updates)

    def cooperative_yield(self) -> None:
        """Nothing, python-ovs's default. ovsdbapp's ``time.sleep(0)`` per row update is for
        eventlet/gevent, which ovnet does not use (its threads are real threads, switched by the
        GIL's interval anyway); on a loaded machine each of those sleeps gave the CPU away, and
        they were 17% of a 10,000-port rebuild's IDL thread (bench/rebuild.py, py-spy)."""

    def cap_backoff(self, max_ms: int) -> None:
        """Reconnect attempts back off from ``max_ms // 4`` to at most ``max_ms`` milliseconds."""
        self._session.reconnect.set_backoff(max_ms // 4, max_ms)

    def is_connected(self) -> bool:
        """True while the session to the server is up (the replica may still be loading)."""
        return self._session.is_connected()


class _Connection(connection.Connection):
    """ovsdbapp's connection whose ``start()`` returns at once, so a server comes up while NB is down.

    ovsdbapp's ``start()`` waits for the first full replica and raises when NB does not answer in
    time. Here a thread of ours drives the IDL to that first replica (python-ovs's documented
    run/wait loop), then calls ovsdbapp's ``start()``, which finds the IDL connected and only
    starts its run thread; reconnects after that are the run thread's, as always.
    """

    def __init__(self, idl: _Idl, timeout: float):
        super().__init__(idl, timeout)
        self._starter: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        with self.lock:
            if self._starter is None:
                self._starter = threading.Thread(target=self._first_connect, name="ovnet-nb-connect", daemon=True)
                self._starter.start()

    def _first_connect(self) -> None:
        while not self._stopping.is_set():
            with self.lock:
                self.idl.run()
                if self.idl.has_ever_connected() and self.idl.state == self.idl.IDL_S_MONITORING:
                    break
            wake = poller.Poller()
            self.idl.wait(wake)
            wake.timer_wait(CONNECT_POLL_MS)  # to notice stop() while NB is down
            wake.block()
        else:
            return
        super().start()

    def stop(self, timeout: float | None = None) -> bool:
        self._stopping.set()
        if self._starter is not None:
            self._starter.join(timeout)
        return super().stop(timeout)


def monitored_columns(mutated: bool = True) -> dict[str, set[str]]:
    """{NB table: columns} ovnet reads: what the registry's tables write and compare, the
    membership columns (drift of memberships is read from the holders) and
    ``Logical_Switch_Port.up`` (port status); with ``mutated``, also the parent columns the
    writer mutates (python-ovs only mutates a registered column), which is what this client
    replicates. Every other column (e.g. a port's ``dynamic_addresses``) is neither sent by NB
    nor parsed, and parsing is most of what a replica of many ports costs in python-ovs."""
    out = {t.name: set(t.columns) for t in TABLES}
    for t in TABLES:
        for holder in ([t.parent] if t.parent and mutated else []) + list(t.memberships):
            out[holder.table].add(holder.column)
    out[LSP].add("up")
    return out


class _PortUp(event.RowEvent):
    def __init__(self, callback: Callable[[str, bool], None]):
        super().__init__((self.ROW_CREATE, self.ROW_UPDATE), LSP, None)
        self._callback = callback

    def match_fn(self, ev: str, row: Any, old: Any) -> bool:
        if OWNER_KEY not in _value(row, "external_ids"):
            return False
        # A new row is down until northd says otherwise, as a new port is in the model; rows
        # re-sent after a reconnect are covered by the reconcile that follows every reconnect.
        if ev == self.ROW_CREATE:
            return _value(row, "up") == [True]
        return hasattr(old, "up")

    def run(self, ev: str, row: Any, old: Any) -> None:
        self._callback(row.external_ids[OWNER_KEY], row.up == [True])


def _value(row: Any, column: str) -> Any:
    # The one place left that reads python-ovs Row internals, on purpose: Row.__getattr__ (the
    # public read) rebuilds a set or map column through Datum.from_python on every read: a full
    # drift check of 10,100 ports ran 4x slower through it, relative to the same run's one-port
    # baseline (bench/nb_apply.py, 2026-11-30: 9.2x against 37x the baseline; 9.8 s against
    # 0.9 s absolute on a busier machine). python-ovs has no public read of the committed value
    # and creates its Row objects itself, so there is nothing to subclass; a row this
    # transaction has not touched is read from its committed Datum, any other through getattr.
    if row._data is not None and not row._changes and not any(row._mutations.values()):
        datum = row._data.get(column)
        if datum is not None:
            return datum.to_python(row._uuid_to_row)
    return getattr(row, column)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return sorted(_ref_key(v) if isinstance(v, ovs_idl.Row) else v for v in value)
    return value


def _ref_key(row: Any) -> str:
    # A reference to a row ovnet does not own can never equal a desired ovnet id.
    return _value(row, "external_ids").get(OWNER_KEY) or f"uuid:{row.uuid}"


def _read(row: Any, table: str) -> Row:
    out = {c: _plain(_value(row, c)) for c in TABLE[table].columns}
    out["_uuid"] = str(row.uuid)
    return out


def _owned(rows: Any, scope: set[str] | None = None) -> list[Any]:
    out = []
    for row in rows:
        key = _value(row, "external_ids").get(OWNER_KEY)
        if key is not None and (scope is None or object_id(key) in scope):
            out.append(row)
    return out


class _Converge(command.BaseCommand):
    """Read, diff and write inside one IDL transaction, so a TRY_AGAIN retry re-diffs fresh data."""

    def __init__(self, api: NbClient, desired: Desired, scope: set[str] | None, known: Collection[str] = (),
                 memberships: bool = False):
        super().__init__(api)
        self.desired, self.scope, self.known, self.memberships = desired, scope, known, memberships

    def __str__(self) -> str:  # ovsdbapp puts this into its errors; the rows would be megabytes
        size = "all" if self.scope is None else len(self.scope)
        return f"converge(scope={size} ids)"

    # TimeoutException formats its list of commands, i.e. their repr: ovsdbapp's lists every
    # attribute, and a timed-out rebuild of 10,000 ports logged megabytes of rows.
    __repr__ = __str__

    def run_idl(self, txn: ovs_idl.Transaction) -> None:
        actual = self.api.read_owned(self.scope, known=self.known, memberships=self.memberships)
        changes = _plan(self.api.idl, self.desired, actual, self.scope)
        _Writer(self.api.idl, txn).apply(changes)
        self.result = changes


def _plan(idl: ovs_idl.Idl, desired: Desired, actual: dict[str, list[Row]], scope: set[str] | None) -> list[Change]:
    def taken(table: str, name: str) -> str | None:
        return next((str(r.uuid) for r in _by_name(idl, table, name)), None)
    return plan(desired, actual, scope, taken)


class _Writer:
    """Applies a plan inside one IDL transaction, following the registry's table declarations:
    references are resolved from ovnet ids to rows, and a row of a non-root table is added to
    (and on delete removed from) its parent's column."""

    def __init__(self, idl: ovs_idl.Idl, txn: ovs_idl.Transaction):
        self.idl, self.txn = idl, txn
        # Rows found or created in this transaction by (table, ovnet id): a rebuild adds
        # thousands of ports to one switch and one drop Port_Group, each looked up once.
        self.known: dict[tuple[str, str], Any] = {}
        self._owners: dict[str, dict[str, Any]] = {}

    def _rows(self, table: str) -> Any:
        return self.idl.tables[table].rows

    def _find(self, table: str, key: str) -> Any:
        if (table, key) in self.known:
            return self.known[(table, key)]
        name_of = TABLE[table].name_of
        if name_of is not None:
            found = next((r for r in _by_name(self.idl, table, name_of(key))
                          if _value(r, "external_ids").get(OWNER_KEY) == key), None)
        else:
            if table not in self._owners:  # a table without names is small (DHCP_Options): index it once
                self._owners[table] = {_value(r, "external_ids").get(OWNER_KEY): r for r in self._rows(table).values()}
            found = self._owners[table].get(key)
        if found is not None:
            self.known[(table, key)] = found
        return found

    def _set(self, row: Any, table: str, columns: Row) -> None:
        references = TABLE[table].references
        for col, value in columns.items():
            if col in references:
                targets = [self._find(references[col], k) for k in value]
                value = [t for t in targets if t is not None]
            setattr(row, col, value)

    def _join(self, table: str, row: Any, old_ids: dict, new_ids: dict) -> None:
        # Memberships follow the change of the listing external_ids key: one mutation per holder.
        for m in TABLE[table].memberships:
            before, after = set(old_ids.get(m.key, "").split()), set(new_ids.get(m.key, "").split())
            for key in sorted(before - after):
                holder = self._find(m.table, key)
                if holder is not None:
                    holder.delvalue(m.column, row)
            for key in sorted(after - before):
                holder = self._find(m.table, key)
                if holder is None:
                    raise RuntimeError(f"no {m.table} {key} for {table} {_value(row, 'external_ids').get(OWNER_KEY)}")
                holder.addvalue(m.column, row)

    def apply(self, changes: list[Change]) -> None:
        for ch in changes:
            parent = TABLE[ch.table].parent
            if ch.op == "create":
                row = self.txn.insert(self.idl.tables[ch.table])
                self.known[(ch.table, ch.key)] = row
                # A new row already holds the empty value in every column; writing it again costs
                # a third of a batched create for nothing.
                self._set(row, ch.table, {c: v for c, v in ch.new.items() if v not in ("", [], {})})
                if parent is not None:
                    holder = self._find(parent.table, ch.new["external_ids"].get(parent.key, ""))
                    if holder is None:
                        raise RuntimeError(f"no {parent.table} for {ch.table} {ch.key}")
                    holder.addvalue(parent.column, row)
                self._join(ch.table, row, {}, ch.new.get("external_ids", {}))
            elif ch.op == "conflict":
                continue
            elif ch.op == "update":
                row = self._rows(ch.table)[uuid.UUID(ch.uuid)]
                self._set(row, ch.table, ch.new)
                if "external_ids" in ch.new:
                    self._join(ch.table, row, ch.old.get("external_ids") or {}, ch.new["external_ids"])
            else:
                row = self._rows(ch.table)[uuid.UUID(ch.uuid)]
                self._join(ch.table, row, _value(row, "external_ids"), {})
                if parent is not None:
                    # A mutation (delvalue) never reads the parent's column, which for a switch
                    # with thousands of ports would cost O(ports) per delete.
                    holder = self._find(parent.table, _value(row, "external_ids").get(parent.key, ""))
                    if holder is not None:
                        holder.delvalue(parent.column, row)
                row.delete()


def _by_name(idl: ovs_idl.Idl, table: str, name: str) -> list[Any]:
    rows = idl.tables[table].rows
    return [rows[u] for u in list(rows.indexes["name"].uuids(name)) if u in rows]


class _NameIndex(custom_index.MultiColumnIndex):
    """python-ovs's index of a table's rows by ``name``, kept in a dict.

    python-ovs keeps an index as a sorted list ordered by a Python comparison function, and reads
    the indexed column through ``Row.__getattr__`` (a Datum conversion) twice per row added: in a
    10,000-port rebuild that was ~20% of the IDL thread (bench/rebuild.py, py-spy). ovnet only asks
    for rows of one name, which a dict answers. The interface is python-ovs's: ``IndexedRows``
    calls add/remove/clear as rows come and go (a row being modified is removed and added again),
    ``Row.__setattr__`` looks for its column in ``columns`` and does the same when a transaction
    sets it.
    """

    def __init__(self) -> None:
        super().__init__("name")
        self.add_column("name")

    def clear(self) -> None:
        self._uuids: dict[str, set[uuid.UUID]] = {}

    def add(self, row: Any) -> None:
        try:
            name = _value(row, "name")
        except AttributeError:  # a row inserted by a transaction that has not set it yet
            return
        self._uuids.setdefault(name, set()).add(row.uuid)

    def remove(self, row: Any) -> None:
        try:
            name = _value(row, "name")
        except AttributeError:
            return
        held = self._uuids.get(name)
        if held is not None:
            held.discard(row.uuid)
            if not held:
                del self._uuids[name]

    def uuids(self, name: str) -> set[uuid.UUID]:
        """UUIDs of the rows named ``name`` (a row since deleted may linger until removed)."""
        return self._uuids.get(name, set())


class NbClient:
    """A connection to OVN NB (``settings.nb_connection``, e.g. ``tcp:127.0.0.1:6641``).

    ``start()`` returns at once; the connection (re)connects in its own thread. ``on_port_up``
    is called from ovsdbapp's notification thread with (port id, up: bool) whenever the ``up``
    column of an owned Logical_Switch_Port changes or one appears already up (an OVSDB monitor,
    not polling). ``on_connected()`` is called from the connection thread each time the replica
    has been (re)loaded, i.e. when ``epoch`` grows.
    """

    def __init__(self, remote: str, on_port_up: Callable[[str, bool], None] | None = None,
                 on_connected: Callable[[], None] | None = None):
        helper = ovs_idl.SchemaHelper(location=NB_SCHEMA)
        for table, columns in monitored_columns().items():
            helper.register_columns(table, sorted(columns))
        self._events = event.RowEventHandler()
        self._idl = _Idl(remote, helper, self._events, on_connected)
        self._idl.cap_backoff(MAX_BACKOFF_MS)
        for table in TABLES:
            if table.name_of is not None:
                # python-ovs's index_create() makes its own kind of index; ours goes in its place.
                self._idl.tables[table.name].rows.indexes["name"] = _NameIndex()
        self.ovsdb_connection = _Connection(self._idl, TXN_TIMEOUT)
        if on_port_up is not None:
            self._events.watch_event(_PortUp(on_port_up))

    @property
    def idl(self) -> ovs_idl.Idl:
        return self._idl

    def start(self) -> None:
        """Start the connection thread (returns at once; NB may be down)."""
        self.ovsdb_connection.start()

    def stop(self) -> None:
        """Close the connection and stop its threads."""
        self.ovsdb_connection.stop(timeout=5)
        self._events.shutdown()

    def connected(self) -> bool:
        """True when NB is connected and its contents are replicated."""
        return self._idl.is_connected() and self._idl.state == self._idl.IDL_S_MONITORING

    @property
    def epoch(self) -> int:
        """How many times the replica has been (re)loaded since ``start()`` (0: never): a
        reconnect shows as a new value even when it was too quick for anyone to see
        ``connected()`` false (a Raft failover, an NB restarted in under a second)."""
        return self._idl.epoch

    def wait_connected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``connected()``; return it."""
        deadline = time.monotonic() + timeout
        while not self.connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.connected()

    def read_owned(self, scope: set[str] | None = None, lock: Any = None,
                   known: Collection[str] = (), memberships: bool = False) -> dict[str, list[Row]]:
        """Owned rows as plain data (``diff``'s actual shape); only ids in ``scope`` when given.

        Without ``scope`` every row is scanned. With it, rows of tables with names are found by
        name (``registry.names_of``: ``Table.name_of`` of each object id in scope and of its
        ``<id>/<part>`` keys) plus the rows whose NB UUIDs are in ``known`` (owned rows a full scan found under
        another name); tables without names are always scanned.

        With ``memberships`` a row's membership key (``Membership.key`` in ``external_ids``, e.g.
        a switch port's Port_Groups) reads what NB really holds, the owned holder rows whose
        column contains the row, wherever that differs from the key's written value: a port
        added to or removed from a Port_Group behind ovnet's back then shows as drift of that
        key, and the writer's membership mutations repair it. That scans every owned holder's
        column (O(all memberships)), so only a full reconcile asks for it.

        In the IDL thread pass no ``lock``. Elsewhere pass ``ovsdb_connection.lock``: it is taken
        for ``READ_SLICE`` rows at a time, so a full read of many ports never stalls the IDL thread
        for long; the result is then not one atomic view, which a plan tolerates (every commit
        re-reads inside its own transaction).
        """
        guard = lock if lock is not None else contextlib.nullcontext()
        out: dict[str, list[Row]] = {}
        for table in ORDER:
            rows = self._idl.tables[table].rows
            with guard:
                if scope is None or TABLE[table].name_of is None:
                    candidates = list(rows.values())
                else:
                    # A row keyed "<id>/<part>" (a network's drop Port_Group) is named after its key,
                    # not its object id: every declared part is looked up, since a deleted object
                    # has no desired rows left to name its part rows.
                    names = names_of(table, scope)
                    candidates = [r for n in sorted(names) for r in _by_name(self._idl, table, n)]
                    seen = {r.uuid for r in candidates}
                    extra = (rows.get(uuid.UUID(u)) for u in known)
                    candidates += [r for r in extra if r is not None and r.uuid not in seen]
            out[table] = []
            for start in range(0, len(candidates), READ_SLICE):
                with guard:
                    live = [r for r in candidates[start:start + READ_SLICE] if r.uuid in rows]
                    out[table] += [_read(r, table) for r in _owned(live, scope)]
        if memberships:
            self._read_memberships(out, guard)
        return out

    def _read_memberships(self, out: dict[str, list[Row]], guard: Any) -> None:
        for table in ORDER:
            if not out[table]:  # e.g. every chunk of a rebuild into an empty NB: nothing to compare
                continue
            for m in TABLE[table].memberships:
                held: dict[str, set[str]] = {}
                with guard:
                    for holder in _owned(self._idl.tables[m.table].rows.values()):
                        key = _value(holder, "external_ids")[OWNER_KEY]
                        for member in _value(holder, m.column):
                            held.setdefault(str(member.uuid), set()).add(key)
                held_in(out[table], m.key, held)

    def port_up(self) -> dict[str, bool]:
        """``up`` of every owned Logical_Switch_Port: {port id: bool}. Raises NbUnavailable."""
        self._require()
        with self.ovsdb_connection.lock:
            return {
                _value(r, "external_ids")[OWNER_KEY]: _value(r, "up") == [True]
                for r in _owned(self._idl.tables[LSP].rows.values())
            }

    def _require(self) -> None:
        if not self.connected():
            raise NbUnavailable(f"OVN NB at {self._idl.session_name()} is not connected")

    def converge(self, desired: Desired, scope: set[str] | None = None, dry_run: bool = False,
                 timeout: float = TXN_TIMEOUT) -> list[Change]:
        """Make NB's owned rows equal ``desired`` (within ``scope``, object ids) in ONE transaction
        per ``MAX_TXN_ROWS`` changed objects.

        Chunks hold whole objects, parent and referenced tables first (registry.ORDER).
        Returns the changes made (with ``dry_run``: the changes it would make, nothing written).
        Rows without ``external_ids:ovnet:id`` are never read as owned nor written. Idempotent: a
        second call returns []. Raises NbUnavailable when NB is not connected, and the
        transaction's error (RuntimeError / ovsdbapp TimeoutException) when NB refuses it.
        """
        self._require()
        lock = self.ovsdb_connection.lock
        full = scope is None  # a full reconcile also checks memberships (read_owned)
        actual = self.read_owned(scope, lock, memberships=full)
        with lock:
            plan = _plan(self._idl, desired, actual, scope)
        if dry_run or not plan:
            return plan
        if len(plan) <= MAX_TXN_ROWS:
            return self._commit(_Converge(self, desired, scope, memberships=full), timeout)
        objects = list(dict.fromkeys(object_id(c.key) for c in sorted(plan, key=lambda c: ORDER.index(c.table))))
        done: list[Change] = []
        for start in range(0, len(objects), MAX_TXN_ROWS):
            chunk = set(objects[start:start + MAX_TXN_ROWS])
            known = [c.uuid for c in plan if object_id(c.key) in chunk and c.uuid]
            done += self._commit(_Converge(self, desired, chunk, known, memberships=full), timeout)
        return done

    def _commit(self, cmd: _Converge, timeout: float) -> list[Change]:
        txn = transaction.Transaction(self, self.ovsdb_connection, timeout, check_error=True, log_errors=False)
        txn.add(cmd)
        txn.commit()
        return cmd.result or []
