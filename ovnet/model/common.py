"""Helpers every resource module shares: deployment defaults, lookups under tenancy, change records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ovnet.model.errors import Conflict, NotFound, PreconditionFailed
from ovnet.model.prepared import Prepared
from ovnet.model.schema import Outbox, StandardAttrs, utcnow
from ovnet.model.tenancy import Context, require_owner, visible

MAC_PREFIX_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){0,4}$")


@dataclass(frozen=True)
class Defaults:
    """Deployment-wide defaults: ``network_mtu`` in bytes (underlay MTU less Geneve overhead),
    ``mac_prefix``, the leading octets of generated MACs ("fa:16:3e" as Neutron's base_mac), and
    ``quotas``, each project's default limit per resource ("network", "port", ...; missing or -1:
    unlimited)."""

    network_mtu: int = 1442
    mac_prefix: str = "fa:16:3e"
    physical_mtu: int = 1500  # bytes; flat/vlan networks are on the underlay, no Geneve header
    quotas: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not MAC_PREFIX_RE.match(self.mac_prefix) or int(self.mac_prefix[:2], 16) & 1:
            raise ValueError(f"mac_prefix must be 1 to 5 unicast hex octets, not {self.mac_prefix!r}")


DEFAULTS = Defaults()  # for callers without a deployment's settings (tests, tools)


def get_visible(session: Session, ctx: Context, model: type, resource_id: str, options=()):
    """The row ``resource_id`` of ``model`` if ``ctx`` may see it, else NotFound named by the table's
    ``noun`` (e.g. NetworkNotFound)."""
    row = session.scalar(
        select(model).where(model.id == resource_id, visible(ctx, model)).options(*options)
    )
    if row is None:
        raise _not_found(model, resource_id)
    return row


def _not_found(model: type, resource_id: str) -> NotFound:
    return NotFound(f"{model.noun.label} {resource_id} could not be found.", f"{model.noun.error}NotFound")


_VISIBLE_ROW: dict[tuple, Prepared] = {}  # (model, column names, admin?) -> statement


def visible_row(session: Session, ctx: Context, model: type, resource_id: str, names: tuple[str, ...]) -> tuple:
    """The columns ``names`` of the row ``resource_id`` of ``model`` as a named tuple (attributes by those
    names) if ``ctx`` may see it, else NotFound as ``get_visible``. For a caller that only reads a
    few columns: no ORM entity, and the statement is built once per (model, names, admin or not),
    with the caller's project as a bind parameter (see prepared.py)."""
    key = (model, names, ctx.is_admin)
    query = _VISIBLE_ROW.get(key)
    if query is None:
        caller = Context(project_id=bindparam("caller"), is_admin=ctx.is_admin)
        query = _VISIBLE_ROW[key] = Prepared(select(*(getattr(model, n) for n in names)).where(
            model.id == bindparam("id"), visible(caller, model)))
    params = {"id": resource_id} if ctx.is_admin else {"id": resource_id, "caller": ctx.project_id}
    row = query.first(session, params)
    if row is None:
        raise _not_found(model, resource_id)
    return row


def check_revision(session: Session, ctx: Context, model: type, resource_id: str, wanted: int | None) -> None:
    """PreconditionFailed (RevisionNumberConstraintFailed) unless the visible row ``resource_id``
    is at revision ``wanted`` (None: no condition) — Neutron's If-Match: revision_number=N;
    NotFound when the row is not visible."""
    if wanted is None:
        return
    current = get_visible(session, ctx, model, resource_id).revision_number
    if current != wanted:
        raise PreconditionFailed(f"Constrained to {wanted}, but current revision is {current}",
                                 "RevisionNumberConstraintFailed", "revision_number")


def get_owned(session: Session, ctx: Context, model: type, resource_id: str, action: str, options=()):
    """The row ``resource_id`` if ``ctx`` may change it: NotFound if invisible, Forbidden if only
    visible (e.g. another project's shared network). ``action`` names the policy rule."""
    row = get_visible(session, ctx, model, resource_id, options)
    require_owner(ctx, row, action)
    return row


def delete_unused(session: Session, ctx: Context, model: type, resource_id: str, action: str, users: object,
                  in_use: str) -> None:
    """Delete the row ``resource_id`` of ``model`` that ``ctx`` may change (get_owned) and write its
    outbox row; Conflict (``<Noun>InUse``, e.g. SubnetPoolInUse) with the message ``in_use``
    (``{id}`` is the row's id) while some row's column ``users`` holds that id."""
    row = get_owned(session, ctx, model, resource_id, action)
    if session.scalar(select(users).where(users == row.id).limit(1)) is not None:
        raise Conflict(in_use.format(id=row.id), f"{model.noun.error}InUse")
    record_change(session, row)
    session.delete(row)


def record_update(session: Session, row: StandardAttrs) -> None:
    """An update of ``row`` happened: bump its revision and write its outbox row."""
    bump(row)
    record_change(session, row)


def record_change(session: Session, row: StandardAttrs) -> None:
    """Write the outbox row of a change of ``row`` (same transaction as the change itself)."""
    session.add(change_record(row))


def change_record(row: StandardAttrs) -> Outbox:
    """The outbox row of a change of ``row``, not yet in any session."""
    return Outbox(resource_type=type(row).noun.kind, resource_id=row.id)


def bump(row: StandardAttrs) -> None:
    """Mark an update of ``row``: revision_number + 1 and a new updated_at (Neutron revisions)."""
    row.revision_number += 1
    row.updated_at = utcnow()


def assign(row: object, values: dict, columns: dict[str, str]) -> bool:
    """Set the attributes in ``values`` named in ``columns`` (API name -> column); True if any changed."""
    changed = False
    for name, column in columns.items():
        if name in values and getattr(row, column) != values[name]:
            setattr(row, column, values[name])
            changed = True
    return changed
