"""Bulk reads without ORM objects: table rows plus their child rows, shaped like the ORM objects.

Listing 10,000 ports through the ORM builds 20,000 tracked objects; reading plain rows and
grouping the children in one query per 500 parents costs a fraction of that, and the
serializers in ``serialize.py`` read either shape, since attribute names are the same.
Which children a resource has is declared by its registry entry (``Kind.children``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

CHUNK = 500  # parent ids per child query (bound-parameter limits of SQLite are far above)


@dataclass(frozen=True)
class Children:
    """The child rows a resource row is shown with: the relationship's ``name`` on the ORM class
    ("fixed_ips"), the child table's column holding the parent id, the child columns read, and
    their order."""

    name: str
    parent_column: object
    columns: tuple
    order: tuple


class Loaded:
    """One row of a resource table with its children under the relationship's name."""

    __slots__ = ("_row", "_children", "_name")

    def __init__(self, row, name: str | None, children: list) -> None:
        self._row, self._name, self._children = row, name, children

    def __getattr__(self, attr: str):
        if attr == self._name:
            return self._children
        return getattr(self._row, attr)


def rows_query(model: type) -> Select:
    """A SELECT of every column of ``model``'s table; add where/order/limit, then pass to ``load``."""
    return select(*model.__table__.columns)


def load(session: Session, children: Children | None, query: Select) -> list[Loaded]:
    """Run ``query`` (built on ``rows_query(model)``) and attach each row's ``children`` (None: the
    resource has none), in query order."""
    rows = session.execute(query).all()
    if children is None:
        return [Loaded(row, None, []) for row in rows]
    found: dict[str, list] = defaultdict(list)
    ids = [row.id for row in rows]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for child in session.execute(select(children.parent_column.label("parent"), *children.columns)
                                     .where(children.parent_column.in_(chunk)).order_by(*children.order)):
            found[child.parent].append(child)
    return [Loaded(row, children.name, found.get(row.id, [])) for row in rows]
