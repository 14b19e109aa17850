"""Subnet pools: create, update, delete, and allocating a subnet's CIDR from a pool (Neutron API
v2.0 "Subnet pools", extension ``subnet_allocation``).

A pool holds prefixes (CIDRs of one IP version, kept collapsed and sorted) and the bounds of the
prefix lengths a subnet may take from it. Subnets allocated from one pool never overlap, across
networks and projects: the pool is one address space. Prefixes may only grow, so a subnet
allocated from a pool stays inside it.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from ovnet.model import addressscopes, attributes, quotas
from ovnet.model.attributes import Attr, boolean, cidr, in_range, list_of, nullable_uuid_string
from ovnet.model.common import Defaults, assign, delete_unused, get_owned, get_visible, record_change, record_update
from ovnet.model.errors import BadRequest, Conflict, Forbidden
from ovnet.model.schema import Subnet, SubnetPool
from ovnet.model.serialize import standard_dict
from ovnet.model.tenancy import Context, owner_project

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
BITS = {4: 32, 6: 128}
# Neutron's defaults when min_prefixlen is not given (its SubnetPoolHelper); default_prefixlen
# then defaults to min_prefixlen and max_prefixlen to the address length.
DEFAULT_MIN_PREFIXLEN = {4: 8, 6: 64}
ADMIN_ONLY = ("shared", "is_default")  # Neutron policy: create/update_subnetpool:shared|is_default

ATTRIBUTES = {
    **attributes.COMMON,
    "prefixes": Attr(list_of(cidr, unique=True), required=True),
    "default_prefixlen": Attr(in_range(0, 128)),
    "min_prefixlen": Attr(in_range(0, 128)),
    "max_prefixlen": Attr(in_range(0, 128)),
    # Set at creation only (neutron-lib's subnetpool definition: allow_put False): unsharing would
    # strand the subnets other projects took from the pool.
    "shared": Attr(boolean, default=False, put=False),
    "is_default": Attr(boolean, default=False),
    "ip_version": attributes.READ_ONLY,
    "address_scope_id": Attr(nullable_uuid_string, default=None),
}
COLUMNS = {n: n for n in ("name", "description", "default_prefixlen", "min_prefixlen", "max_prefixlen", "shared",
                          "is_default", "address_scope_id")}


def subnetpool_dict(pool: SubnetPool) -> dict:
    """A subnet pool as Neutron shows it; ``prefixes`` collapsed and sorted."""
    return {
        **standard_dict(pool),
        "ip_version": pool.ip_version,
        "prefixes": list(pool.prefixes),
        "default_prefixlen": pool.default_prefixlen,
        "min_prefixlen": pool.min_prefixlen,
        "max_prefixlen": pool.max_prefixlen,
        "shared": pool.shared,
        "is_default": pool.is_default,
        "address_scope_id": pool.address_scope_id,
    }


def _collapse(prefixes: list[str]) -> tuple[int, list[IPNetwork]]:
    nets = [ipaddress.ip_network(p) for p in prefixes]
    if not nets:
        raise BadRequest("Invalid input for prefixes: a subnet pool needs at least one prefix", "InvalidInput",
                         "prefixes")
    versions = {n.version for n in nets}
    if len(versions) > 1:
        raise BadRequest("Invalid input for prefixes: prefixes of one pool must share one IP version",
                         "InvalidInput", "prefixes")
    return versions.pop(), sorted(ipaddress.collapse_addresses(nets))


def _check_bounds(version: int, low: int, default: int, high: int) -> None:
    for name, value, other_name, other, ok in (
            ("min_prefixlen", low, "default_prefixlen", default, low <= default),
            ("default_prefixlen", default, "max_prefixlen", high, default <= high),
            ("max_prefixlen", high, f"IPv{version} address length", BITS[version], high <= BITS[version])):
        if not ok:
            raise BadRequest(f"Illegal prefix bounds: {name}={value}, {other_name}={other}.",
                             "IllegalSubnetPoolPrefixBounds", name)


def _check_admin_only(ctx: Context, values: dict, action: str) -> None:
    for name in ADMIN_ONLY:
        if values.get(name) and not ctx.is_admin:
            raise Forbidden(f"rule:{action}:{name} is disallowed by policy", field=name)


def _check_one_default(session: Session, pool: SubnetPool) -> None:
    # Neutron keeps one default pool per IP version: it is what use_default_subnetpool picks.
    other = session.scalar(select(SubnetPool.id).where(
        SubnetPool.is_default.is_(True), SubnetPool.ip_version == pool.ip_version, SubnetPool.id != pool.id))
    if other is not None:
        raise BadRequest(f"Invalid input for is_default: a default subnet pool for IPv{pool.ip_version} "
                         f"already exists ({other}).", "InvalidInput", "is_default")


def create_subnetpool(session: Session, ctx: Context, body: object, defaults: Defaults) -> SubnetPool:
    """Create a subnet pool from a request body's inner dict.

    ``prefixes``: non-empty list of CIDRs of one IP version (ip_version is derived). Bounds default
    to min 8/64, default = min, max 32/128. BadRequest (InvalidInput,
    IllegalSubnetPoolPrefixBounds, and the address scope's errors: addressscopes.check_pool);
    Forbidden when a member sets shared or is_default or another project; Conflict (OverQuota)
    past the project's subnetpool quota (``defaults.quotas``).
    """
    values = attributes.validate(ATTRIBUTES, "subnetpool", body, create=True)
    project_id = owner_project(ctx, values, "subnetpool")
    _check_admin_only(ctx, values, "create_subnetpool")
    quotas.check(session, project_id, "subnetpool", defaults.quotas)
    version, prefixes = _collapse(values["prefixes"])
    values.setdefault("min_prefixlen", DEFAULT_MIN_PREFIXLEN[version])
    values.setdefault("default_prefixlen", values["min_prefixlen"])
    values.setdefault("max_prefixlen", BITS[version])
    _check_bounds(version, values["min_prefixlen"], values["default_prefixlen"], values["max_prefixlen"])
    pool = SubnetPool(project_id=project_id, ip_version=version, prefixes=[str(p) for p in prefixes],
                      tags=list(values["tags"]))
    assign(pool, values, COLUMNS)
    session.add(pool)
    session.flush()
    if pool.is_default:
        _check_one_default(session, pool)
    if pool.address_scope_id is not None:
        addressscopes.check_pool(session, ctx, pool.address_scope_id, pool.id, project_id, version, pool.prefixes)
    record_change(session, pool)
    return pool


def update_subnetpool(session: Session, ctx: Context, pool_id: str, body: object) -> SubnetPool:
    """Update name, description, prefixes (may only grow: every old prefix must stay covered),
    prefix-length bounds, is_default, address_scope_id (null leaves the scope); ``shared`` is
    read-only (BadRequest).
    BadRequest (IllegalSubnetPoolPrefixUpdate, IllegalSubnetPoolPrefixBounds, the scope's:
    addressscopes.check_pool), Forbidden as for create."""
    values = attributes.validate(ATTRIBUTES, "subnetpool", body, create=False)
    pool = get_owned(session, ctx, SubnetPool, pool_id, "update_subnetpool")
    _check_admin_only(ctx, values, "update_subnetpool")
    changed = False
    if "prefixes" in values:
        version, prefixes = _collapse(values["prefixes"])
        old = [ipaddress.ip_network(p) for p in pool.prefixes]
        lost = [str(p) for p in old if version != pool.ip_version or not any(p.subnet_of(n) for n in prefixes)]
        if lost:
            raise BadRequest(f"Illegal update to prefixes: {', '.join(lost)} would no longer be in the pool; "
                             "prefixes may only be added or grown.", "IllegalSubnetPoolPrefixUpdate", "prefixes")
        new = [str(p) for p in prefixes]
        if new != pool.prefixes:
            pool.prefixes = new
            changed = True
    _check_bounds(pool.ip_version, values.get("min_prefixlen", pool.min_prefixlen),
                  values.get("default_prefixlen", pool.default_prefixlen),
                  values.get("max_prefixlen", pool.max_prefixlen))
    changed = assign(pool, values, COLUMNS) or changed
    if values.get("is_default"):
        _check_one_default(session, pool)
    if pool.address_scope_id is not None and ("address_scope_id" in values or "prefixes" in values):
        addressscopes.check_pool(session, ctx, pool.address_scope_id, pool.id, pool.project_id, pool.ip_version,
                                 pool.prefixes)
    if changed:
        record_update(session, pool)
    return pool


def delete_subnetpool(session: Session, ctx: Context, pool_id: str) -> None:
    """Delete a subnet pool; Conflict (SubnetPoolInUse) while a subnet was allocated from it."""
    delete_unused(session, ctx, SubnetPool, pool_id, "delete_subnetpool", Subnet.subnetpool_id,
                  "Unable to complete operation on subnet pool {id}. Subnets are still allocated from it.")


# -- allocation, for subnets.create_subnet ------------------------------------------------------------
def _used(session: Session, pool: SubnetPool) -> list[IPNetwork]:
    return sorted(ipaddress.ip_network(c) for c in
                  session.scalars(select(Subnet.cidr).where(Subnet.subnetpool_id == pool.id)))


def _first_free(prefix: IPNetwork, length: int, used: list[IPNetwork]) -> IPNetwork | None:
    # Walks aligned candidates, jumping past each used subnet that overlaps one: at most one
    # step per used subnet, however large the prefix.
    size = 1 << (prefix.max_prefixlen - length)
    start, end = int(prefix.network_address), int(prefix.broadcast_address)
    addr = start
    for taken in used:
        low, high = int(taken.network_address), int(taken.broadcast_address)
        if high < addr or low > end:
            continue
        if low >= addr + size:
            break
        addr = (high + 1 + size - 1) // size * size
    if addr + size - 1 > end:
        return None
    return ipaddress.ip_network((addr, length))


def allocate(session: Session, ctx: Context, pool_id: str, ip_version: int, cidr_text: str | None,
             prefixlen: int | None) -> IPNetwork:
    """The CIDR a new subnet gets from the pool ``pool_id`` visible to ``ctx``: ``cidr_text`` if
    given (it must lie in one of the pool's prefixes), else the first free prefix of
    ``prefixlen`` (default: the pool's default_prefixlen) in prefix order.

    The pool row is locked (FOR UPDATE on PostgreSQL; SQLite writers are serial) so two
    concurrent subnets never get the same prefix. NotFound (SubnetPoolNotFound); BadRequest
    (InvalidInput for an IP version mismatch or a cidr outside the pool,
    MinPrefixSubnetAllocationError / MaxPrefixSubnetAllocationError); Conflict
    (SubnetAllocationError) when the pool has no room or the cidr overlaps a subnet of the pool.
    """
    get_visible(session, ctx, SubnetPool, pool_id)
    pool = session.scalar(select(SubnetPool).where(SubnetPool.id == pool_id).with_for_update())
    if ip_version != pool.ip_version:
        raise BadRequest(f"Invalid input for ip_version: subnet pool {pool.id} is IPv{pool.ip_version}",
                         "InvalidInput", "ip_version")
    wanted: IPNetwork | None = ipaddress.ip_network(cidr_text) if cidr_text else None
    length = wanted.prefixlen if wanted is not None else (prefixlen if prefixlen is not None
                                                          else pool.default_prefixlen)
    if length < pool.min_prefixlen:
        raise BadRequest(f"Unable to allocate subnet with prefix length {length}, minimum allowed prefix is "
                         f"{pool.min_prefixlen}.", "MinPrefixSubnetAllocationError", "prefixlen")
    if length > pool.max_prefixlen:
        raise BadRequest(f"Unable to allocate subnet with prefix length {length}, maximum allowed prefix is "
                         f"{pool.max_prefixlen}.", "MaxPrefixSubnetAllocationError", "prefixlen")
    prefixes = [ipaddress.ip_network(p) for p in pool.prefixes]
    used = _used(session, pool)
    if wanted is not None:
        if not any(wanted.subnet_of(p) for p in prefixes):
            raise BadRequest(f"Invalid input for cidr: {wanted} is not in subnet pool {pool.id} "
                             f"({', '.join(pool.prefixes)}).", "InvalidInput", "cidr")
        if any(wanted.overlaps(u) for u in used):
            raise Conflict(f"Failed to allocate subnet: {wanted} overlaps a subnet of pool {pool.id}.",
                           "SubnetAllocationError", "cidr")
        return wanted
    for prefix in prefixes:
        if prefix.prefixlen <= length:
            found = _first_free(prefix, length, used)
            if found is not None:
                return found
    raise Conflict(f"Failed to allocate subnet: Insufficient prefix space to allocate subnet size /{length} "
                   f"in subnet pool {pool.id}.", "SubnetAllocationError", "prefixlen")

