"""Ports: create, update, delete with their fixed IPs and MAC (Neutron API v2.0 "Ports").

Without ``fixed_ips`` a port gets one address from the first IPv4 subnet with room, one from the
first stateful IPv6 subnet with room, and its EUI-64 address on every SLAAC/DHCPv6-stateless
subnet. With ``fixed_ips`` it gets exactly what it asked for or an error.
"""

from __future__ import annotations

import ipaddress
import secrets

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session, selectinload

from ovnet.model import attributes, bulkwrite, ipam, loader, quotas, secgroups
from ovnet.model.common import (Defaults, assign, change_record, get_owned, get_visible, record_change,
                                record_update, visible_row)
from ovnet.model.errors import BadRequest, Conflict, Forbidden
from ovnet.model.loader import Loaded
from ovnet.model.prepared import Prepared
from ovnet.model.schema import AllocationPool, FloatingIP, IPAllocation, Network, Port, Router, Subnet, new_id
from ovnet.model.tenancy import OPERATOR, Context, owner_project

COLUMNS = {
    "name": "name", "description": "description", "admin_state_up": "admin_state_up",
    "device_id": "device_id", "device_owner": "device_owner", "binding:host_id": "binding_host_id",
    "binding:vnic_type": "binding_vnic_type", "binding:profile": "binding_profile",
    "port_security_enabled": "port_security_enabled", "allowed_address_pairs": "allowed_address_pairs",
}
# Where a port is bound is the operator's call (Neutron's policy: create_port:binding:host_id and
# update_port:binding:host_id, binding:profile likewise, are admin only); the host agent binds with
# the admin token.
ADMIN_ONLY = {"binding:host_id": "", "binding:profile": {}}
# Ports a router or a floating IP owns: they come and go with that resource, never through the
# port API (Neutron's L3 service refuses their deletion with 409 while that resource exists).
SERVICE_OWNERS = ("network:router_interface", "network:router_gateway", "network:floatingip")
ROUTER_OWNERS = SERVICE_OWNERS[:2]


def is_service_owner(device_owner: str | None) -> bool:
    """Whether ``device_owner`` is a router's or a floating IP's (``SERVICE_OWNERS``, and Neutron's
    network:router_interface_distributed / _ha_router_replicated_interface variants)."""
    owner = device_owner or ""
    return owner in SERVICE_OWNERS or owner.startswith(SERVICE_OWNERS[0])


def _check_admin_only(ctx: Context, body: object, values: dict, action: str) -> None:
    """Forbidden when a member sets an admin-only attribute. On create the empty value (what
    leaving it out gives) is allowed, on update any mention is refused, as Neutron's policy engine
    judges an attribute "set" on create only when it differs from its default."""
    if ctx.is_admin or not isinstance(body, dict):
        return
    for name, empty in ADMIN_ONLY.items():
        if name in body and (action == "update_port" or values[name] not in (empty, None)):
            raise Forbidden(f"rule:{action}:{name} is disallowed by policy", field=name)


def _check_network_owner_only(ctx: Context, network: Network | Row, values: dict, action: str) -> None:
    """Forbidden when a caller who neither is admin nor owns ``network`` (a project using a shared
    network) sets what Neutron's default policy keeps to the network owner (neutron/conf/policies/
    port.py: create_port|update_port:fixed_ips:ip_address, :mac_address, :port_security_enabled,
    :allowed_address_pairs, and a device_owner of network:*): with them it could take the owner's
    gateway address, spoof another port's MAC or send from any address on the owner's network.
    Asking for a subnet alone (``fixed_ips: [{"subnet_id"}]``) stays allowed. ``values`` are the
    validated attributes the request gives; ``network`` is read for its ``project_id`` only."""
    if ctx.is_admin or network.project_id == ctx.project_id:
        return
    refused = {
        "fixed_ips:ip_address": any("ip_address" in e for e in values.get("fixed_ips") or ()),
        "mac_address": "mac_address" in values,
        "port_security_enabled": values.get("port_security_enabled") is False,
        "allowed_address_pairs": bool(values.get("allowed_address_pairs")),
        "device_owner": str(values.get("device_owner", "")).startswith("network:"),
    }
    for rule, hit in refused.items():
        if hit:
            raise Forbidden(f"(rule:{action} and rule:{action}:{rule}) is disallowed by policy: only the network's "
                            "owner or an admin may set it", field=rule.split(":")[0])


# FOR UPDATE serialises allocations per network on PostgreSQL (SQLite writers are serial
# already): concurrent writers would otherwise all pick the same lowest free address and most of
# them would lose on the unique constraint and retry. Built once: see prepared.py.
_SUBNETS = Prepared(loader.rows_query(Subnet).where(Subnet.network_id == bindparam("network_id"))
                    .with_for_update(of=Subnet).order_by(Subnet.created_at, Subnet.id))
_POOLS = Prepared(select(*ipam.POOLS.columns).join(Subnet, Subnet.id == AllocationPool.subnet_id)
                  .add_columns(AllocationPool.subnet_id).where(Subnet.network_id == bindparam("network_id"))
                  .order_by(*ipam.POOLS.order))


def _subnets(session: Session, network_id: str) -> list[Loaded]:
    """The network's subnets as plain rows shaped like Subnet (``loader.Loaded``, with their
    ``allocation_pools``), not ORM objects: IPAM only reads them, and loading Subnet entities
    was a fifth of a port create. Two statements: the subnets, and every pool of the network."""
    pools: dict[str, list] = {}
    for pool in _POOLS.rows(session, {"network_id": network_id}):
        pools.setdefault(pool.subnet_id, []).append(pool)
    rows = _SUBNETS.rows(session, {"network_id": network_id})
    return [Loaded(row._fields, row, {ipam.POOLS.name: pools.get(row.id, [])}) for row in rows]


def _mac_in_use(session: Session, network_id: str, mac: str) -> bool:
    return session.scalar(select(Port.id).where(Port.network_id == network_id, Port.mac_address == mac)) is not None


def _mac_taken(network_id: str, mac: str) -> Conflict:
    return Conflict(f"Unable to complete operation for network {network_id}. "
                    f"The mac address {mac} is in use.", "MacAddressInUse", "mac_address")


def _random_mac(prefix: str) -> str:
    free_octets = 6 - len(prefix.split(":"))
    return ":".join([prefix, *(f"{b:02x}" for b in secrets.token_bytes(free_octets))])


def _pick_mac(session: Session, network_id: str, requested: str | None, prefix: str) -> str:
    if requested:
        if _mac_in_use(session, network_id, requested):
            raise _mac_taken(network_id, requested)
        return requested
    # With 24 random bits a collision is rare enough to leave to uq_port_network_mac: the
    # commit fails and Store.run retries with a new MAC, saving a query per port.
    return _random_mac(prefix)


NETWORK_COLUMNS = ("id", "project_id", "port_security_enabled")  # what a port create reads of its network


class Batch:
    """What the ports of one create request share, read once: networks (as ``ctx`` sees them),
    their subnets, each project's default group, the quota count, and the addresses and MACs
    given out. A bulk create (``create_ports``) runs without autoflush, so the store does not
    show its earlier ports; the batch does. ``size``: how many ports the request makes."""

    def __init__(self, defaults: Defaults, size: int = 1, deferred: bool = False):
        self.defaults, self.size = defaults, size
        # With ``deferred``, create_port leaves its port out of the session and lists it here, its
        # addresses and groups under it; create_ports inserts them all at the end (bulkwrite).
        self.deferred: list[Port] | None = [] if deferred else None
        self.quota = quotas.Tally("port", defaults.quotas)
        self.default_groups: dict[str, str] = {}
        self.held: dict[str, set[str]] = {}  # subnet id -> addresses given out
        self._networks: dict[str, Row] = {}
        self._subnets: dict[str, list[Loaded]] = {}
        self._macs: dict[str, set[str]] = {}  # network id -> MACs given out
        self._free_macs: dict[str, list[str]] = {}
        self._free_ips: dict[str, list[str]] = {}  # subnet id -> random free addresses not given out yet

    def network(self, session: Session, ctx: Context, network_id: str) -> Row:
        """The network's ``NETWORK_COLUMNS`` if ``ctx`` sees it (NotFound NetworkNotFound otherwise)."""
        if network_id not in self._networks:
            self._networks[network_id] = visible_row(session, ctx, Network, network_id, NETWORK_COLUMNS)
        return self._networks[network_id]

    def subnets(self, session: Session, network_id: str) -> list[Loaded]:
        if network_id not in self._subnets:
            self._subnets[network_id] = _subnets(session, network_id)
        return self._subnets[network_id]

    def mac(self, session: Session, network_id: str, requested: str | None) -> str:
        """``requested`` if no port of the network has it (Conflict MacAddressInUse), else a
        random free one. One port leaves a random MAC's rare collision to the unique constraint
        (a retry); a bulk checks its random MACs in one query, since with thousands of ports
        present a collision somewhere in 1,000 new ones is likely and would retry them all."""
        given = self._macs.setdefault(network_id, set())
        if requested:
            if requested in given:
                raise _mac_taken(network_id, requested)
            mac = _pick_mac(session, network_id, requested, self.defaults.mac_prefix)
        elif self.size == 1:
            mac = _random_mac(self.defaults.mac_prefix)
        else:
            free = self._free_macs.setdefault(network_id, [])
            while not free or free[-1] in given:
                if free:
                    free.pop()
                else:
                    free += self._fresh_macs(session, network_id)
            mac = free.pop()
        given.add(mac)
        return mac

    def address(self, session: Session, subnet: Loaded) -> str:
        """A free address of ``subnet`` not given out in this batch (Conflict
        IpAddressGenerationFailure when there is none). A bulk on a large pool draws random
        addresses for all its ports in a few queries (ipam.random_free_many); else ipam.allocate."""
        held = self.held.setdefault(subnet.id, set())
        spare = self._free_ips.setdefault(subnet.id, [])
        if self.size > 1 and ipam.is_large(subnet):
            while spare and spare[-1] in held:
                spare.pop()
            if not spare:
                spare += ipam.random_free_many(session, subnet, self.size, held)
        ip = spare.pop() if spare else ipam.allocate(session, subnet, held)
        held.add(ip)
        return ip

    def _fresh_macs(self, session: Session, network_id: str) -> list[str]:
        candidates = list({_random_mac(self.defaults.mac_prefix) for _ in range(self.size + 8)})
        taken: set[str] = set()
        for start in range(0, len(candidates), 500):
            taken.update(session.scalars(select(Port.mac_address).where(
                Port.network_id == network_id, Port.mac_address.in_(candidates[start:start + 500]))))
        return [m for m in candidates if m not in taken]


def _add(port: Port, subnet: Subnet, ip: str) -> None:
    # No flush: the session autoflushes before the next allocation query, which must see this one.
    port.fixed_ips.append(IPAllocation(subnet_id=subnet.id, ip_address=ip))


def _allocate_first(session: Session, port: Port, family: list[Loaded], batch: Batch) -> None:
    failure: Conflict | None = None
    for subnet in family:
        try:
            ip = batch.address(session, subnet)
        except Conflict as exc:
            failure = exc
            continue
        return _add(port, subnet, ip)
    if failure:
        raise failure


def _allocate_default(session: Session, port: Port, subnets: list[Loaded], batch: Batch) -> None:
    auto = [s for s in subnets if ipam.is_auto_address(s)]
    _allocate_first(session, port, [s for s in subnets if s.ip_version == 4], batch)
    _allocate_first(session, port, [s for s in subnets if s.ip_version == 6 and s not in auto], batch)
    for subnet in auto:
        _add(port, subnet, ipam.eui64(subnet, port.mac_address))


def _subnet_for(entry: dict, subnets: list[Subnet], network_id: str) -> Subnet:
    if "subnet_id" in entry:
        for subnet in subnets:
            if subnet.id == entry["subnet_id"]:
                return subnet
        raise BadRequest(f"Invalid input for fixed_ips: subnet {entry['subnet_id']} is not on network "
                         f"{network_id}", "InvalidInput", "fixed_ips")
    addr = ipaddress.ip_address(entry["ip_address"])
    for subnet in subnets:
        if addr in ipam.network_of(subnet):
            return subnet
    raise BadRequest(f"IP address {addr} is not a valid IP for any subnet on network {network_id}.",
                     "InvalidIpForNetwork", "fixed_ips")


def _allocate_requested(session: Session, port: Port, requested: list[dict], subnets: list[Subnet],
                        given: dict[str, set[str]] | None = None) -> None:
    """Give ``port`` exactly the ``requested`` fixed IPs, keeping those it already holds.
    ``given``: a batch's addresses given out and not yet flushed ({subnet id: addresses})."""
    given = {} if given is None else given
    if any(not entry for entry in requested):
        raise BadRequest("Invalid input for fixed_ips: each entry needs subnet_id or ip_address",
                         "InvalidInput", "fixed_ips")
    ips = [e["ip_address"] for e in requested if "ip_address" in e]
    if len(set(ips)) != len(ips):
        raise BadRequest("Invalid input for fixed_ips: duplicate IP address", "InvalidInput", "fixed_ips")
    targets = [(entry, _subnet_for(entry, subnets, port.network_id)) for entry in requested]
    held = {(a.subnet_id, a.ip_address) for a in port.fixed_ips}
    wanted = {(s.id, e["ip_address"]) for e, s in targets if "ip_address" in e}
    # An entry naming only a subnet keeps an address the port already has there (as Neutron does),
    # so re-sending a port's fixed_ips with {"subnet_id"} entries changes nothing.
    for i, (entry, subnet) in enumerate(targets):
        if "ip_address" not in entry:
            spare = sorted(ip for sid, ip in held - wanted if sid == subnet.id)
            if spare:
                targets[i] = ({**entry, "ip_address": spare[0]}, subnet)
                wanted.add((subnet.id, spare[0]))
    for alloc in [a for a in port.fixed_ips if (a.subnet_id, a.ip_address) not in wanted]:
        port.fixed_ips.remove(alloc)
    session.flush()
    for entry, subnet in targets:
        ip = entry.get("ip_address")
        if ip and (subnet.id, ip) in held:
            continue
        if ip:
            ipam.check_requested(session, subnet, ip, port.device_owner, given.get(subnet.id, frozenset()))
        elif ipam.is_auto_address(subnet):
            ip = ipam.eui64(subnet, port.mac_address)
        else:
            ip = ipam.allocate(session, subnet, given.setdefault(subnet.id, set()))
        given.setdefault(subnet.id, set()).add(ip)
        _add(port, subnet, ip)


def _normalise_pairs(values: dict, mac: str, port_security: bool) -> None:
    if "allowed_address_pairs" in values:
        values["allowed_address_pairs"] = [
            {"ip_address": p["ip_address"], "mac_address": p.get("mac_address", mac)}
            for p in values["allowed_address_pairs"]
        ]
    if values.get("allowed_address_pairs") and not port_security:
        raise Conflict("Port Security must be enabled in order to have allowed address pairs on a port.",
                       "AddressPairAndPortSecurityRequired", "allowed_address_pairs")


def _change_mac(session: Session, port: Port, mac: str) -> None:
    """Give an unbound ``port`` a new MAC (Neutron allows it until the port is bound): Conflict
    (PortBound) once bound, as the host has plugged it with the old one; Conflict (MacAddressInUse)
    when another port of the network has it. EUI-64 addresses follow the MAC (RFC 4291)."""
    if port.binding_host_id:
        raise Conflict(f"Unable to complete operation on port {port.id}, port is already bound, port type: ovs, "
                       f"old_mac {port.mac_address}, new_mac {mac}.", "PortBound", "mac_address")
    _pick_mac(session, port.network_id, mac, "")
    port.mac_address = mac
    for alloc in port.fixed_ips:
        subnet = session.get(Subnet, alloc.subnet_id)
        if ipam.is_auto_address(subnet):
            alloc.ip_address = ipam.eui64(subnet, mac)


def create_ports(session: Session, ctx: Context, bodies: list, defaults: Defaults) -> list[Port]:
    """A bulk create (Neutron's ``{"ports": [...]}``): every port exactly as ``create_port`` makes
    it, all or none (one transaction), its rows inserted together at the end (bulkwrite: the ports
    stay out of the session). Raises what create_port raises, for the first body that fails."""
    batch = Batch(defaults, len(bodies), deferred=True)
    with session.no_autoflush:
        made = [create_port(session, ctx, body, defaults, batch) for body in bodies]
    session.flush()  # what the creates made through the session (a project's new default group) first
    rows: list[object] = list(made)
    for port in made:
        rows += [*port.fixed_ips, *port.security_group_bindings]
        for child in (*port.fixed_ips, *port.security_group_bindings):
            child.port_id = port.id
    rows += [change_record(port) for port in made]
    bulkwrite.insert_all(session, rows)
    return made


def create_port(session: Session, ctx: Context, body: object, defaults: Defaults, batch: Batch | None = None) -> Port:
    """Create a port from a request body's inner dict.

    The port joins ``security_groups`` or, with port security on, its project's ``default`` group.
    Raises BadRequest (invalid input, InvalidIpForSubnet, InvalidIpForNetwork), NotFound
    (NetworkNotFound, SecurityGroupNotFound), Forbidden (another project's shared network is fine, naming another
    project is admin-only, so are binding:host_id and binding:profile), Conflict
    (IpAddressAlreadyAllocated, MacAddressInUse, IpAddressGenerationFailure,
    AddressPairAndPortSecurityRequired, PortSecurityAndIPRequiredForSecurityGroups).
    """
    batch = batch or Batch(defaults)
    values = attributes.validate(attributes.PORT, "port", body, create=True)
    _check_admin_only(ctx, body, values, "create_port")
    project_id = owner_project(ctx, values, "port")
    batch.quota.check(session, project_id)
    network = batch.network(session, ctx, values["network_id"])
    _check_network_owner_only(ctx, network, {k: v for k, v in values.items() if k in body}, "create_port")
    values.setdefault("port_security_enabled", network.port_security_enabled)
    if values["binding:profile"] is None:
        values["binding:profile"] = {}
    mac = batch.mac(session, network.id, values.get("mac_address"))
    _normalise_pairs(values, mac, values["port_security_enabled"])
    # Empty collections given up front: a new port has none, and an unset one would be lazy-loaded
    # (a SELECT each) when the allocation and the group binding append to it.
    port = Port(id=new_id(), project_id=project_id, network_id=network.id, mac_address=mac, tags=list(values["tags"]),
                fixed_ips=[], security_group_bindings=[])
    assign(port, values, COLUMNS)
    if batch.deferred is None:
        session.add(port)
    else:
        batch.deferred.append(port)
    subnets = batch.subnets(session, network.id)
    if values.get("fixed_ips") is None:
        _allocate_default(session, port, subnets, batch)
    else:
        _allocate_requested(session, port, values["fixed_ips"], subnets, batch.held)
    secgroups.attach_on_create(session, ctx, port, values.get("security_groups"), batch.default_groups)
    if batch.deferred is None:
        record_change(session, port)
    return port


def update_port(session: Session, ctx: Context, port_id: str, body: object) -> Port:
    """Update a port; ``fixed_ips`` replaces the whole list (addresses kept stay, others are freed).

    binding:host_id null or "" unbinds. ``security_groups`` replaces the port's groups; port
    security off needs none (Conflict PortSecurityPortHasSecurityGroup). Forbidden when a member changes binding:host_id or
    binding:profile (admin only), NotFound when the port is invisible. Conflict (ServicePortInUse)
    when the update would change device_owner or device_id of a router's or floating IP's port, or
    give a port such an owner (see ``_check_service_owner_kept``). BadRequest when ``fixed_ips``
    would drop the address a floating IP is associated with, or leave a router's port without one.
    """
    values = attributes.validate(attributes.PORT, "port", body, create=False)
    port = get_owned(session, ctx, Port, port_id, "update_port", (selectinload(Port.fixed_ips),))
    _check_admin_only(ctx, body, values, "update_port")
    _check_network_owner_only(ctx, session.get(Network, port.network_id), values, "update_port")
    if values.get("binding:profile", {}) is None:
        values["binding:profile"] = {}
    _normalise_pairs(values, values.get("mac_address", port.mac_address),
                     values.get("port_security_enabled", port.port_security_enabled))
    if "allowed_address_pairs" not in values and values.get("port_security_enabled") is False:
        _normalise_pairs({"allowed_address_pairs": port.allowed_address_pairs}, port.mac_address, False)
    _check_service_owner_kept(session, port, values)
    security_was_on = port.port_security_enabled
    host_before = port.binding_host_id
    changed = assign(port, values, COLUMNS)
    changed = secgroups.attach_on_update(session, ctx, port, values.get("security_groups"), security_was_on) \
        or changed
    if values.get("mac_address", port.mac_address) != port.mac_address:
        _change_mac(session, port, values["mac_address"])
        changed = True
    if "fixed_ips" in values:
        before = [(a.subnet_id, a.ip_address) for a in port.fixed_ips]
        _allocate_requested(session, port, values["fixed_ips"], _subnets(session, port.network_id))
        _check_addresses_kept(session, port)
        changed = changed or before != [(a.subnet_id, a.ip_address) for a in port.fixed_ips]
    if changed:
        record_update(session, port)
        if port.device_owner in ROUTER_OWNERS:
            # A router's NB rows (its router ports, SNAT, routes) derive from its ports: re-derive it.
            router = session.get(Router, port.device_id)
            if router is not None:
                record_update(session, router)
        if port.binding_host_id != host_before:
            # A distributed floating IP's NAT names the chassis side (logical_port, external_mac)
            # only while the port's chassis has the physical network: re-derive it on a move.
            for fip in session.scalars(select(FloatingIP).where(FloatingIP.port_id == port.id)):
                record_change(session, fip)
    return port


def delete_port(session: Session, ctx: Context, port_id: str) -> None:
    """Delete a port; its addresses are free again at once, and a floating IP on it is disassociated.

    The port's project, the owner of its network (Neutron's delete_port policy:
    admin_owner_or_network_owner) and an admin may; others get Forbidden, or NotFound when the
    port is invisible to them. Conflict (ServicePortInUse) for a port of a router or a floating IP
    (``SERVICE_OWNERS``) while that router or floating IP (its device_id) exists: those go with
    ``router remove subnet``, ``router unset --external-gateway`` or ``floating ip delete``. One
    whose owner does not exist (an admin made it by hand, device_id empty or stale) may be
    deleted, as Neutron's L3 plugin allows (``prevent_l3_port_deletion``).
    """
    port = get_visible(session, ctx, Port, port_id)
    network_owner = session.scalar(select(Network.project_id).where(Network.id == port.network_id))
    if not ctx.is_admin and ctx.project_id not in (port.project_id, network_owner):
        raise Forbidden("rule:delete_port is disallowed by policy")
    if is_service_owner(port.device_owner) and _owner_exists(session, port):
        raise Conflict(f"Port {port.id} cannot be deleted directly via the port API: has device owner "
                       f"{port.device_owner}.", "ServicePortInUse")
    for fip in session.scalars(select(FloatingIP).where(FloatingIP.port_id == port.id)):
        fip.port_id = fip.fixed_ip_address = fip.router_id = None
        fip.status = "DOWN"
        record_update(session, fip)
    remove_port(session, port)


def _check_service_owner_kept(session: Session, port: Port, values: dict) -> None:
    # A router's or floating IP's port carries that resource's NB rows (router port, SNAT, NAT)
    # through its device_owner/device_id: changing them by hand would orphan those rows and let the
    # port be deleted while the resource still needs it (the rule delete_port keeps). Routers gain
    # ports through add_router_interface and gateways, never by a port update naming their owner.
    changes = {name for name, column in (("device_owner", "device_owner"), ("device_id", "device_id"))
               if name in values and (values[name] or "") != (getattr(port, column) or "")}
    if not changes:
        return
    if is_service_owner(port.device_owner) and _owner_exists(session, port):
        raise Conflict(f"Port {port.id} cannot have its {' and '.join(sorted(changes))} changed via the port API: "
                       f"has device owner {port.device_owner} of {port.device_id}.", "ServicePortInUse")
    owner = values.get("device_owner", port.device_owner)
    if is_service_owner(owner):
        raise Conflict(f"Port {port.id} cannot be given device owner {owner} or a device_id under it via the port "
                       "API: routers take ports with add_router_interface, floating IPs make their own.",
                       "ServicePortInUse", field="device_owner")


def _check_addresses_kept(session: Session, port: Port) -> None:
    # What other resources built on a port's addresses must survive a fixed_ips update: a floating
    # IP's NAT points at the address it was associated with (Neutron's L3 plugin refuses the change,
    # prevent_internal_ip_change_for_fip) and shows the address its own port holds, and a router's
    # port is an OVN router port, which needs at least one network (the rule add_router_interface
    # applies when it takes a port).
    held = {a.ip_address for a in port.fixed_ips}
    needed = [(fip.fixed_ip_address, f"floating IP {fip.id} is associated with")
              for fip in session.scalars(select(FloatingIP).where(FloatingIP.port_id == port.id))]
    if port.device_owner == SERVICE_OWNERS[2] and port.device_id:
        fip = session.get(FloatingIP, port.device_id)
        if fip is not None:
            needed.append((fip.floating_ip_address, f"is floating IP {fip.id}'s address"))
    for address, why in needed:
        if address and address not in held:
            raise BadRequest(f"Bad port request: the fixed_ips of port {port.id} must keep {address}, which {why}.",
                             "BadRequest", "fixed_ips")
    if not held and port.device_owner in ROUTER_OWNERS and _owner_exists(session, port):
        raise BadRequest(f"Bad port request: port {port.id} of router {port.device_id} must keep at least one "
                         "fixed IP.", "BadRequest", "fixed_ips")


def _owner_exists(session: Session, port: Port) -> bool:
    # The service resource a SERVICE_OWNERS port's device_id names, seen by anyone (another
    # project's router still owns its port).
    model = FloatingIP if port.device_owner == SERVICE_OWNERS[2] else Router
    return bool(port.device_id) and session.get(model, port.device_id) is not None


def remove_port(session: Session, port: Port) -> None:
    """Delete ``port`` without policy checks (a router or floating IP removing its own port)."""
    record_change(session, port)
    session.delete(port)


def create_service_port(session: Session, network_id: str, project_id: str, device_owner: str, device_id: str,
                        fixed_ips: list[dict] | None, defaults: Defaults) -> Port:
    """A port a router or floating IP owns on ``network_id``: ``fixed_ips`` as for a port create
    ([{"subnet_id"}|{"ip_address"}]; None: one address from the first IPv4 subnet with room, the
    same IPAM as every port). Raises what create_port raises (IpAddressAlreadyAllocated,
    IpAddressGenerationFailure, InvalidIpForNetwork, ...)."""
    body = {"network_id": network_id, "device_owner": device_owner, "device_id": device_id,
            "project_id": project_id}
    if fixed_ips is not None:
        body["fixed_ips"] = fixed_ips
    return create_port(session, OPERATOR, body, defaults)
