"""Bulk reads without ORM objects: table rows plus their child rows, shaped like the ORM objects.

Listing 10,000 ports through the ORM builds 20,000 tracked objects; reading plain rows and
grouping the children in one query per 500 parents costs a fraction of that, and the
serializers in ``serialize.py`` read either shape, since attribute names are the same.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ovnet.model.schema import AllocationPool, FloatingIP, IPAllocation, Network, Port, Router, Subnet

CHUNK = 500  # parent ids per child query (bound-parameter limits of SQLite are far above)

# model -> (attribute, child table's parent-id column, child columns, child order[, join condition])
CHILDREN = {
    Network: ("subnets", Subnet.network_id, (Subnet.id,), (Subnet.created_at, Subnet.id)),
    Subnet: ("allocation_pools", AllocationPool.subnet_id, (AllocationPool.first_ip, AllocationPool.last_ip),
             (AllocationPool.id,)),
    Port: ("fixed_ips", IPAllocation.port_id, (IPAllocation.subnet_id, IPAllocation.ip_address),
           (IPAllocation.id,)),
    # A router's gateway addresses: those of the port that is its router_gateway.
    Router: ("gw_fixed_ips", Port.device_id, (IPAllocation.subnet_id, IPAllocation.ip_address), (IPAllocation.id,),
             (IPAllocation.port_id == Port.id) & (Port.device_owner == "network:router_gateway")),
    FloatingIP: None,
}


class Loaded:
    """One row of a resource table with its children under the relationship's name."""

    __slots__ = ("_row", "_children", "_name")

    def __init__(self, row, name: str, children: list) -> None:
        self._row, self._name, self._children = row, name, children

    def __getattr__(self, attr: str):
        if attr == self._name:
            return self._children
        return getattr(self._row, attr)


def rows_query(model: type) -> Select:
    """A SELECT of every column of ``model``'s table; add where/order/limit, then pass to ``load``."""
    return select(*model.__table__.columns)


def load(session: Session, model: type, query: Select) -> list[Loaded]:
    """Run ``query`` (built on ``rows_query(model)``) and attach each row's children, in query order."""
    rows = session.execute(query).all()
    if CHILDREN[model] is None:
        return [Loaded(row, "", []) for row in rows]
    name, parent_col, columns, order, *join = CHILDREN[model]
    children: dict[str, list] = defaultdict(list)
    ids = [row.id for row in rows]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for child in session.execute(select(parent_col.label("parent"), *columns)
                                     .where(parent_col.in_(chunk), *join).order_by(*order)):
            children[child.parent].append(child)
    return [Loaded(row, name, children.get(row.id, [])) for row in rows]
