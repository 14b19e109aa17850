"""The syncer's read/write interface of the model (CONTRACTS.md "For the syncer").

The syncer sees every project (admin view) and the same dicts the API shows (each kind's
registry serializer); it consumes the outbox that every committed change of a resource wrote in
its own transaction, and writes back only port status.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ovnet.model.loader import load, rows_query
from ovnet.model.registry import KINDS
from ovnet.model.schema import Outbox, Port

PORT_STATUSES = ("ACTIVE", "DOWN")


@dataclass(frozen=True)
class OutboxEntry:
    """One pending change: ``resource_type`` is a registry kind name ("network", "port", ...)."""

    id: int
    resource_type: str
    resource_id: str


def snapshot(session: Session, kinds: Collection[str],
             ids: Collection[str] | Mapping[str, Collection[str]] | None = None) -> dict[str, list[dict]]:
    """Every object of the registry ``kinds`` (names) of every project as Neutron-shaped dicts;
    with ``ids``, only the objects whose id is in ``ids`` (a small change stays cheap among many
    ports); with ``ids`` a mapping {kind name: ids}, only those of each kind (a kind it does not
    name gets an empty list without a query).

    Returns {plural: [...]} (e.g. {"networks": [...], "ports": [...]}), each list ordered by id.
    Reads plain rows: one query per table and one per 500 parents for their children.
    """

    def wanted(name: str) -> Collection[str] | None:
        return ids.get(name, ()) if isinstance(ids, Mapping) else ids

    out = {}
    for name in kinds:
        kind = KINDS[name]
        query = rows_query(kind.model).order_by(kind.model.id)
        chosen = wanted(name)
        if chosen is not None:
            if not chosen:
                out[kind.plural] = []
                continue
            query = query.where(kind.model.id.in_(list(chosen)))
        out[kind.plural] = [kind.to_dict(row) for row in load(session, kind.children, query)]
    return out


def outbox_pending(session: Session, limit: int = 1000) -> list[OutboxEntry]:
    """The oldest ``limit`` outbox rows not yet marked done, oldest first."""
    rows = session.execute(select(Outbox.id, Outbox.resource_type, Outbox.resource_id).order_by(Outbox.id).limit(limit))
    return [OutboxEntry(*row) for row in rows]


def outbox_done(session: Session, ids: list[int]) -> None:
    """Remove the outbox rows ``ids`` (the syncer applied them to NB)."""
    if ids:
        session.execute(delete(Outbox).where(Outbox.id.in_(ids)))


def set_port_status(session: Session, port_id: str, status: str) -> bool:
    """Set a port's ``status`` to "ACTIVE" or "DOWN"; False if the port no longer exists.

    Writes no outbox row and leaves ``revision_number`` alone: status is derived from OVN
    (``Logical_Switch_Port.up``), so bumping the revision would make NB look stale for no change.
    Raises ValueError for any other status.
    """
    if status not in PORT_STATUSES:
        raise ValueError(f"port status must be one of {PORT_STATUSES}, not {status!r}")
    result = session.execute(update(Port).where(Port.id == port_id).values(status=status))
    return result.rowcount > 0
