"""Bulk reads without ORM objects: table rows plus their child rows, shaped like the ORM objects.

Listing 10,000 ports through the ORM builds 20,000 tracked objects; reading plain rows and
grouping the children in one query per 500 parents costs a fraction of that, and the
serializers in ``serialize.py`` read either shape, since attribute names are the same.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ovnet.model.schema import (
    AllocationPool,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)

CHUNK = 500  # parent ids per child query (bound-parameter limits of SQLite are far above)

# model -> [(attribute, child table's parent-id column, child columns, child order), ...]
CHILDREN = {
    Network: [("subnets", Subnet.network_id, (Subnet.id,), (Subnet.created_at, Subnet.id))],
    Subnet: [("allocation_pools", AllocationPool.subnet_id, (AllocationPool.first_ip, AllocationPool.last_ip),
              (AllocationPool.id,))],
    Port: [("fixed_ips", IPAllocation.port_id, (IPAllocation.subnet_id, IPAllocation.ip_address),
            (IPAllocation.id,)),
           ("security_group_bindings", PortSecurityGroup.port_id, (PortSecurityGroup.security_group_id,),
            (PortSecurityGroup.security_group_id,))],
    SecurityGroup: [("rules", SecurityGroupRule.security_group_id, tuple(SecurityGroupRule.__table__.columns),
                     (SecurityGroupRule.created_at, SecurityGroupRule.id))],
    SecurityGroupRule: [],
}


class Loaded:
    """One row of a resource table with its children under the relationships' names."""

    __slots__ = ("_row", "_children")

    def __init__(self, row, children: dict[str, list]) -> None:
        self._row, self._children = row, children

    def __getattr__(self, attr: str):
        if attr in self._children:
            return self._children[attr]
        return getattr(self._row, attr)


def rows_query(model: type) -> Select:
    """A SELECT of every column of ``model``'s table; add where/order/limit, then pass to ``load``."""
    return select(*model.__table__.columns)


def load(session: Session, model: type, query: Select) -> list[Loaded]:
    """Run ``query`` (built on ``rows_query(model)``) and attach each row's children, in query order."""
    rows = session.execute(query).all()
    ids = [row.id for row in rows]
    children: dict[str, dict[str, list]] = {}
    for name, parent_col, columns, order in CHILDREN[model]:
        found = children[name] = defaultdict(list)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            for child in session.execute(select(parent_col.label("parent"), *columns)
                                         .where(parent_col.in_(chunk)).order_by(*order)):
                found[child.parent].append(child)
    return [Loaded(row, {name: found.get(row.id, []) for name, found in children.items()}) for row in rows]
