"""Address scopes: create, update, delete, and the rule that keeps a scope's pools disjoint
(Neutron API v2.0 "Address scopes", extension ``address-scope``).

A scope is an address space of one IP version. Subnet pools join one through their
``address_scope_id``; the prefixes of the pools in one scope never overlap, so no address is
handed out twice inside it. ``shared`` is admin-only and, once set, cannot be cleared (Neutron's
update_address_scope: "Shared address scope can't be unshared").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ovnet.model import attributes
from ovnet.model.attributes import Attr, boolean, one_of
from ovnet.model.common import assign, delete_unused, get_owned, get_visible, record_change, record_update
from ovnet.model.errors import BadRequest, Forbidden
from ovnet.model.schema import AddressScope, SubnetPool
from ovnet.model.serialize import standard_dict
from ovnet.model.tenancy import Context, owner_project

ATTRIBUTES = {
    **{k: v for k, v in attributes.COMMON.items() if k != "status"},
    "ip_version": Attr(one_of(4, 6), put=False, required=True),
    "shared": Attr(boolean, default=False),
}
COLUMNS = {n: n for n in ("name", "description", "shared")}


def address_scope_dict(scope: AddressScope) -> dict:
    """An address scope as Neutron shows it: the standard attributes, ``ip_version``, ``shared``."""
    return {**standard_dict(scope), "ip_version": scope.ip_version, "shared": scope.shared}


def _check_shared(ctx: Context, values: dict, action: str) -> None:
    if "shared" in values and not ctx.is_admin:  # Neutron policy: {create,update}_address_scope:shared
        raise Forbidden(f"rule:{action}:shared is disallowed by policy", field="shared")


def create_address_scope(session: Session, ctx: Context, body: object) -> AddressScope:
    """Create an address scope from a request body's inner dict (``ip_version`` 4 or 6 required).
    BadRequest for invalid input; Forbidden when a member sets ``shared`` or another project."""
    values = attributes.validate(ATTRIBUTES, "address_scope", body, create=True)
    project_id = owner_project(ctx, values, "address_scope")
    _check_shared(ctx, {k: v for k, v in values.items() if k == "shared" and v}, "create_address_scope")
    scope = AddressScope(project_id=project_id, ip_version=values["ip_version"], tags=list(values["tags"]))
    assign(scope, values, COLUMNS)
    session.add(scope)
    session.flush()
    record_change(session, scope)
    return scope


def update_address_scope(session: Session, ctx: Context, scope_id: str, body: object) -> AddressScope:
    """Update name, description, shared (admin only; true may not become false again).
    BadRequest (AddressScopeUpdateError), Forbidden, NotFound (AddressScopeNotFound)."""
    values = attributes.validate(ATTRIBUTES, "address_scope", body, create=False)
    scope = get_owned(session, ctx, AddressScope, scope_id, "update_address_scope")
    _check_shared(ctx, values, "update_address_scope")
    if scope.shared and values.get("shared") is False:
        raise BadRequest(f"Unable to update address scope {scope.id}: Shared address scope can't be unshared",
                         "AddressScopeUpdateError", "shared")
    if assign(scope, values, COLUMNS):
        record_update(session, scope)
    return scope


def delete_address_scope(session: Session, ctx: Context, scope_id: str) -> None:
    """Delete an address scope; Conflict (AddressScopeInUse) while a subnet pool is in it."""
    delete_unused(session, ctx, AddressScope, scope_id, "delete_address_scope", SubnetPool.address_scope_id,
                  "Unable to complete operation on address scope {id}. There are one or more subnet pools in use "
                  "on the address scope.")


def check_pool(session: Session, ctx: Context, scope_id: str, pool_id: str, project_id: str, ip_version: int,
               prefixes: Iterable[str]) -> None:
    """May the pool ``pool_id`` (of ``project_id``, ``ip_version``, with ``prefixes`` as CIDR
    strings) be in the scope ``scope_id``? Neutron's _validate_address_scope_id:

    NotFound (AddressScopeNotFound) when ``ctx`` cannot see the scope; BadRequest
    (IllegalSubnetPoolAssociationToAddressScope) when the scope is neither the pool's project's
    nor shared, (IllegalSubnetPoolIpVersionAssociationToAddressScope) for another IP version,
    (AddressScopePrefixConflict) when a prefix overlaps one of another pool in the scope. The
    scope row is locked (FOR UPDATE on PostgreSQL; SQLite writers are serial) so two pools
    joining at once cannot both pass the overlap check.
    """
    get_visible(session, ctx, AddressScope, scope_id)
    scope = session.scalar(select(AddressScope).where(AddressScope.id == scope_id).with_for_update())
    if scope.project_id != project_id and not scope.shared:
        raise BadRequest(f"Illegal subnetpool association: subnetpool {pool_id} cannot be associated with "
                         f"address scope {scope.id}.", "IllegalSubnetPoolAssociationToAddressScope",
                         "address_scope_id")
    if scope.ip_version != ip_version:
        raise BadRequest(f"Illegal subnetpool association: subnetpool {pool_id} cannot associate with address "
                         f"scope {scope.id} because subnetpool ip_version is not {scope.ip_version}.",
                         "IllegalSubnetPoolIpVersionAssociationToAddressScope", "address_scope_id")
    mine = [ipaddress.ip_network(p) for p in prefixes]
    others = session.scalars(select(SubnetPool.prefixes).where(SubnetPool.address_scope_id == scope.id,
                                                               SubnetPool.id != pool_id))
    if any(ipaddress.ip_network(p).overlaps(m) for taken in others for p in taken for m in mine):
        raise BadRequest("Failed to associate address scope: subnetpools within an address scope must have "
                         "unique prefixes.", "AddressScopePrefixConflict", "prefixes")
