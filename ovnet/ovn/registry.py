"""The OVN half of the resource registry: the NB tables ovnet writes and which kind makes which rows.

The model half (``ovnet.model.registry``) declares the kinds; this module declares, under the
same kind names, what each kind becomes in OVN NB, so that the diff and the NB writer are
table-driven and know no table by name.

``TABLES`` lists every NB table ovnet writes, in creation order (a table after the tables it
refers to and its parent table). Each ``Table`` declares:

- ``columns``: the columns ovnet writes and compares; every other column (``up``,
  ``Logical_Switch.ports``, ...) belongs to OVN or to membership bookkeeping and is never read;
- ``name_of``: for tables whose rows have a ``name`` ovnet sets, the name of the row of an ovnet
  id. The NB client indexes ``name`` so a row is found without scanning the table; tables
  without it are scanned (keep those small: DHCP_Options). A scoped read looks rows up by
  ``name_of(object id)``, so a table with ``name_of`` keys its rows by the plain object id or by
  ``<id>/<part>`` with ``<part>`` in ``parts``; other tables with several rows per object leave it None;
- ``parts``: the ``<part>``s of a named table's ``<id>/<part>`` keys (a network's ``drop``
  Port_Group, named after its key; its ``provnet`` switch port, named by the network id). A
  scoped read looks up ``name_of(<id>/<part>)`` beside ``name_of(<id>)``: an object
  deleted from the model has no desired rows to name them, and its part rows must still be found
  to go with the delete's own sync, not wait for the next full reconcile. ``desired_rows``
  refuses a key with an undeclared part;
- ``unique_name``: NB refuses a second row with that name (an index in the NB schema), so a
  create is checked first against rows ovnet does not own (a "conflict", left to an operator);
- ``parent``: for non-root tables, the parent table and column that hold the row (ovsdbapp's
  northbound commands do the same: ``lsp_add`` adds the port to ``Logical_Switch.ports``) and
  the ``external_ids`` key in the row naming the parent's ovnet id;
- ``references``: column -> table, for columns holding references (the translation writes ovnet
  ids; the writer resolves them to rows);
- ``memberships``: for rows that belong to several rows of another table (a switch port in the
  Port_Groups of its security groups), the table and column holding them and the
  ``external_ids`` key listing (space-separated) the ovnet ids of those rows. The writer keeps
  the holders' column in step with the list, one mutation per change, never rewriting a group
  of thousands of ports to add one.

``KINDS`` maps a model kind name to its translate functions (``ovnet.ovn.translate``,
``ovnet.ovn.routing``, ``ovnet.ovn.acls``), each yielding ``(table, key, row)``; several features
may add rows to one kind (a router port's switch port comes from routing, a network's drop
Port_Group from acls). The key starts with the id of the object being translated (``<id>`` or
``<id>/<part>``): a change is scoped by object ids, and a row keyed by another object's id would
fall outside its own object's scope. Adding a resource with NB rows: a
translate function, its tables in ``TABLES`` (if new) and a line in ``KINDS``; the NB client
registers and monitors the tables. Router tables: Logical_Router_Port under
``Logical_Router.ports``, NAT under ``Logical_Router.nat``, Logical_Router_Static_Route under
``Logical_Router.static_routes``, Gateway_Chassis under ``Logical_Router_Port.gateway_chassis``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ovnet.model import registry as model_registry
from ovnet.ovn import acls, routing, translate
from ovnet.ovn.routing import GATEWAY_CHASSIS, LR, LRP, LRP_KEY, NAT, ROUTER_KEY, STATIC_ROUTE
from ovnet.ovn.translate import DHCP, LS, LSP, NETWORK_KEY, Desired, ModelView

KindRows = Callable[[Mapping[str, Any], ModelView], Iterable[tuple[str, str, dict]]]


@dataclass(frozen=True)
class Parent:
    """A child row lives in ``table``'s ``column`` of the row whose ovnet id is the child's
    ``external_ids[key]``."""

    table: str
    column: str
    key: str


@dataclass(frozen=True)
class Membership:
    """A row is in ``table``'s ``column`` of every row whose ovnet id its ``external_ids[key]``
    lists (space-separated)."""

    table: str
    column: str
    key: str


@dataclass(frozen=True)
class Table:
    """One NB table ovnet writes (field meanings in the module docstring)."""

    name: str
    columns: tuple[str, ...]
    name_of: Callable[[str], str] | None = None
    parts: tuple[str, ...] = ()
    unique_name: bool = False
    parent: Parent | None = None
    references: Mapping[str, str] = field(default_factory=dict)
    memberships: tuple[Membership, ...] = ()


TABLES: tuple[Table, ...] = (
    Table(LS, ("name", "other_config", "external_ids"), name_of=translate.switch_name),
    Table(DHCP, ("cidr", "options", "external_ids")),
    Table(acls.PG, ("name", "external_ids"), name_of=acls.port_group_name, parts=(acls.DROP_SUFFIX,),
          unique_name=True),
    Table(acls.ACL, ("name", "priority", "direction", "match", "action", "external_ids"),
          parent=Parent(acls.PG, "acls", acls.PORT_GROUP_KEY)),
    Table(LSP, ("name", "type", "addresses", "port_security", "enabled", "options", "tag",
                "dhcpv4_options", "dhcpv6_options", "external_ids"),
          name_of=str, parts=(routing.PROVNET_SUFFIX,), unique_name=True, parent=Parent(LS, "ports", NETWORK_KEY),
          references={"dhcpv4_options": DHCP, "dhcpv6_options": DHCP},
          memberships=(Membership(acls.PG, "ports", acls.MEMBERSHIP_KEY),)),
    # A router's child tables are small (a few rows per router) and scanned; their rows' ovnet ids
    # start with the router id, so a router change re-derives all of them.
    Table(LR, ("name", "enabled", "options", "external_ids"), name_of=routing.router_name),
    Table(LRP, ("name", "mac", "networks", "enabled", "options", "external_ids"),
          parent=Parent(LR, "ports", ROUTER_KEY)),
    Table(GATEWAY_CHASSIS, ("name", "chassis_name", "priority", "external_ids"),
          parent=Parent(LRP, "gateway_chassis", LRP_KEY)),
    Table(NAT, ("type", "external_ip", "logical_ip", "external_mac", "logical_port", "options", "external_ids"),
          parent=Parent(LR, "nat", ROUTER_KEY)),
    Table(STATIC_ROUTE, ("ip_prefix", "nexthop", "external_ids"), parent=Parent(LR, "static_routes", ROUTER_KEY)),
)
TABLE: dict[str, Table] = {t.name: t for t in TABLES}
ORDER: tuple[str, ...] = tuple(TABLE)  # creation order; deletion runs it backwards

# Several functions may contribute rows to one kind (a port's own switch port, a router port's).
KINDS: dict[str, tuple[KindRows, ...]] = {
    "network": (translate.network_rows, routing.localnet_rows, acls.network_drop_rows),
    "subnet": (translate.subnet_rows,),
    "port": (translate.port_rows, routing.router_port_rows),
    "router": (routing.router_rows,),
    "floatingip": (routing.floatingip_rows,),
    "security_group": (acls.security_group_rows,),
}


def _check() -> None:
    for name in KINDS:
        if name not in model_registry.KINDS:
            raise ValueError(f"OVN registry entry {name!r} has no model kind")
    for i, table in enumerate(TABLES):
        before = set(ORDER[:i])
        needed = {*table.references.values(), *([table.parent.table] if table.parent else []),
                  *(m.table for m in table.memberships)}
        if not needed <= before:
            raise ValueError(f"{table.name} must come after {sorted(needed - before)} in TABLES")
        if table.parts and table.name_of is None:
            raise ValueError(f"{table.name}: parts are looked up by name and need name_of")


_check()


def names_of(table: str, object_ids: Iterable[str]) -> set[str]:
    """The ``name``s the rows of ``object_ids`` may have in ``table`` (one with ``name_of``):
    ``name_of(id)`` and ``name_of(id/part)`` for each of the table's ``parts``."""
    spec = TABLE[table]
    return {spec.name_of(k) for i in object_ids for k in (i, *(f"{i}/{p}" for p in spec.parts))}


def object_id(key: str) -> str:
    """The model object a row's ovnet id belongs to: ``<object id>[/<part>]`` -> object id."""
    return key.partition("/")[0]


def desired_rows(snapshot: Mapping[str, list[Mapping[str, Any]]], scope: set[str] | None = None,
                 facts: Mapping[str, list[Mapping[str, Any]]] | None = None) -> Desired:
    """The NB rows the model wants: {table: {ovnet id: row}} with every table of TABLES present.

    ``snapshot`` is {plural: [item]} (``syncer_io.snapshot``). With ``scope`` (a set of object
    ids) only the rows of those objects are returned, which keeps a small change cheap when
    there are many ports. ``facts`` are what translations read beyond the model, same shape
    (items with an "id"), e.g. {"chassis": [...]} from OVN SB (``ovnet.ovn.sb``). Raises
    ValueError when a translate function yields a table not in TABLES, or a key of a named table
    with a part not in that table's ``parts``.
    """
    view = ModelView({**snapshot, **(facts or {})})
    out: Desired = {name: {} for name in ORDER}
    for name, functions in KINDS.items():
        for item in snapshot.get(model_registry.KINDS[name].plural, []):
            if scope is not None and item["id"] not in scope:
                continue
            for table, key, row in (r for rows_of in functions for r in rows_of(item, view)):
                if table not in out:
                    raise ValueError(f"{name} {item['id']}: table {table} is not declared in TABLES")
                if "/" in key and TABLE[table].name_of is not None and key.partition("/")[2] not in TABLE[table].parts:
                    raise ValueError(f"{name} {item['id']}: {table} key {key!r} has a part not in its Table.parts")
                out[table][key] = row
    return out

