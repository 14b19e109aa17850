"""Hot fixed statements run straight on the DB-API cursor of a session's connection.

A single port create runs about a dozen statements that never change: the token, the quota, the
network, its subnets and pools, a check of candidate addresses, the default group, and four
inserts. Through SQLAlchemy's ``Connection.execute`` each one costs two to three times what SQLite
takes to run it (execution context, compiled-cache lookup, parameter and result objects): a
third of a create's CPU. A ``Prepared`` statement is compiled once per dialect into its SQL text,
its parameter order and the same type processors SQLAlchemy would apply (``TypeEngine.
dialect_impl(dialect).bind_processor`` / ``result_processor``), then run on the DB-API cursor.
Driver errors are raised wrapped as SQLAlchemy wraps them (``sqlalchemy.exc.IntegrityError``,
``OperationalError``, ...), so ``Store.run`` retries the same races.

Only statements whose bind parameters are all scalar qualify: no ``expanding`` IN lists (their
SQL text depends on the values).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable


@dataclass(frozen=True)
class _Plan:
    """A statement compiled for one dialect: its SQL text, its bind parameters' names in the order
    the driver takes them, each one's value when the statement itself fixes it (literals), the
    bind processors, and the result row type with one processor per column (None: as given)."""

    sql: str
    positional: bool
    names: tuple[str, ...]
    fixed: dict
    bind: dict[str, Callable]
    row: type | None
    results: tuple[Callable | None, ...]


def _plan(statement: Executable, dialect: Dialect, column_keys: Sequence[str] | None = None) -> _Plan:
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    binds = compiled.binds
    if any(b.expanding for b in binds.values()):
        raise ValueError("a prepared statement cannot have expanding bind parameters")
    names = tuple(compiled.positiontup) if dialect.positional else tuple(binds)
    bind = {}
    for name, parameter in binds.items():
        processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            bind[name] = processor
    fixed = {name: p.effective_value for name, p in binds.items() if not p.required}
    row, results = None, ()
    if statement.is_select:
        columns = statement.selected_columns
        row = collections.namedtuple("Row", [c.key for c in columns])
        results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return _Plan(compiled.string, dialect.positional, names, fixed, bind, row, results)


def _params(plan: _Plan, given: dict) -> tuple | dict:
    values = {**plan.fixed, **given} if plan.fixed or plan.bind else given
    for name, processor in plan.bind.items():
        values[name] = processor(values[name])
    return tuple(values[name] for name in plan.names) if plan.positional else {n: values[n] for n in plan.names}


class Prepared:
    """A Core SELECT ``statement`` run on the driver (inserts go through ``insert_rows``); build it
    once, at import, with named ``bindparam``s. Methods take the session (whose transaction it
    joins, after the autoflush an ORM query would do) and the parameter values by name. Raises
    ValueError for a statement that is no SELECT and, on first use, for one with an expanding
    parameter; driver errors as SQLAlchemy's (``sqlalchemy.exc.DBAPIError`` subclasses)."""

    def __init__(self, statement: Executable):
        if not statement.is_select:
            raise ValueError("Prepared takes a SELECT; insert_rows writes rows")
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def _plan_for(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _plan(self.statement, dialect)
        return plan

    def rows(self, session: Session, params: dict | None = None) -> list[tuple]:
        """Every row, as named tuples (attributes by the selected columns' keys)."""
        if session.autoflush:
            session.flush()
        conn = _connection(session)
        plan = self._plan_for(conn.dialect)
        raw = _run(conn, plan.sql, _params(plan, params or {}))
        if any(plan.results):
            convert = plan.results
            raw = [tuple(v if f is None or v is None else f(v) for f, v in zip(convert, r)) for r in raw]
        make = plan.row._make
        return [make(r) for r in raw]

    def first(self, session: Session, params: dict | None = None) -> tuple | None:
        """The first row (named tuple) or None."""
        found = self.rows(session, params)
        return found[0] if found else None

    def scalar(self, session: Session, params: dict | None = None):
        """The first column of the first row, or None when there is no row."""
        row = self.first(session, params)
        return None if row is None else row[0]

    def scalars(self, session: Session, params: dict | None = None) -> Iterator:
        """The first column of every row."""
        return (row[0] for row in self.rows(session, params))


def _connection(session: Session) -> Connection:
    # Session.connection() walks the session's transaction states on every call, a tenth of a
    # single create's CPU for its dozen statements: keep the answer for the transaction's life.
    transaction = session.get_transaction()
    known = session.info.get("ovnet_connection")
    if known is None or known[0] is not transaction:
        known = session.info["ovnet_connection"] = (transaction, session.connection())
    return known[1]


def execute_text(conn: Connection, sql: str) -> None:
    """Run ``sql`` (no parameters, no rows wanted: ``BEGIN IMMEDIATE``) on ``conn``'s driver
    connection; driver errors raised as SQLAlchemy's, as for a Prepared statement."""
    _run(conn, sql, ())


def _run(conn: Connection, sql: str, params: tuple | dict, many: list | None = None) -> list[tuple]:
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if many is not None:
            cursor.executemany(sql, many)
            return []
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params if many is None else many, exc, conn.dialect.loaded_dbapi.Error,
                                  dialect=conn.dialect) from exc
    finally:
        cursor.close()


_INSERTS: dict[tuple, _Plan] = {}  # (table, column keys, dialect name) -> plan


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """INSERT ``rows`` (dicts by column key, every row with the same keys; Python-side defaults
    already filled in, see bulkwrite.fill_defaults) into ``table`` in the session's transaction,
    as one executemany. The session is not flushed first (the caller writes rows it built)."""
    if not rows:
        return
    conn = _connection(session)
    keys = tuple(rows[0])
    plan = _INSERTS.get((table, keys, conn.dialect.name))
    if plan is None:
        plan = _INSERTS[(table, keys, conn.dialect.name)] = _plan(insert(table), conn.dialect, keys)
    _run(conn, plan.sql, (), [_params(plan, row) for row in rows])
