"""What one plug needs to know, typed: the attachment of a port to a workload on this host.

The host side never hands Neutron JSON down to the plugging code; ``Attachment.from_neutron``
reads the API's port, network and subnets once (Neutron API v2.0: ports ``mac_address`` and
``fixed_ips`` [{"subnet_id", "ip_address"}]; networks ``mtu``; subnets ``cidr``, ``gateway_ip``,
``host_routes`` [{"destination", "nexthop"}]) and everything below works on this value.

The VIF *kind* says how the port reaches its workload on this host: ``veth`` (a veth pair into a
network namespace), ``tap`` (a tap device a VM opens), ``internal`` (an OVS internal port: the
host itself). It is deliberately not called "VIF type": Neutron's ``binding:vif_type`` on the same
port means the mechanism the port is bound with ("ovs"), a different thing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ovnet.host.errors import BadRequest

VETH, TAP, INTERNAL = "veth", "tap", "internal"
KINDS = (VETH, TAP, INTERNAL)
IFNAMSIZ = 15  # longest kernel interface name

Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_ifname(name: str) -> str:
    """Return ``name`` if it is a valid kernel interface name, else raise BadRequest."""
    if not name or len(name) > IFNAMSIZ or any(c in name for c in "/: \t\n") or name in (".", ".."):
        raise BadRequest(f"invalid interface name {name!r}: 1-{IFNAMSIZ} characters, no '/', ':' or blanks")
    return name


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is one of KINDS, else raise BadRequest."""
    if kind not in KINDS:
        raise BadRequest(f"unknown VIF kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


def plugged_into(target: str, ifname: str) -> str:
    """Where an attachment puts its port, as recorded on its OVS port: "<target>/<ifname>", or ""
    for an empty target (Docker's veth, whose peer dockerd moves and names itself)."""
    return f"{target}/{ifname}" if target else ""


@dataclass(frozen=True)
class Route:
    """A static route of the workload: ``destination`` network via ``nexthop`` (same family)."""

    destination: ipaddress.IPv4Network | ipaddress.IPv6Network
    nexthop: Address


@dataclass(frozen=True)
class Attachment:
    """Port ``port_id`` attached as VIF ``kind`` to ``target`` on this host.

    ``target`` per kind: ``veth`` the workload's network namespace (a name under /run/netns or a
    path; "" for Docker, whose dockerd moves the peer itself), ``tap`` the tap device's name,
    ``internal`` the OVS internal port's name. ``ifname`` is the workload-side interface name of a
    veth; ``owner`` the user (name or uid) allowed to open a tap. ``mac`` is the port's MAC
    ("fa:16:3e:..."), ``mtu`` in bytes (None: the kernel default), ``addresses`` the fixed IPs
    with their subnet's prefix length, ``gateways`` at most one per IP version (the first subnet's
    of that version that has one), ``routes`` the subnets' host routes. Raises BadRequest for an
    unknown kind or an invalid ifname.
    """

    port_id: str
    kind: str
    target: str
    mac: str
    ifname: str = "eth0"
    owner: str | None = None
    mtu: int | None = None
    addresses: tuple[Interface, ...] = ()
    gateways: tuple[Address, ...] = ()
    routes: tuple[Route, ...] = ()

    def __post_init__(self) -> None:
        check_kind(self.kind)
        check_ifname(self.ifname)

    @property
    def plugged_into(self) -> str:
        """This attachment's ``plugged_into(target, ifname)``."""
        return plugged_into(self.target, self.ifname)

    @classmethod
    def from_neutron(cls, port: dict, network: dict, subnets: list[dict], kind: str, target: str,
                     ifname: str = "eth0", owner: str | None = None) -> Attachment:
        """The attachment of ``port`` (Neutron JSON, with its ``network`` and the ``subnets`` of
        its fixed IPs). Raises BadRequest when a fixed IP names a subnet not in ``subnets``."""
        by_id = {s["id"]: s for s in subnets}
        addresses: list[Interface] = []
        gateways: dict[int, Address] = {}
        routes: list[Route] = []
        for fixed in port.get("fixed_ips") or []:
            subnet = by_id.get(fixed["subnet_id"])
            if subnet is None:
                raise BadRequest(f"fixed IP {fixed['ip_address']} of port {port['id']} names subnet "
                                 f"{fixed['subnet_id']}, which was not given")
            prefix = ipaddress.ip_network(subnet["cidr"]).prefixlen
            addresses.append(ipaddress.ip_interface(f"{fixed['ip_address']}/{prefix}"))
            if subnet.get("gateway_ip"):
                gateway = ipaddress.ip_address(subnet["gateway_ip"])
                gateways.setdefault(gateway.version, gateway)
            for route in subnet.get("host_routes") or []:
                added = Route(ipaddress.ip_network(route["destination"]), ipaddress.ip_address(route["nexthop"]))
                if added not in routes:
                    routes.append(added)
        mtu = int(network["mtu"]) if network.get("mtu") else None
        return cls(port_id=port["id"], kind=kind, target=target, mac=port["mac_address"], ifname=ifname,
                   owner=owner, mtu=mtu, addresses=tuple(addresses), gateways=tuple(gateways.values()),
                   routes=tuple(routes))

    def gateway(self, version: int) -> Address | None:
        """The gateway of IP ``version`` (4 or 6), or None."""
        return next((g for g in self.gateways if g.version == version), None)
