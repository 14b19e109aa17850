"""A one-shot read of OVN NB for a drift check: one OVSDB ``transact`` of ``select`` operations
(RFC 7047 §5.2.2) over python-ovs's JSON-RPC, turned into the diff's "actual" shape, with no IDL
replica.

Why not the syncer's IDL: a replica turns every cell into python-ovs Datum/Atom/Row objects and
indexes every row, which for 10,000 ports cost seconds of CPU before the first comparison (and a
new process, ``ovnet sync --check``, has no replica to reuse). A select answers the same columns
as plain JSON, read in one transaction, so the view is also one consistent snapshot. Only reads:
NB's single writer stays ``ovnet.ovn.nb``.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ovs.json
import ovs.jsonrpc
import ovs.poller
import ovs.stream
import ovs.timeval
from ovs.db import schema as ovs_schema
from ovs.db import types as ovs_types

from ovnet.ovn import gcpause
from ovnet.ovn.diff import held_in
from ovnet.ovn.nb import NbUnavailable, monitored_columns
from ovnet.ovn.registry import TABLES
from ovnet.ovn.translate import LSP, OWNER_KEY, Row

DATABASE = "OVN_Northbound"


@dataclass(frozen=True)
class NbView:
    """What a drift check needs of NB, from one transaction.

    ``owned``: {table: [row]}, diff's actual shape (``diff.diff``): each owned row's columns of
    ``Table.columns`` (references as ovnet ids, or ``uuid:<uuid>`` for a row ovnet does not own),
    ``_uuid``, and the membership key rewritten from what the holders really hold (as
    ``NbClient.read_owned(memberships=True)``). ``names``: {(table, name): NB UUID} of every row of
    a ``unique_name`` table, owned or not, for ``diff.plan``'s conflicts. ``up``:
    ``Logical_Switch_Port.up`` of every owned port, {port id: bool}.
    """

    owned: dict[str, list[Row]]
    names: dict[tuple[str, str], str]
    up: dict[str, bool]

    def taken(self, table: str, name: str) -> str | None:
        """The NB UUID of the ``table`` row named ``name``, or None (``diff.plan``'s question)."""
        return self.names.get((table, name))


# The columns compared, the membership columns and ``up``; not the parent columns the writer
# only mutates (``Logical_Switch.ports`` would be every port's UUID again).
SELECTED = {table: sorted({"_uuid", *columns}) for table, columns in monitored_columns(mutated=False).items()}


def read_nb(remote: str, schema_path: str, timeout: float) -> NbView:
    """Read NB at ``remote`` (an OVSDB connection string; several comma-separated remotes, a Raft
    cluster's, are tried in order and the leader is used, as python-ovs's IDL does, so a write the
    syncer just made is seen) within ``timeout`` seconds. Raises NbUnavailable when no remote
    answered as the database's leader in time, or NB refused the read."""
    with gcpause.paused():  # 10,000 ports are ~10^6 objects (ovnet.ovn.gcpause)
        return _read(remote, schema_path, timeout)


def _read(remote: str, schema_path: str, timeout: float) -> NbView:
    deadline = ovs.timeval.msec() + int(timeout * 1000)
    problems = []
    for one in remote.split(","):
        try:
            with _Conn(one, deadline) as conn:
                if not conn.is_leader():
                    problems.append(f"{one}: not the cluster leader")
                    continue
                result = conn.transact([DATABASE, *({"op": "select", "table": table, "where": [], "columns": cols}
                                                    for table, cols in SELECTED.items())])
        except (OSError, NbUnavailable) as exc:
            problems.append(f"{one}: {exc}")
            continue
        return _view(dict(zip(SELECTED, (r["rows"] for r in result))), schema_path)
    raise NbUnavailable(f"OVN NB at {remote} is not reachable ({'; '.join(problems)})")


class _Conn:
    """One blocking JSON-RPC connection with a deadline (python-ovs's ``transact_block`` has none)."""

    def __init__(self, remote: str, deadline: int):
        self.deadline = deadline
        error, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(remote), max(deadline - ovs.timeval.msec(), 0))
        if error:
            raise OSError(error, os.strerror(error))
        self.conn = ovs.jsonrpc.Connection(stream)

    def __enter__(self) -> _Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

    def transact(self, params: list) -> list:
        request = ovs.jsonrpc.Message.create_request("transact", params)
        error = self.conn.send(request)
        while not error:
            error, msg = self.conn.recv()
            if msg is not None and msg.id == request.id:
                if msg.type == ovs.jsonrpc.Message.T_ERROR:
                    raise NbUnavailable(f"transact refused: {msg.error}")
                failed = [op["error"] for op in msg.result if isinstance(op, dict) and "error" in op]
                if failed:
                    raise NbUnavailable(f"select refused: {failed[0]}")
                return msg.result
            if error == errno.EAGAIN:
                if ovs.timeval.msec() >= self.deadline:
                    raise OSError(errno.ETIMEDOUT, "no answer in time")
                self.conn.run()
                poller = ovs.poller.Poller()
                self.conn.wait(poller)
                self.conn.recv_wait(poller)
                poller.timer_wait_until(self.deadline)
                poller.block()
                error = 0
        raise OSError(error, os.strerror(error))

    def is_leader(self) -> bool:
        # ovsdb-server(5) "_Server": a clustered database's members say whether they lead and are
        # connected to the cluster; a standalone database is its own leader.
        (result,) = self.transact(["_Server", {"op": "select", "table": "Database", "where": [["name", "==", DATABASE]],
                                               "columns": ["model", "leader", "connected"]}])
        rows = result["rows"]
        return bool(rows) and (rows[0]["model"] != "clustered" or (rows[0]["leader"] is True and rows[0]["connected"] is True))


def _converters(schema_path: str, ref: Callable[[str], str | None]) -> dict[str, dict[str, Callable[[Any], Any]]]:
    db = ovs_schema.DbSchema.from_json(ovs.json.from_file(schema_path))
    return {table: {c: _converter(db.tables[table].columns[c].type, ref) for c in cols if c != "_uuid"}
            for table, cols in SELECTED.items()}


def _converter(type_: ovs_types.Type, ref: Callable[[str], str | None]) -> Callable[[Any], Any]:
    """A cell's JSON as python-ovs's ``Datum.to_python`` and NbClient's ``_plain`` give it: a
    scalar's value, a sorted list for a set (optional columns included), a dict for a map;
    references through ``ref``. One function per column, chosen once: 100,000 cells add up."""
    if any(b is not None and b.type == ovs_types.UuidType for b in (type_.key, type_.value)):
        return lambda value: _datum(value, type_, ref)
    if type_.is_map():  # ["map", [[k, v], ...]]
        return lambda value: dict(value[1])
    if type_.is_scalar():
        return lambda value: value
    # RFC 7047 §5.1: a set of one element may come as the bare atom; atoms here are not lists.
    return lambda value: sorted(value[1]) if isinstance(value, list) else [value]


def _view(rows: Mapping[str, list[dict]], schema_path: str) -> NbView:
    owner: dict[str, str] = {}  # NB UUID -> ovnet id, over every table read
    for table_rows in rows.values():
        for row in table_rows:
            key = _pairs(row["external_ids"]).get(OWNER_KEY)
            if key is not None:
                owner[row["_uuid"][1]] = key
    present = {row["_uuid"][1] for table_rows in rows.values() for row in table_rows}

    def ref(u: str) -> str | None:
        # As NbClient's reads: a reference names the row's ovnet id, or the UUID of a row ovnet
        # does not own; a reference to a row not read (none in the tables ovnet writes) is dropped.
        return owner.get(u) or (f"uuid:{u}" if u in present else None)

    convert = _converters(schema_path, ref)

    owned: dict[str, list[Row]] = {}
    names: dict[tuple[str, str], str] = {}
    up: dict[str, bool] = {}
    for t in TABLES:
        owned[t.name] = []
        for raw in rows[t.name]:
            nb_uuid = raw["_uuid"][1]
            if t.unique_name:
                names.setdefault((t.name, raw["name"]), nb_uuid)
            if nb_uuid not in owner:
                continue
            row = {c: convert[t.name][c](raw[c]) for c in t.columns}
            row["_uuid"] = nb_uuid
            owned[t.name].append(row)
            if t.name == LSP:
                up[owner[nb_uuid]] = raw["up"] is True
    _memberships(owned, rows, owner)
    return NbView(owned, names, up)


def _memberships(owned: dict[str, list[Row]], rows: Mapping[str, list[dict]], owner: Mapping[str, str]) -> None:
    for t in TABLES:
        for m in t.memberships:
            held: dict[str, set[str]] = {}
            for holder in rows[m.table]:
                key = owner.get(holder["_uuid"][1])
                if key is not None:
                    for member in _atoms(holder[m.column]):
                        held.setdefault(member[1], set()).add(key)
            held_in(owned[t.name], m.key, held)


def _pairs(value: Any) -> dict:
    return dict(value[1]) if isinstance(value, list) and value and value[0] == "map" else {}


def _atoms(value: Any) -> list:
    # RFC 7047 §5.1: a set of one element may be sent as the bare atom; a UUID atom is ["uuid", u].
    return value[1] if isinstance(value, list) and value and value[0] == "set" else [value]


def _datum(value: Any, type_: ovs_types.Type, ref: Callable[[str], str | None]) -> Any:
    # _converter's general case: any cell, references and UUIDs included.
    if type_.is_map():
        pairs = ((_atom(k, type_.key, ref), _atom(v, type_.value, ref)) for k, v in value[1])
        return {k: v for k, v in pairs if k is not None and v is not None}
    atoms = [a for a in (_atom(v, type_.key, ref) for v in _atoms(value)) if a is not None]
    if type_.is_scalar():
        return atoms[0] if atoms else None  # only a dropped reference leaves a scalar empty
    return sorted(atoms)


def _atom(value: Any, base: ovs_types.BaseType, ref: Callable[[str], str | None]) -> Any:
    if isinstance(value, list):  # ["uuid", u]
        return ref(value[1]) if base.ref_table_name else uuid.UUID(value[1])
    return value
