"""The model -> OVN northbound translation functions: pure, no I/O, no clock.

Input is the model snapshot of ``ovnet.model.syncer_io.snapshot`` (Neutron-shaped dicts, admin
view), handed to each kind's translate function as one object and a ``ModelView`` of the whole
snapshot. A translate function yields ``(table, key, row)``: ``key`` is the row's ovnet id
(``external_ids:ovnet:id``), the object's id or ``<object id>/<part>`` for several rows of one
table per object. ``ovnet.ovn.registry`` says which function serves which kind and declares the
tables (columns, parents, references); ``registry.desired_rows`` collects the rows.

A row maps NB column names to values in the shape the OVSDB IDL uses: strings, integers, dicts for
maps, sorted lists for sets (an optional scalar such as ``enabled`` is a list of zero or one item).
Reference columns (``dhcpv4_options``, ``dhcpv6_options``) hold the ovnet ids of the referenced
rows, not NB UUIDs; the NB layer resolves them. A row of a child table (Logical_Switch_Port)
names its parent's ovnet id in ``external_ids`` under the key its table's ``Parent`` declares
(``ovnet:network``).

Mapping (DESIGN.md "Resource mapping"; OVN ovn-nb(5) for the column and DHCP option names).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ovnet.ovn.acls import MEMBERSHIP_KEY, port_groups

LS = "Logical_Switch"
LSP = "Logical_Switch_Port"
DHCP = "DHCP_Options"
OWNER_KEY = "ovnet:id"
DHCP_LEASE_TIME = 86400  # seconds; Neutron's default dhcp_lease_duration
# Router-owned ports become router ports with the router translation (ovnet.ovn.routing); a plain
# switch port for them would answer ARP for the gateway address in place of the router. A
# floating IP's port only holds its address: the router answers for it (NAT), nothing else may.
SKIPPED_DEVICE_OWNER_PREFIX = "network:router"
FLOATINGIP_OWNER = "network:floatingip"

NETWORK_KEY = "ovnet:network"  # external_ids key of a switch port / DHCP row naming its network

Row = dict[str, Any]
Desired = dict[str, dict[str, Row]]
Item = Mapping[str, Any]
Rows = Iterator[tuple[str, str, Row]]


class ModelView:
    """The snapshot ({plural: [item]}) indexed by id, with a memo for facts several objects
    derive from the same data (which subnets have DHCP rows)."""

    def __init__(self, snapshot: Mapping[str, list[Item]]):
        self.by_id = {plural: {i["id"]: i for i in items} for plural, items in snapshot.items()}
        self._memo: dict[str, Any] = {}

    def get(self, plural: str, object_id: str) -> Item | None:
        """The object ``object_id`` of the collection ``plural``, None if not in the snapshot."""
        return self.by_id.get(plural, {}).get(object_id)

    def memo(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per view under ``name``."""
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]


def switch_name(network_id: str) -> str:
    """Logical_Switch.name of a network: ``ovnet-<network id>``."""
    return f"ovnet-{network_id}"


def _external_ids(resource: Mapping[str, Any], kind: str, **extra: str) -> dict[str, str]:
    ids = {
        OWNER_KEY: resource["id"],
        "ovnet:type": kind,
        "ovnet:project": resource.get("project_id") or "",
        "ovnet:name": resource.get("name") or "",
        "ovnet:revision": str(resource.get("revision_number", 0)),
    }
    ids.update(extra)
    return ids


def logical_switch(network: Mapping[str, Any]) -> Row:
    """Logical_Switch row of a network: name ``ovnet-<id>``, ``other_config:mtu`` (bytes)."""
    return {
        "name": switch_name(network["id"]),
        "other_config": {"mtu": str(network["mtu"])},
        "external_ids": _external_ids(network, "network"),
    }


def server_mac(subnet_id: str) -> str:
    """The DHCP server MAC of a subnet: locally administered, unicast, stable for the subnet id."""
    digest = hashlib.sha256(subnet_id.encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def _brace(items: Iterable[str]) -> str:
    return "{" + ", ".join(items) + "}"


def _family(addresses: Iterable[str], version: int) -> list[str]:
    return [a for a in addresses if ipaddress.ip_address(a).version == version]


def dhcp_options(subnet: Mapping[str, Any], network: Mapping[str, Any]) -> Row | None:
    """DHCP_Options row of a subnet, or None when OVN should not answer DHCP for it.

    None when ``enable_dhcp`` is false, for an IPv4 subnet without ``gateway_ip`` (OVN needs a
    ``server_id`` address and only the gateway is one IPAM never hands out), and for IPv6 SLAAC
    (addresses come from router advertisements, not DHCPv6). IPv4 options: server_id and router =
    the gateway, server_mac, lease_time, mtu = network MTU, dns_server, classless_static_route
    from host_routes plus the default route (RFC 3442: a client that gets classless routes ignores
    the router option). IPv6: server_id = server MAC, dns_server, dhcpv6_stateless for
    ``ipv6_address_mode == "dhcpv6-stateless"``.
    """
    if not subnet.get("enable_dhcp"):
        return None
    mac = server_mac(subnet["id"])
    dns = subnet.get("dns_nameservers") or []
    if subnet["ip_version"] == 4:
        gateway = subnet.get("gateway_ip")
        if not gateway:
            return None
        options = {
            "server_id": gateway,
            "server_mac": mac,
            "router": gateway,
            "lease_time": str(DHCP_LEASE_TIME),
            "mtu": str(network["mtu"]),
        }
        if _family(dns, 4):
            options["dns_server"] = _brace(_family(dns, 4))
        routes = subnet.get("host_routes") or []
        if routes:
            pairs = [f"{r['destination']},{r['nexthop']}" for r in routes]
            if not any(ipaddress.ip_network(r["destination"]).prefixlen == 0 for r in routes):
                pairs.append(f"0.0.0.0/0,{gateway}")
            options["classless_static_route"] = _brace(pairs)
    else:
        mode = subnet.get("ipv6_address_mode")
        if mode == "slaac":
            return None
        options = {"server_id": mac}
        if mode == "dhcpv6-stateless":
            options["dhcpv6_stateless"] = "true"
        if _family(dns, 6):
            options["dns_server"] = _brace(_family(dns, 6))
    return {
        "cidr": subnet["cidr"],
        "options": options,
        "external_ids": _external_ids(subnet, "subnet", **{NETWORK_KEY: subnet["network_id"]}),
    }


def _address_entry(mac: str, ips: list[str]) -> str:
    return " ".join([mac, *ips])


def logical_switch_port(
    port: Mapping[str, Any], subnets: Mapping[str, Mapping[str, Any]], dhcp_subnets: set[str]
) -> Row | None:
    """Logical_Switch_Port row of a port, or None for router and floating IP ports (module constants).

    ``subnets`` maps subnet id -> subnet dict; ``dhcp_subnets`` holds the ids of subnets that have
    a DHCP_Options row. name = port id (the OVS Interface's ``external_ids:iface-id`` binds it);
    addresses = ``"MAC IP..."`` (plus ``unknown`` when port security is off, so the port still
    receives frames for MACs it did not declare); port_security = the port's own ``"MAC IP..."``
    and each allowed address pair's MAC with its addresses; dhcpv4/6_options = the first fixed IP's
    subnet of that family with DHCP; ``options:requested-chassis`` = ``binding:host_id``;
    enabled = ``admin_state_up``; ``external_ids:ovnet:port_groups`` = its Port_Groups
    (``acls.port_groups``).
    """
    owner = port.get("device_owner") or ""
    if owner.startswith(SKIPPED_DEVICE_OWNER_PREFIX) or owner == FLOATINGIP_OWNER:
        return None
    mac = port["mac_address"]
    ips = [f["ip_address"] for f in port.get("fixed_ips") or []]
    addresses = [_address_entry(mac, ips)]
    port_security: list[str] = []
    if port.get("port_security_enabled", True):
        by_mac: dict[str, list[str]] = {mac: list(ips)}
        for pair in port.get("allowed_address_pairs") or []:
            by_mac.setdefault(pair.get("mac_address") or mac, []).append(pair["ip_address"])
        port_security = sorted(_address_entry(m, a) for m, a in by_mac.items())
    else:
        addresses.append("unknown")
    refs: dict[int, list[str]] = {4: [], 6: []}
    for fixed in port.get("fixed_ips") or []:
        sid = fixed["subnet_id"]
        subnet = subnets.get(sid)
        if subnet is not None and sid in dhcp_subnets and not refs[subnet["ip_version"]]:
            refs[subnet["ip_version"]] = [sid]
    options = {}
    if port.get("binding:host_id"):
        options["requested-chassis"] = port["binding:host_id"]
    return {
        "name": port["id"],
        "type": "",
        "addresses": sorted(addresses),
        "port_security": port_security,
        "enabled": [bool(port.get("admin_state_up", True))],
        "options": options,
        "tag": [],
        "dhcpv4_options": refs[4],
        "dhcpv6_options": refs[6],
        "external_ids": _external_ids(port, "port", **{NETWORK_KEY: port["network_id"],
                                                        MEMBERSHIP_KEY: " ".join(port_groups(port))}),
    }


# -- per kind: what ovn.registry calls ------------------------------------------------------------
def network_rows(network: Item, view: ModelView) -> Rows:
    """A network's Logical_Switch."""
    yield LS, network["id"], logical_switch(network)


def subnet_rows(subnet: Item, view: ModelView) -> Rows:
    """A subnet's DHCP_Options, when it has one and its network is in the snapshot (a torn read
    must not create orphans)."""
    network = view.get("networks", subnet["network_id"])
    row = dhcp_options(subnet, network) if network is not None else None
    if row is not None:
        yield DHCP, subnet["id"], row


def _dhcp_subnets(view: ModelView) -> set[str]:
    return {sid for sid, subnet in view.by_id.get("subnets", {}).items() if next(subnet_rows(subnet, view), None)}


def port_rows(port: Item, view: ModelView) -> Rows:
    """A port's Logical_Switch_Port, unless router-owned or its network is not in the snapshot."""
    if view.get("networks", port["network_id"]) is None:
        return
    row = logical_switch_port(port, view.by_id.get("subnets", {}), view.memo("dhcp_subnets", lambda: _dhcp_subnets(view)))
    if row is not None:
        yield LSP, port["id"], row
