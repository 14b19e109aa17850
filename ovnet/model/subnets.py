"""Subnets: create, update, delete (Neutron API v2.0 "Subnets").

The subnets of one network must not overlap; the same CIDR on another network (of any project)
is fine, which is what lets projects reuse address ranges.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from ovnet.model import attributes, ipam, quotas, subnetpools
from ovnet.model.common import DEFAULTS, Defaults, assign, get_owned, record_change, record_update
from ovnet.model.errors import BadRequest, Conflict
from ovnet.model.networks import IPV6_MIN_MTU
from ovnet.model.ports import ROUTER_OWNERS
from ovnet.model.schema import AllocationPool, IPAllocation, Network, Port, Subnet
from ovnet.model.tenancy import Context, owner_project

COLUMNS = {n: n for n in ("name", "description", "gateway_ip", "enable_dhcp", "dns_nameservers", "host_routes")}
# A subnet whose only remaining users are these ports may be deleted (their addresses go with it).
RELEASED_OWNERS = ("network:dhcp",)


def _set_pools(subnet: Subnet, ranges: list[ipam.Range]) -> None:
    make = ipaddress.IPv4Address if subnet.ip_version == 4 else ipaddress.IPv6Address
    subnet.allocation_pools = [AllocationPool(first_ip=str(make(a)), last_ip=str(make(b))) for a, b in ranges]


def _check_family(values: dict, net: ipam.IPNetwork) -> None:
    if values["ip_version"] != net.version:
        raise BadRequest(f"Invalid input for ip_version: cidr {net} is not IPv{values['ip_version']}",
                         "InvalidInput", "ip_version")
    if net.version == 4 and (values["ipv6_address_mode"] or values["ipv6_ra_mode"]):
        raise BadRequest("ipv6_address_mode and ipv6_ra_mode apply to IPv6 subnets only", "InvalidInput",
                         "ipv6_address_mode")
    if values["ipv6_address_mode"] and values["ipv6_ra_mode"] and values["ipv6_address_mode"] != values["ipv6_ra_mode"]:
        raise BadRequest("ipv6_ra_mode set to a value different from ipv6_address_mode is not supported",
                         "InvalidInput", "ipv6_ra_mode")
    _check_ipv6_modes(net, values["ipv6_address_mode"], values["ipv6_ra_mode"], values["enable_dhcp"])


def _check_ipv6_modes(net: ipam.IPNetwork, address_mode: str | None, ra_mode: str | None, dhcp: bool) -> None:
    # Neutron's _validate_eui64_applicable: EUI-64 fills the low 64 bits, so on any other prefix
    # length the address lands outside the subnet or collides with another port's.
    if {address_mode, ra_mode} & set(ipam.AUTO_ADDRESS_MODES) and net.prefixlen != 64:
        raise BadRequest(f"Invalid CIDR {net} for IPv6 address mode. OpenStack uses the EUI-64 address format, "
                         "which requires the prefix to be /64", "InvalidInput", "cidr")
    # Neutron's _validate_ipv6_dhcp: the modes describe how DHCPv6/RAs serve the subnet.
    if (address_mode or ra_mode) and not dhcp:
        raise BadRequest("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False",
                         "InvalidInput", "enable_dhcp")


def _same_family(net: ipam.IPNetwork, value: str, what: str) -> None:
    if ipaddress.ip_network(value, strict=False).version != net.version:
        raise BadRequest(f"Invalid input for operation: {what} '{value}' does not match the ip_version "
                         f"'{net.version}'", "InvalidInput", what)


def _check_addresses(net: ipam.IPNetwork, values: dict, dhcp_was_enabled: bool) -> None:
    """Neutron's _validate_subnet: no /0; DNS servers and host routes of the subnet's IP version;
    and where DHCP is being turned on, a prefix with room for a server and a client (at most
    /30, /126) that is not multicast, loopback or link-local (DHCP cannot serve those)."""
    if net.prefixlen == 0:
        raise BadRequest("Invalid input for operation: 0 is not allowed as CIDR prefix length", "InvalidInput", "cidr")
    for server in values.get("dns_nameservers") or ():
        _same_family(net, server, "dns_nameserver")
    for route in values.get("host_routes") or ():
        _same_family(net, route["destination"], "destination")
        _same_family(net, route["nexthop"], "nexthop")
    if not values.get("enable_dhcp") or dhcp_was_enabled:
        return
    if net.prefixlen > net.max_prefixlen - 2:
        raise BadRequest("Invalid input for operation: Subnet has a prefix length that is incompatible with DHCP "
                         "service enabled.", "InvalidInput", "cidr")
    for kind, test in (("Multicast", net.is_multicast), ("Loopback", net.is_loopback),
                       ("Link-local", net.is_link_local)):
        if test:
            raise BadRequest(f"Invalid input for operation: {kind} IP subnet is not supported if enable_dhcp is True.",
                             "InvalidInput", "cidr")


def _check_gateway_free(session: Session, subnet: Subnet, gateway: str | None) -> None:
    """Conflict (GatewayIpInUse) when a port other than a router's holds the new ``gateway``
    (Neutron: update_subnet refuses it; the port would answer for the gateway)."""
    if gateway is None or gateway == subnet.gateway_ip:
        return
    holder = session.execute(
        select(Port.id, Port.device_owner).join(IPAllocation, IPAllocation.port_id == Port.id)
        .where(IPAllocation.subnet_id == subnet.id, IPAllocation.ip_address == gateway)
    ).first()
    if holder is not None and not holder.device_owner.startswith("network:router"):
        raise Conflict(f"Current gateway ip {gateway} already in use by port {holder.id}. Unable to update.",
                       "GatewayIpInUse", "gateway_ip")


def _check_no_overlap(session: Session, network_id: str, net: ipam.IPNetwork) -> None:
    for other in session.scalars(select(Subnet).where(Subnet.network_id == network_id)):
        if ipam.network_of(other).overlaps(net):
            raise BadRequest(f"Invalid input for operation: Requested subnet with cidr: {net} for network: "
                             f"{network_id} overlaps with another subnet.", "InvalidInput", "cidr")


def _check_pool_affinity(session: Session, network_id: str, version: int, pool_id: str | None) -> None:
    # Neutron's _validate_network_subnetpools: a network's subnets of one IP version come from one
    # pool (or none), so the network has one address scope per IP version.
    others = set(session.scalars(select(Subnet.subnetpool_id).where(Subnet.network_id == network_id,
                                                                    Subnet.ip_version == version)))
    if others - {pool_id}:
        raise BadRequest("Subnets hosted on the same network must be allocated from the same subnet pool.",
                         "NetworkSubnetPoolAffinityError", "subnetpool_id")


def _cidr(session: Session, ctx: Context, values: dict) -> ipam.IPNetwork:
    if values["subnetpool_id"] is not None:
        return subnetpools.allocate(session, ctx, values["subnetpool_id"], values["ip_version"],
                                    values.get("cidr"), values.get("prefixlen"))
    if "cidr" not in values:
        raise BadRequest("Failed to parse request. Required attribute 'cidr' not specified", field="cidr")
    if "prefixlen" in values:
        raise BadRequest("Invalid input for prefixlen: it applies only with subnetpool_id", "InvalidInput",
                         "prefixlen")
    return ipaddress.ip_network(values["cidr"])


def create_subnet(session: Session, ctx: Context, body: object, defaults: Defaults = DEFAULTS) -> Subnet:
    """Create a subnet from a request body's inner dict.

    The CIDR is ``cidr``, or with ``subnetpool_id`` taken from that pool (subnetpools.allocate:
    the next free prefix of ``prefixlen``, or ``cidr`` checked to lie in the pool).

    gateway_ip defaults to the first host address (null: no gateway); allocation_pools default to
    the subnet minus reserved addresses and the gateway. Raises BadRequest for invalid input,
    an overlap with another subnet of the network or an IPv6 subnet on a network with an MTU
    below 1280, NotFound (NetworkNotFound, SubnetPoolNotFound), Forbidden when the
    caller does not own the network, Conflict (GatewayConflictWithAllocationPools,
    SubnetAllocationError).
    """
    values = attributes.validate(attributes.SUBNET, "subnet", body, create=True)
    project_id = owner_project(ctx, values, "subnet")
    quotas.check(session, project_id, "subnet", defaults.quotas)
    network = get_owned(session, ctx, Network, values["network_id"], "create_subnet")
    net = _cidr(session, ctx, values)
    _check_family(values, net)
    _check_addresses(net, values, dhcp_was_enabled=False)
    if net.version == 6 and network.mtu < IPV6_MIN_MTU:
        raise BadRequest(f"Invalid input for operation: an IPv6 subnet needs an MTU of at least {IPV6_MIN_MTU}; "
                         f"network {network.id} has {network.mtu}.", "InvalidInput", "cidr")
    if "gateway_ip" not in values:
        values["gateway_ip"] = ipam.default_gateway(net)
    ipam.check_gateway(net, values["gateway_ip"])
    if values.get("allocation_pools") is not None:
        ranges = ipam.check_pools(net, values["allocation_pools"], values["gateway_ip"])
    else:
        ranges = ipam.default_pools(net, values["gateway_ip"])
    _check_no_overlap(session, network.id, net)
    _check_pool_affinity(session, network.id, net.version, values["subnetpool_id"])
    subnet = Subnet(project_id=project_id, network_id=network.id, cidr=str(net), ip_version=net.version,
                    ipv6_address_mode=values["ipv6_address_mode"], ipv6_ra_mode=values["ipv6_ra_mode"],
                    subnetpool_id=values["subnetpool_id"], tags=list(values["tags"]))
    assign(subnet, {**values, "dns_nameservers": list(values["dns_nameservers"]),
                    "host_routes": list(values["host_routes"])}, COLUMNS)
    _set_pools(subnet, ranges)
    session.add(subnet)
    session.flush()
    record_change(session, subnet)
    record_update(session, network)
    return subnet


def update_subnet(session: Session, ctx: Context, subnet_id: str, body: object) -> Subnet:
    """Update name, description, gateway_ip, enable_dhcp, dns_nameservers, host_routes, allocation_pools."""
    values = attributes.validate(attributes.SUBNET, "subnet", body, create=False)
    subnet = get_owned(session, ctx, Subnet, subnet_id, "update_subnet")
    net = ipam.network_of(subnet)
    _check_addresses(net, values, subnet.enable_dhcp)
    gateway = values.get("gateway_ip", subnet.gateway_ip)
    ipam.check_gateway(net, gateway)
    _check_gateway_free(session, subnet, gateway)
    if "enable_dhcp" in values:
        _check_ipv6_modes(net, subnet.ipv6_address_mode, subnet.ipv6_ra_mode, values["enable_dhcp"])
    changed = False
    if "allocation_pools" in values or "gateway_ip" in values:
        pools = values.get("allocation_pools")
        if pools is None:
            pools = [{"start": p.first_ip, "end": p.last_ip} for p in subnet.allocation_pools]
        ranges = ipam.check_pools(net, pools, gateway)
        if ranges != ipam.pools_of(subnet):
            _set_pools(subnet, ranges)
            changed = True
    changed = assign(subnet, values, COLUMNS) or changed
    if changed:
        record_update(session, subnet)
    return subnet


def delete_subnet(session: Session, ctx: Context, subnet_id: str) -> None:
    """Delete a subnet; Conflict (SubnetInUse) while a port other than DHCP holds an address in it.

    An IPv6 subnet whose hosts configure their own addresses (ipam.is_auto_address) is held only
    by a router's ports: the addresses it gave other ports go with it, as Neutron's delete_subnet
    deallocates them (only router interfaces block it there; a router's gateway blocks it here
    too, as its router port cannot lose its last address).
    """
    subnet = get_owned(session, ctx, Subnet, subnet_id, "delete_subnet")
    users = session.execute(
        select(IPAllocation, Port.device_owner).join(Port, Port.id == IPAllocation.port_id)
        .where(IPAllocation.subnet_id == subnet.id)
    ).all()
    if ipam.is_auto_address(subnet):
        # startswith: the distributed and HA variants of an interface's owner start the same way.
        blocking = [owner for _, owner in users if owner.startswith(ROUTER_OWNERS)]
    else:
        blocking = [owner for _, owner in users if owner not in RELEASED_OWNERS]
    if blocking:
        raise Conflict(f"Unable to complete operation on subnet {subnet.id}: "
                       "One or more ports have an IP allocation from this subnet.", "SubnetInUse")
    for alloc, _ in users:
        session.delete(alloc)
        record_change(session, session.get(Port, alloc.port_id))
    network = session.get(Network, subnet.network_id)
    record_change(session, subnet)
    session.delete(subnet)
    record_update(session, network)
