"""INSERTs of new ORM objects as Core executemany statements, without the ORM's unit of work.

A port create's flush (4 objects in 4 tables) went through the unit of work's dependency sort,
cascades and per-object bookkeeping, a fifth of the create's CPU; one executemany per table does
the same writes. The objects stay transient (never in the session): the caller builds them, this
module fills in their column defaults (so they show what the row holds) and inserts their rows
(prepared.insert_rows: on the driver's cursor, without SQLAlchemy's execution path either).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table
from sqlalchemy.orm import Session

from ovnet.model import prepared


def fill_defaults(obj: object) -> dict:
    """The column values of ``obj``'s row (its mapped table's columns by attribute name): what is
    set on it, else the column's Python-side default (``default=``, a value or a callable), which
    is also set on ``obj``. An autoincrement primary key left unset is left out (the database
    assigns it). Raises ValueError for another column without a value and without a default."""
    table: Table = type(obj).__table__
    values = {}
    for column in table.columns:
        value = obj.__dict__.get(column.key)
        if value is None:
            if column.default is not None:
                arg = column.default.arg
                # SQLAlchemy wraps a callable default to take the execution context; none here reads it.
                value = arg(None) if column.default.is_callable else arg
                setattr(obj, column.key, value)
            elif column.primary_key and column.autoincrement in (True, "auto"):
                continue
            elif not column.nullable:
                raise ValueError(f"{table.name}.{column.key} has no value and no default")
        values[column.key] = value
    return values


def insert_all(session: Session, objects: Iterable[object]) -> None:
    """INSERT the rows of ``objects`` (transient ORM objects, possibly of several classes) in the
    session's transaction: one executemany per class, classes in order of first appearance, which
    must respect the foreign keys (parents first). Rows of one class must set the same columns."""
    by_table: dict[Table, list[dict]] = {}
    for obj in objects:
        by_table.setdefault(type(obj).__table__, []).append(fill_defaults(obj))
    for table, rows in by_table.items():
        prepared.insert_rows(session, table, rows)
