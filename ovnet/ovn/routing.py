"""Routers, router ports, external networks and floating IPs -> OVN NB rows. Pure: no I/O, no clock.

Same contract as ``ovnet.ovn.translate``: each function takes one model object (the Neutron dict
of the syncer's snapshot) and a ``ModelView`` of the snapshot and yields ``(table, key, row)``.
Keys start with the id of the object that makes the row (``<router id>/<port id>``), so a change
of a router re-derives all its rows at once.

Mapping (DESIGN.md "Resource mapping"; ovn-nb(5), ovn-architecture(7) "Distributed Gateway Ports"):

- router -> Logical_Router ``ovnet-<id>``; one Logical_Router_Port ``lrp-<port id>`` per interface
  port (its fixed IPs with the subnet's prefix) and for the gateway port, which gets one
  Gateway_Chassis per chassis that maps the external network's physical network (priority by a
  stable per-router order, so routers spread over chassis and a failover picks the next one),
  ``options:gateway_mtu`` = the smallest MTU of its internal networks (a bigger packet from
  outside is answered with ICMP "fragmentation needed" instead of being dropped inside), a NAT
  ``snat`` per IPv4 interface subnet when ``enable_snat``, a static route per extra route and the
  default route to the external subnet's gateway;
- router port (interface or gateway) -> a ``router`` type Logical_Switch_Port on its network
  pointing at the router port (the gateway's with ``nat-addresses=router`` so the gateway chassis
  announces the NAT addresses with gratuitous ARP);
- flat/vlan network -> a ``localnet`` Logical_Switch_Port ``<network id>/provnet`` naming the
  physical network (and the VLAN tag);
- floating IP with a port -> NAT ``dnat_and_snat`` on its router.

Chassis come from OVN SB, not from the model: the syncer adds them to the snapshot under
``"chassis"`` as [{"id": chassis name, "physical_networks": [name, ...]}].
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

LR = "Logical_Router"
LRP = "Logical_Router_Port"
GATEWAY_CHASSIS = "Gateway_Chassis"
NAT = "NAT"
STATIC_ROUTE = "Logical_Router_Static_Route"
LSP = "Logical_Switch_Port"
OWNER_KEY = "ovnet:id"
NETWORK_KEY = "ovnet:network"
ROUTER_KEY = "ovnet:router"  # external_ids key of a router's child rows naming the router
LRP_KEY = "ovnet:lrp"  # external_ids key of a Gateway_Chassis naming its router port's ovnet id
DISTRIBUTED_FIP = "enable_distributed_floating_ip"  # the "settings" fact naming Settings' switch
FLOATINGIP_OWNER = "network:floatingip"
INTERFACE = "network:router_interface"
GATEWAY = "network:router_gateway"
ROUTER_OWNERS = (INTERFACE, GATEWAY)

Item = Mapping[str, Any]
Rows = Iterator[tuple[str, str, dict]]


def router_name(router_id: str) -> str:
    """Logical_Router.name of a router: ``ovnet-<router id>``."""
    return f"ovnet-{router_id}"


def router_port_name(port_id: str) -> str:
    """Logical_Router_Port.name of a router port: ``lrp-<port id>`` (Neutron's naming)."""
    return f"lrp-{port_id}"


def lrp_name_of(key: str) -> str:
    """The LRP name of its ovnet id ``<router id>/<port id>``."""
    return router_port_name(key.split("/")[1])


PROVNET_SUFFIX = "provnet"


def provnet_key(network_id: str) -> str:
    """Ovnet id of a network's localnet Logical_Switch_Port: ``<network id>/provnet``."""
    return f"{network_id}/{PROVNET_SUFFIX}"


def _ids(item: Item, kind: str, **extra: str) -> dict[str, str]:
    ids = {OWNER_KEY: item["id"], "ovnet:type": kind, "ovnet:project": item.get("project_id") or "",
           "ovnet:name": item.get("name") or "", "ovnet:revision": str(item.get("revision_number", 0))}
    ids.update(extra)
    return ids


def _child_ids(key: str, router_id: str, kind: str, **extra: str) -> dict[str, str]:
    return {OWNER_KEY: key, "ovnet:type": kind, ROUTER_KEY: router_id, **extra}


def _ports_of(view, router_id: str) -> list[Item]:
    by_router = view.memo("ports_by_router", lambda: _index_router_ports(view))
    return by_router.get(router_id, [])


def _index_router_ports(view) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for port in view.by_id.get("ports", {}).values():
        if port.get("device_owner") in ROUTER_OWNERS:
            out.setdefault(port["device_id"], []).append(port)
    for ports in out.values():
        ports.sort(key=lambda p: p["id"])
    return out


def _networks(port: Item, view) -> list[str]:
    out = []
    for fixed in port.get("fixed_ips") or []:
        subnet = view.get("subnets", fixed["subnet_id"])
        if subnet is not None:
            out.append(f"{fixed['ip_address']}/{ipaddress.ip_network(subnet['cidr']).prefixlen}")
    return sorted(out)


def _v4(port: Item) -> list[str]:
    return [f["ip_address"] for f in port.get("fixed_ips") or [] if ipaddress.ip_address(f["ip_address"]).version == 4]


def gateway_chassis(router_id: str, physnet: str | None, chassis: list[Item]) -> list[tuple[str, int]]:
    """(chassis name, priority) for every chassis mapping ``physnet``, highest priority first.

    The order is stable per router (a hash of router id and chassis name), so gateways of many
    routers spread over the chassis and a chassis joining or leaving moves few of them.
    Priorities count down from the number of chassis to 1 (OVN makes the highest live one active).
    """
    names = sorted((c["id"] for c in chassis if physnet and physnet in c.get("physical_networks", ())),
                   key=lambda n: hashlib.sha256(f"{router_id}/{n}".encode()).hexdigest())
    return [(name, len(names) - i) for i, name in enumerate(names)]


def router_rows(router: Item, view) -> Rows:
    """A router's Logical_Router and its router ports, gateway chassis, SNAT rows and routes."""
    rid = router["id"]
    yield LR, rid, {"name": router_name(rid), "enabled": [bool(router.get("admin_state_up", True))],
                    "options": {}, "external_ids": _ids(router, "router")}
    ports = _ports_of(view, rid)
    interfaces = [p for p in ports if p["device_owner"] == INTERFACE]
    for port in interfaces:
        yield LRP, f"{rid}/{port['id']}", _lrp(rid, port, view, {})
    gw_info = router.get("external_gateway_info")
    gw_port = next((p for p in ports if p["device_owner"] == GATEWAY), None)
    if not gw_info or gw_port is None:
        yield from _routes(rid, router.get("routes") or [])
        return
    gw_net = view.get("networks", gw_info["network_id"]) or {}
    mtus = [n["mtu"] for n in (view.get("networks", p["network_id"]) for p in interfaces) if n]
    options = {"gateway_mtu": str(min(mtus))} if mtus else {}
    gw_key = f"{rid}/{gw_port['id']}"
    yield LRP, gw_key, _lrp(rid, gw_port, view, options)
    for name, priority in gateway_chassis(rid, gw_net.get("provider:physical_network"),
                                          list(view.by_id.get("chassis", {}).values())):
        key = f"{gw_key}/{name}"
        yield GATEWAY_CHASSIS, key, {
            "name": f"{router_port_name(gw_port['id'])}_{name}", "chassis_name": name, "priority": priority,
            "external_ids": _child_ids(key, rid, "gateway_chassis", **{LRP_KEY: gw_key}),
        }
    gw_ips = _v4(gw_port)
    if gw_ips and gw_info.get("enable_snat", True):
        for port in interfaces:
            for fixed in port.get("fixed_ips") or []:
                subnet = view.get("subnets", fixed["subnet_id"])
                if subnet is None or subnet["ip_version"] != 4:
                    continue
                key = f"{rid}/snat/{subnet['id']}"
                yield NAT, key, {"type": "snat", "external_ip": gw_ips[0], "logical_ip": subnet["cidr"],
                                 "external_mac": [], "logical_port": [], "options": {},
                                 "external_ids": _child_ids(key, rid, "snat")}
    routes = list(router.get("routes") or [])
    for fixed in gw_port.get("fixed_ips") or []:
        subnet = view.get("subnets", fixed["subnet_id"])
        if subnet and subnet.get("gateway_ip") and subnet["ip_version"] == 4:
            routes.append({"destination": "0.0.0.0/0", "nexthop": subnet["gateway_ip"]})
            break
    yield from _routes(rid, routes)


def _lrp(rid: str, port: Item, view, options: dict) -> dict:
    return {"name": router_port_name(port["id"]), "mac": port["mac_address"], "networks": _networks(port, view),
            "enabled": [bool(port.get("admin_state_up", True))], "options": options,
            "external_ids": _child_ids(f"{rid}/{port['id']}", rid, "router_port", **{NETWORK_KEY: port["network_id"]})}


def _routes(rid: str, routes: list[Item]) -> Rows:
    for route in routes:
        key = f"{rid}/route/{route['destination']}/{route['nexthop']}"
        yield STATIC_ROUTE, key, {"ip_prefix": route["destination"], "nexthop": route["nexthop"],
                                  "external_ids": _child_ids(key, rid, "route")}


def router_switch_port(port: Item) -> dict:
    """The ``router`` type Logical_Switch_Port of a router interface or gateway port."""
    options = {"router-port": router_port_name(port["id"])}
    if port["device_owner"] == GATEWAY:
        options["nat-addresses"] = "router"
    return {
        "name": port["id"], "type": "router", "addresses": ["router"], "port_security": [],
        "enabled": [bool(port.get("admin_state_up", True))], "options": options, "tag": [],
        "dhcpv4_options": [], "dhcpv6_options": [],
        "external_ids": _ids(port, "port", **{NETWORK_KEY: port["network_id"], ROUTER_KEY: port["device_id"]}),
    }


def localnet_port(network: Item) -> dict | None:
    """The ``localnet`` Logical_Switch_Port of a flat or vlan network, None for geneve: it joins
    the logical switch to the physical network through each chassis' ovn-bridge-mappings. Its
    name is the network id: switch ports are found by name, and a scoped read looks up the
    object ids in scope (no port has a network's id)."""
    if network.get("provider:network_type") not in ("flat", "vlan"):
        return None
    key = provnet_key(network["id"])
    seg = network.get("provider:segmentation_id")
    return {
        "name": network["id"], "type": "localnet", "addresses": ["unknown"], "port_security": [], "enabled": [],
        "options": {"network_name": network["provider:physical_network"]},
        "tag": [seg] if network["provider:network_type"] == "vlan" and seg else [],
        "dhcpv4_options": [], "dhcpv6_options": [],
        "external_ids": {OWNER_KEY: key, "ovnet:type": "provnet", NETWORK_KEY: network["id"]},
    }


def localnet_rows(network: Item, view) -> Rows:
    """A flat or vlan network's localnet switch port (see localnet_port)."""
    row = localnet_port(network)
    if row is not None:
        yield LSP, provnet_key(network["id"]), row


def router_port_rows(port: Item, view) -> Rows:
    """A router interface or gateway port's ``router`` type switch port, when its network is in
    the snapshot (a torn read must not create orphans)."""
    if port.get("device_owner") in ROUTER_OWNERS and view.get("networks", port["network_id"]) is not None:
        yield LSP, port["id"], router_switch_port(port)


def _distributed_mac(fip: Item, port: Item | None, view) -> str | None:
    """The MAC a distributed floating IP answers with on the physical network (its own
    ``network:floatingip`` port's, as Neutron's OVN driver sets ``external_mac``), or None when it
    stays centralized: the setting is off, or the port's chassis lacks the physical network."""
    setting = view.get("settings", DISTRIBUTED_FIP)
    if not setting or not setting["enabled"] or port is None:
        return None
    chassis = view.get("chassis", port.get("binding:host_id") or "")
    physnet = (view.get("networks", fip.get("floating_network_id") or "") or {}).get("provider:physical_network")
    if not chassis or physnet not in chassis["physical_networks"]:
        return None
    own = view.memo("floatingip_ports", lambda: {p["device_id"]: p for p in view.by_id.get("ports", {}).values()
                                                 if p["device_owner"] == FLOATINGIP_OWNER})
    return own[fip["id"]]["mac_address"] if fip["id"] in own else None


def floatingip_rows(fip: Item, view) -> Rows:
    """An associated floating IP's NAT ``dnat_and_snat`` on its router (none while unassociated);
    distributed (``external_mac`` + ``logical_port``: ovn-controller of the port's chassis does
    the NAT and answers ARP for the address on the physical network) when the settings fact
    ``DISTRIBUTED_FIP`` is on and the port's chassis has the floating network's physical network."""
    if not fip.get("port_id") or not fip.get("router_id") or not fip.get("fixed_ip_address"):
        return
    # The router is part of the key: a floating IP moved to another router is a new row under that
    # router's ``nat`` column, not an update that would leave it under the old one.
    key = f"{fip['id']}/{fip['router_id']}"
    mac = _distributed_mac(fip, view.get("ports", fip["port_id"]), view)
    yield NAT, key, {
        "type": "dnat_and_snat", "external_ip": fip["floating_ip_address"], "logical_ip": fip["fixed_ip_address"],
        "external_mac": [mac] if mac else [], "logical_port": [fip["port_id"]] if mac else [], "options": {},
        "external_ids": {**_ids(fip, "floatingip"), OWNER_KEY: key, ROUTER_KEY: fip["router_id"]},
    }
