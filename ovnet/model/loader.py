"""Bulk reads without ORM objects: table rows plus their child rows, shaped like the ORM objects.

Listing 10,000 ports through the ORM builds 20,000 tracked objects; reading plain rows and
grouping the children in one query per 500 parents costs a fraction of that, and the
serializers in ``serialize.py`` read either shape, since attribute names are the same.
Which children a resource has is declared by its registry entry (``Kind.children``).
"""

from __future__ import annotations

import collections
import functools
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import DateTime, Select, String, bindparam, select, type_coerce
from sqlalchemy.orm import Session

CHUNK = 500  # parent ids per child query (bound-parameter limits of SQLite are far above)


@dataclass(frozen=True)
class Children:
    """The child rows a resource row is shown with: the relationship's ``name`` on the ORM class
    ("fixed_ips"), the child table's column holding the parent id, the child columns read, their
    order, and ``where``: conditions joining a child table that is not the parent column's own
    (a router's gateway addresses: IPAllocation rows of the Port whose device_id is the router)."""

    name: str
    parent_column: object
    columns: tuple
    order: tuple
    where: tuple = ()


class Loaded:
    """One row of a resource table with its children under the relationships' names.

    Columns and children are plain instance attributes: serializing 10,000 ports reads some
    200,000 of them, and a ``__getattr__`` forwarding to the SQL row was a fifth of a listing's time.
    """

    def __init__(self, names: list[str], row, children: dict[str, list]) -> None:
        self.__dict__.update(zip(names, row))  # a Row's _mapping view cost a twentieth of a listing
        self.__dict__.update(children)


def rows_query(model: type) -> Select:
    """A SELECT of every column of ``model``'s table; add where/order/limit, then pass to ``load``.

    Timestamps come as the driver gives them, without SQLAlchemy's conversion: text on SQLite
    ("YYYY-MM-DD HH:MM:SS.ffffff"), datetime on PostgreSQL; serialize._time takes both.
    Parsing 20,000 of them into datetimes only to print them again was a tenth of a listing."""
    return select(*(type_coerce(c, String).label(c.key) if isinstance(c.type, DateTime) else c
                    for c in model.__table__.columns))


def load(session: Session, children: Children | tuple[Children, ...] | None, query: Select,
         params: dict | None = None) -> list[Loaded]:
    """Run ``query`` (built on ``rows_query(model)``, with the values ``params`` of its bind
    parameters) and attach each row's ``children`` (one Children, several, or None: the resource
    has none), in query order."""
    # Core execution on the session's connection: these are column SELECTs, and the ORM's result
    # processing (built for entities) cost a tenth of a listing for nothing.
    conn = session.connection()
    result = conn.execute(query, params)
    names = list(result.keys())
    rows = result.all()
    specs = () if children is None else (children,) if isinstance(children, Children) else children
    at = names.index("id")  # a Row's field by position is C code, by name Python code
    ids = [row[at] for row in rows]
    found: dict[str, dict[str, list]] = {}
    for spec in specs:
        by_parent = found[spec.name] = defaultdict(list)
        for parents in _parent_sets(query, ids):
            if isinstance(parents, list):
                rows_of = conn.execute(_children_of(spec), {"parents": parents})
            else:
                rows_of = conn.execute(_child_query(spec, parents), params)
            make = _child_type(tuple(rows_of.keys()))._make
            for child in map(make, rows_of):
                by_parent[child.parent].append(child)
    lists = list(found.items())
    return [Loaded(names, row, {name: by_parent.get(row[at], []) for name, by_parent in lists}) for row in rows]


@functools.cache
def _child_type(names: tuple[str, ...]) -> type:
    # Child rows become named tuples: reading a field of a SQLAlchemy Row by name goes through
    # Python code, and the serializers read 20,000 of them in a listing of 10,000 ports.
    return collections.namedtuple("Child", names)


def _child_query(spec: Children, parents) -> Select:
    return (select(spec.parent_column.label("parent"), *spec.columns)
            .where(spec.parent_column.in_(parents), *spec.where).order_by(*spec.order))


_BY_IDS: dict[int, tuple[Children, Select]] = {}  # id(spec) -> (spec, its query by a list of parent ids)


def _children_of(spec: Children) -> Select:
    """The query of ``spec``'s rows whose parent is in the list bound as ``parents``, built once
    per spec (a show loads one parent's children, and building the statement cost several
    times running it on SQLite)."""
    known = _BY_IDS.get(id(spec))
    if known is None or known[0] is not spec:
        known = _BY_IDS[id(spec)] = (spec, _child_query(spec, bindparam("parents", expanding=True)))
    return known[1]


def _parent_sets(query: Select, ids: list[str]) -> list:
    """What the children's ``IN`` takes: the ids themselves in chunks of CHUNK for a few parents,
    else the parent query again as a subquery (its id column, same conditions and limit): binding
    10,000 ids as 20 chunks of parameters took a fifth of a whole listing in SQLAlchemy's compiler."""
    if len(ids) <= CHUNK:
        return [ids] if ids else []
    return [query.with_only_columns(query.selected_columns.id)]
