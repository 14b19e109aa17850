"""The model -> OVN northbound translation: a pure function, no I/O, no clock.

Input is the model snapshot of ``ovnet.model.views.snapshot`` (Neutron-shaped dicts, admin view).
Output is the set of NB rows ovnet wants, as plain data::

    {"Logical_Switch": {network_id: row}, "DHCP_Options": {subnet_id: row},
     "Logical_Switch_Port": {port_id: row}}

A row maps NB column names to values in the shape the OVSDB IDL uses: strings, integers, dicts for
maps, sorted lists for sets (an optional scalar such as ``enabled`` is a list of zero or one item).
Reference columns (``dhcpv4_options``, ``dhcpv6_options``) hold the ovnet ids of the referenced
rows, not NB UUIDs; the NB layer resolves them. A Logical_Switch_Port belongs to the Logical_Switch
named by its ``external_ids["ovnet:network"]``.

Mapping (DESIGN.md "Resource mapping"; OVN ovn-nb(5) for the column and DHCP option names).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

LS = "Logical_Switch"
LSP = "Logical_Switch_Port"
DHCP = "DHCP_Options"
TABLES = (LS, DHCP, LSP)  # creation order: referenced rows first
# The columns ovnet writes per table; every other column (``up``, ``Logical_Switch.ports``, ...)
# belongs to OVN or to membership bookkeeping and is never compared.
COLUMNS = {
    LS: ("name", "other_config", "external_ids"),
    DHCP: ("cidr", "options", "external_ids"),
    LSP: (
        "name", "type", "addresses", "port_security", "enabled", "options",
        "dhcpv4_options", "dhcpv6_options", "external_ids",
    ),
}
REFERENCES = {"dhcpv4_options": DHCP, "dhcpv6_options": DHCP}  # column -> referenced table

OWNER_KEY = "ovnet:id"
DHCP_LEASE_TIME = 86400  # seconds; Neutron's default dhcp_lease_duration
# Router-owned ports become router ports with the router translation; a plain switch port for
# them would answer ARP for the gateway address in place of the router.
SKIPPED_DEVICE_OWNER_PREFIX = "network:router"

Row = dict[str, Any]
Desired = dict[str, dict[str, Row]]


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
        "external_ids": _external_ids(subnet, "subnet", **{"ovnet:network": subnet["network_id"]}),
    }


def _address_entry(mac: str, ips: list[str]) -> str:
    return " ".join([mac, *ips])


def logical_switch_port(
    port: Mapping[str, Any], subnets: Mapping[str, Mapping[str, Any]], dhcp_subnets: set[str]
) -> Row | None:
    """Logical_Switch_Port row of a port, or None for router-owned ports (see module constant).

    ``subnets`` maps subnet id -> subnet dict; ``dhcp_subnets`` holds the ids of subnets that have
    a DHCP_Options row. name = port id (the OVS Interface's ``external_ids:iface-id`` binds it);
    addresses = ``"MAC IP..."`` (plus ``unknown`` when port security is off, so the port still
    receives frames for MACs it did not declare); port_security = the port's own ``"MAC IP..."``
    and each allowed address pair's MAC with its addresses; dhcpv4/6_options = the first fixed IP's
    subnet of that family with DHCP; ``options:requested-chassis`` = ``binding:host_id``;
    enabled = ``admin_state_up``.
    """
    if (port.get("device_owner") or "").startswith(SKIPPED_DEVICE_OWNER_PREFIX):
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
        "dhcpv4_options": refs[4],
        "dhcpv6_options": refs[6],
        "external_ids": _external_ids(port, "port", **{"ovnet:network": port["network_id"]}),
    }


def desired_rows(snapshot: Mapping[str, list[Mapping[str, Any]]], scope: set[str] | None = None) -> Desired:
    """The NB rows the model wants, keyed by table then ovnet id (shape in the module docstring).

    With ``scope`` (a set of ovnet ids) only those rows are returned, which keeps a small change
    cheap when there are many ports. Subnets and ports whose network is absent from the snapshot
    are left out (they cannot exist in a consistent model; this keeps a torn read from creating
    orphans).
    """
    networks = {n["id"]: n for n in snapshot.get("networks", [])}
    subnets = {s["id"]: s for s in snapshot.get("subnets", []) if s["network_id"] in networks}
    out: Desired = {LS: {}, DHCP: {}, LSP: {}}
    for nid, network in networks.items():
        if scope is None or nid in scope:
            out[LS][nid] = logical_switch(network)
    dhcp_subnets = set()
    for sid, subnet in subnets.items():
        row = dhcp_options(subnet, networks[subnet["network_id"]])
        if row is not None:
            dhcp_subnets.add(sid)
            if scope is None or sid in scope:
                out[DHCP][sid] = row
    for port in snapshot.get("ports", []):
        if port["network_id"] not in networks or (scope is not None and port["id"] not in scope):
            continue
        row = logical_switch_port(port, subnets, dhcp_subnets)
        if row is not None:
            out[LSP][port["id"]] = row
    return out


def related_ids(snapshot: Mapping[str, list[Mapping[str, Any]]], changed: Iterable[str]) -> set[str]:
    """Ids whose NB rows may change when the model objects ``changed`` (ids) changed.

    A network's DHCP_Options carry its MTU (-> its subnets); a subnet's DHCP switch decides its
    ports' dhcp references (-> ports with a fixed IP on it, and their switch); a port needs its
    switch and its subnets' DHCP_Options to exist (-> those). Ids absent from the snapshot (deleted objects) are
    returned as they are, so that their rows get deleted.
    """
    changed = set(changed)
    out = set(changed)
    for subnet in snapshot.get("subnets", []):
        if subnet["network_id"] in changed:
            out.add(subnet["id"])
        if subnet["id"] in changed:
            out.add(subnet["network_id"])
    for port in snapshot.get("ports", []):
        on = {f["subnet_id"] for f in port.get("fixed_ips") or []}
        if port["id"] in changed:
            out.add(port["network_id"])
            out |= on
        elif on & changed:
            out.add(port["id"])
    return out
