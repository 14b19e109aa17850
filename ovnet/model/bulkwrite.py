"""INSERTs of new ORM objects as Core executemany statements, without the ORM's unit of work.

A port create's flush (4 objects in 4 tables) went through the unit of work's dependency sort,
cascades and per-object bookkeeping, a fifth of the create's CPU; one executemany per table does
the same writes. The objects stay transient (never in the session): the caller builds them, this
module fills in their column defaults (so they show what the row holds) and inserts their rows
(prepared.insert_rows: on the driver's cursor, without SQLAlchemy's execution path either).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import Table
from sqlalchemy.orm import Session

from ovnet.model import prepared


def fill_defaults(obj: object) -> dict:
    """The column values of ``obj``'s row (its mapped table's columns by attribute name): what is
    set on it, else the column's Python-side default (``default=``, a value or a callable), which
    is also set on ``obj``. An autoincrement primary key left unset is left out (the database
    assigns it). Raises ValueError for another column without a value and without a default."""
    state = obj.__dict__
    values = {}
    for key, default, is_callable, on_missing in _columns(type(obj).__table__):
        value = state.get(key)
        if value is None:
            if on_missing == "default":
                value = default(None) if is_callable else default
                # Straight into the instance's dict: the object is transient and never flushed,
                # and an instrumented setattr (history, events) cost a tenth of a create.
                state[key] = value
            elif on_missing == "skip":
                continue
            elif on_missing == "required":
                raise ValueError(f"{type(obj).__table__.name}.{key} has no value and no default")
        values[key] = value
    return values


@functools.cache
def _columns(table: Table) -> tuple[tuple, ...]:
    """Per column of ``table``: its key, default (SQLAlchemy wraps a callable one to take the
    execution context, which none here reads), whether that is callable, and what a missing
    value means: "default", "skip" (an autoincrement primary key), "required" or "null"."""
    found = []
    for column in table.columns:
        default = column.default
        if default is not None:
            found.append((column.key, default.arg, default.is_callable, "default"))
        elif column.primary_key and column.autoincrement in (True, "auto"):
            found.append((column.key, None, False, "skip"))
        else:
            found.append((column.key, None, False, "null" if column.nullable else "required"))
    return tuple(found)


def insert_all(session: Session, objects: Iterable[object]) -> None:
    """INSERT the rows of ``objects`` (transient ORM objects, possibly of several classes) in the
    session's transaction: one executemany per class, classes in order of first appearance, which
    must respect the foreign keys (parents first). Rows of one class must set the same columns."""
    by_table: dict[Table, list[dict]] = {}
    for obj in objects:
        by_table.setdefault(type(obj).__table__, []).append(fill_defaults(obj))
    for table, rows in by_table.items():
        prepared.insert_rows(session, table, rows)
