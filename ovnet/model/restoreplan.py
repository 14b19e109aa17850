"""What ``ovnet restore FILE`` would drop: the rows present in the live store and absent from the
backup, read before anything is replaced, so the user is told (and a bound port's workload is
not unplugged for good by surprise).

The backup is only read: a SQLite copy is opened ``mode=ro&immutable=1`` (no ``-wal``/``-shm``
files appear beside it, no lock is taken), a pg_dump archive is read by ``pg_restore --data-only
--file=-``, which prints its ``COPY`` blocks without touching any database.
"""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import literal, select

from ovnet.model.schema import FloatingIP, Network, Port, Project, Router, SecurityGroup, Subnet
from ovnet.model.store import Store

# The kinds a user knows by name, in the order they are told (a project first, a port last).
WATCHED = (("project", Project), ("network", Network), ("subnet", Subnet), ("router", Router),
           ("floating IP", FloatingIP), ("security group", SecurityGroup), ("port", Port))


@dataclass(frozen=True)
class Dropped:
    """A row the restore would remove: ``kind`` ("port", "network", ...), its id and name, and for
    a port its ``binding:host_id`` ("" when unbound: only a bound port has a workload plugged)."""

    kind: str
    id: str
    name: str
    host: str = ""

    def label(self) -> str:
        """``port web1 (6f3c...) bound to hv2``: a name when it has one, always the id."""
        named = f"{self.name} ({self.id})" if self.name else self.id
        return f"{self.kind} {named}" + (f" bound to {self.host}" if self.host else "")


def sqlite_uri(path: Path) -> str:
    """The read-only, lock-free URI of a SQLite backup file: nothing is written beside it."""
    return f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1"


def _sqlite_ids(src: Path) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {}
    with closing(sqlite3.connect(sqlite_uri(src), uri=True)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for _kind, model in WATCHED:
            table = model.__tablename__
            ids[table] = {row[0] for row in conn.execute(f'SELECT id FROM "{table}"')} if table in tables else set()
    return ids


def _pgdump_ids(src: Path) -> dict[str, set[str]]:
    """Each watched table's ids in a pg_dump custom archive, from the COPY blocks pg_restore prints
    (``COPY schema.table (col, ...) FROM stdin;``, tab-separated rows, ``\\.``)."""
    tables = [model.__tablename__ for _kind, model in WATCHED]
    args = ["pg_restore", "--data-only", "--file=-", *(f"--table={t}" for t in tables), str(src)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    ids: dict[str, set[str]] = {t: set() for t in tables}
    table, column = None, -1
    for line in out.splitlines():
        if table is None:
            if line.startswith("COPY "):
                head, cols = line[5:].split(" (", 1)
                table = head.rsplit(".", 1)[-1].strip('"')
                column = [c.strip().strip('"') for c in cols.split(")", 1)[0].split(",")].index("id")
        elif line == "\\.":
            table = None
        elif table in ids:
            ids[table].add(line.split("\t")[column])
    return ids


def dropped_by_restore(store: Store, src: Path) -> list[Dropped]:
    """The projects, networks, subnets, routers, floating IPs, security groups and ports of
    ``store`` whose id is not in the backup ``src`` (SQLite file or pg_dump archive, as the store).
    Reads only. Raises sqlite3.Error or subprocess.CalledProcessError when ``src`` is unreadable
    (the caller has checked its magic and reports these as "not a usable backup")."""
    in_backup = _sqlite_ids(Path(src)) if store.url.startswith("sqlite") else _pgdump_ids(Path(src))
    dropped = []
    with store.session(readonly=True) as session:
        for kind, model in WATCHED:
            keep = in_backup[model.__tablename__]
            # A floating IP is known by its address; only a port has a host a workload is plugged on.
            name = model.floating_ip_address if model is FloatingIP else model.name
            host = model.binding_host_id if model is Port else literal("")
            for row_id, row_name, row_host in session.execute(select(model.id, name, host).order_by(model.id)):
                if row_id not in keep:
                    dropped.append(Dropped(kind, row_id, row_name or "", row_host or ""))
    return dropped
