"""Listing: filters on attributes (repeated keys = OR), tag filters, sorting and marker pagination.

Neutron API v2.0 "Filtering and column selection", "Sorting", "Pagination". Pagination is keyset
(the marker row's sort values), so a page costs the same at any depth; ``id`` is always the last
sort key so the order is total.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, and_, case, cast, false, literal, not_, or_, select, true
from sqlalchemy.orm import Session

from ovnet.model import attributes, loader
from ovnet.model.errors import BadRequest, NotFound
from ovnet.model.schema import IPAllocation, Port
from ovnet.model.tenancy import Context, visible

TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
MAX_LIMIT = 10_000_000
# Distinct values one filter may list: an IN list of bound parameters, well under SQLite's 32,766
# and PostgreSQL's 65,535 per statement.
MAX_FILTER_VALUES = 10_000
# Distinct tags one tag filter may list: each is a LIKE term (see _tag_filter); a resource holds
# at most attributes.MAX_TAGS, so twice that covers every meaningful query.
MAX_TAG_FILTER = 100
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1  # SQL Integer columns (PostgreSQL int4)


@dataclass(frozen=True)
class Column:
    """A filterable attribute: its SQL expression, the check of filter values, and if sortable.

    ``where`` replaces the equality test for attributes that are not one column (``fixed_ips``):
    it takes the filter's values and returns the condition.
    """

    expr: object
    check: attributes.Check = attributes.string
    sortable: bool = True
    filterable: bool = True
    where: Callable[[list[str]], ColumnElement[bool]] | None = None


def standard_columns(model: type, named: bool = True) -> dict[str, Column]:
    """The columns of the standard attributes every resource has (schema.StandardAttrs); without
    ``name`` when not ``named`` (security group rules have none)."""
    return {
        "id": Column(model.id),
        **({"name": Column(model.name)} if named else {}),
        "description": Column(model.description),
        "project_id": Column(model.project_id),
        "tenant_id": Column(model.project_id),
        "revision_number": Column(model.revision_number, attributes.integer),
        "created_at": Column(model.created_at, filterable=False),
        "updated_at": Column(model.updated_at, filterable=False),
    }


def _tag_match(model: type, tag: str) -> ColumnElement[bool]:
    # Tags are a JSON list; each tag is matched as its exact JSON string inside the list text.
    pattern = json.dumps(tag).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(model.tags, String).like(f"%{pattern}%", escape="\\")


def _distinct(key: str, values: list, limit: int) -> list:
    """``values`` without repeats (first order kept); BadRequest past ``limit`` distinct ones."""
    unique = list(dict.fromkeys(values))
    if len(unique) > limit:
        raise BadRequest(f"Too many values for filter {key}: {len(unique)} distinct, at most {limit}",
                         "HTTPBadRequest", key)
    return unique


def _tag_filter(model: type, key: str, values: list[str]) -> ColumnElement[bool]:
    # Each tag is one LIKE, and SQLite refuses an expression tree deeper than 1000, so repeats
    # are folded and the distinct count bounded.
    tags = _distinct(key, [attributes.tag(key, t) for v in values for t in v.split(",")], MAX_TAG_FILTER)
    matches = [_tag_match(model, t) for t in tags]
    if key == "tags":
        return and_(*matches)
    if key == "tags-any":
        return or_(*matches)
    if key == "not-tags":
        return not_(and_(*matches))
    return not_(or_(*matches))


def fixed_ips_filter(values: list[str]) -> ColumnElement[bool]:
    """``fixed_ips=ip_address=10.0.0.5`` / ``fixed_ips=subnet_id=<id>``, as python-neutronclient sends.

    As Neutron does, values of one key are ORed and the keys ANDed on the same address: a port
    matches when one of its fixed IPs has one of the addresses and lies in one of the subnets.
    """
    wanted: dict[str, list[str]] = {"ip_address": [], "subnet_id": []}
    for value in values:
        key, _, given = value.partition("=")
        if key == "ip_address":
            wanted[key].append(attributes.ip_address("fixed_ips", given))
        elif key == "subnet_id":
            wanted[key].append(attributes.string("fixed_ips", given))
        else:
            raise BadRequest(f"Invalid input for fixed_ips filter: '{value}'", "HTTPBadRequest", "fixed_ips")
    columns = {"ip_address": IPAllocation.ip_address, "subnet_id": IPAllocation.subnet_id}
    conditions = [columns[k].in_(_distinct("fixed_ips", v, MAX_FILTER_VALUES)) for k, v in wanted.items() if v]
    return Port.id.in_(select(IPAllocation.port_id).where(*conditions))


def _storable(value: object) -> bool:
    # Integer columns are 32-bit on PostgreSQL: a valid 64-bit filter value beyond that range
    # matches no row, and must not reach the driver (NumericValueOutOfRange -> 500).
    return not isinstance(value, int) or isinstance(value, bool) or INT32_MIN <= value <= INT32_MAX


def where_clause(kind, filters: dict[str, list[str]]) -> ColumnElement[bool]:
    """One SQL condition for ``filters`` (attribute -> accepted values; values of one key are ORed)
    on ``kind`` (a registry.Kind: its ``model`` and ``columns``).

    The condition's size does not grow with repeated values: values of one attribute become one
    IN list. BadRequest for an attribute that cannot be filtered on, a value of the wrong type,
    or more than MAX_FILTER_VALUES distinct values (MAX_TAG_FILTER tags) for one attribute.
    """
    model, columns = kind.model, kind.columns
    clauses = []
    for key, values in filters.items():
        if key in TAG_FILTERS:
            clauses.append(_tag_filter(model, key, values))
        elif key in columns and columns[key].where is not None:
            clauses.append(columns[key].where(values))
        elif key in columns and columns[key].filterable:
            col = columns[key]
            wanted = _distinct(key, [col.check(key, v) for v in values], MAX_FILTER_VALUES)
            clauses.append(col.expr.in_([v for v in wanted if _storable(v)]))
        else:
            raise BadRequest(f"[{key}] is invalid attribute for filtering", "HTTPBadRequest", key)
    return and_(true(), *clauses)


def _equal(expr, value) -> ColumnElement[bool]:
    # The marker's value as a typed bound parameter: SQLAlchemy refuses ordering comparisons with a
    # bare None/True/False (an ArgumentError, i.e. a 500, for a marker with a NULL or boolean key).
    return expr.is_(None) if value is None else expr == literal(value, expr.type)


def _beyond(expr, value, ascending: bool) -> ColumnElement[bool]:
    # Rows past ``value`` in the sort direction. Past a NULL there is nothing of the same nullness:
    # the key's nullness flag (_sort_keys) orders NULLs against values.
    if value is None:
        return false()
    bound = literal(value, expr.type)
    return expr > bound if ascending else expr < bound


def _keyset(keys: list[tuple[object, bool]], marker_values: list) -> ColumnElement[bool]:
    ors = []
    for i, (expr, ascending) in enumerate(keys):
        equal = [_equal(k, v) for (k, _), v in zip(keys[:i], marker_values[:i])]
        ors.append(and_(*equal, _beyond(expr, marker_values[i], ascending)))
    return or_(*ors)


def _nullable(expr) -> bool:
    # A column attribute knows; any other expression (PORT_STATUS) is taken as nullable, which
    # costs one more ORDER BY term and is never wrong.
    return getattr(getattr(expr, "expression", expr), "nullable", True)


def _sort_keys(expr, ascending: bool) -> list[tuple[object, bool]]:
    """The ORDER BY terms of one sort key: ``expr`` itself, preceded for a column that may be NULL
    by a flag ordering NULLs before every value (after them when descending), as MySQL-backed
    Neutron sorts, the same on SQLite and PostgreSQL (whose own NULL orders differ)."""
    if not _nullable(expr):
        return [(expr, ascending)]
    return [(case((expr.is_(None), 0), else_=1), ascending), (expr, ascending)]


def list_rows(session: Session, ctx: Context, kind, filters: dict[str, list[str]],
              sorts: list[tuple[str, str]] = (), limit: int | None = None, marker: str | None = None,
              page_reverse: bool = False) -> tuple[list, bool]:
    """The rows of ``kind`` (a registry.Kind) visible to ``ctx`` matching ``filters``, sorted, one page long.

    Rows are ``loader.Loaded`` (plain rows with their children), which the serializers accept.
    ``sorts``: [(attribute, "asc"|"desc")]; ``limit``: page size (None: all); ``marker``: id of the
    last row of the previous page (first row when ``page_reverse``). Returns (rows, more) where
    ``more`` tells whether rows exist beyond this page in the paging direction. BadRequest for an
    unknown sort key or direction, NotFound for an unknown marker.
    """
    model, columns = kind.model, kind.columns
    if not ctx.is_admin:
        # What a caller may not see it may not filter or sort on either, since the answer would
        # tell (Neutron shows binding:host_id to admins only).
        for key in filters:
            if key in kind.admin_fields:
                raise BadRequest(f"[{key}] is invalid attribute for filtering", "HTTPBadRequest", key)
        for key, _direction in sorts:
            if key in kind.admin_fields:  # as for an unknown key, so nothing tells it exists
                raise BadRequest(f"{key} is invalid attribute for sort_key", "HTTPBadRequest", "sort_key")
    keys: list[tuple[object, bool]] = []
    for key, direction in sorts:
        if key not in columns or not columns[key].sortable:
            raise BadRequest(f"{key} is invalid attribute for sort_key", "HTTPBadRequest", "sort_key")
        if direction not in ("asc", "desc"):
            raise BadRequest(f"{direction} is invalid value for sort_dir", "HTTPBadRequest", "sort_dir")
        keys.extend(_sort_keys(columns[key].expr, direction == "asc"))
    keys.append((model.id, keys[0][1] if keys else True))
    if page_reverse:
        keys = [(expr, not ascending) for expr, ascending in keys]
    query = loader.rows_query(model).where(visible(ctx, model), where_clause(kind, filters))
    if marker:
        values = session.execute(select(*(e for e, _ in keys)).where(model.id == marker, visible(ctx, model))).first()
        if values is None:
            raise NotFound(f"Marker {marker} could not be found.", "NotFound", "marker")
        query = query.where(_keyset(keys, list(values)))
    query = query.order_by(*(e.asc() if asc else e.desc() for e, asc in keys))
    if limit is not None:
        if not 0 < limit <= MAX_LIMIT:
            raise BadRequest(f"Limit must be a positive integer, not {limit}", "HTTPBadRequest", "limit")
        query = query.limit(limit + 1)
    rows = loader.load(session, kind.children, query)
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    return (rows[::-1] if page_reverse else rows), more
