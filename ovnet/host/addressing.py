"""Give a workload interface its port's layer-2/3 identity over netlink (pyroute2): MAC, MTU, fixed
IPs with the subnet prefix length, default route via the subnet gateway, the subnet's host routes.

Input shapes are the Neutron API's JSON (Neutron API v2.0: ports, networks, subnets): ``port`` has
``mac_address`` and ``fixed_ips`` [{"subnet_id", "ip_address"}]; ``network`` has ``mtu`` (bytes);
each subnet has ``id``, ``cidr``, ``ip_version``, ``gateway_ip`` (or None) and ``host_routes``
[{"destination": CIDR, "nexthop": IP}].
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from pyroute2 import IPRoute, NetlinkError
from pyroute2.ethtool.ioctl import IoctlEthtool, NotSupportedError

from ovnet.host.nsutil import netns_socket


def link_index(ipr: IPRoute, ifname: str) -> int | None:
    """The ifindex of ``ifname`` in ``ipr``'s namespace, or None."""
    found = ipr.link_lookup(ifname=ifname)
    return found[0] if found else None


def configure(ipr: IPRoute, ifname: str, port: dict, network: dict, subnets: list[dict],
              set_mac: bool = True) -> None:
    """Set MAC (unless ``set_mac`` is False, e.g. OVS already set it), MTU, addresses and routes of
    ``ifname`` in ``ipr``'s namespace and bring it and ``lo`` up. Idempotent: present addresses and
    routes are kept. Raises ValueError for a fixed IP whose subnet is not in ``subnets``."""
    index = link_index(ipr, ifname)
    if index is None:
        raise ValueError(f"interface {ifname} does not exist")
    by_id = {s["id"]: s for s in subnets}
    changes: dict = {"mtu": int(network["mtu"])} if network.get("mtu") else {}
    if set_mac:
        changes["address"] = port["mac_address"]
    ipr.link("set", index=index, state="down", **changes)
    ipr.link("set", index=index, state="up")
    lo = link_index(ipr, "lo")
    if lo is not None:
        ipr.link("set", index=lo, state="up")
    gateways: dict[int, str] = {}
    for fixed in port.get("fixed_ips", []):
        subnet = by_id.get(fixed["subnet_id"])
        if subnet is None:
            raise ValueError(f"fixed IP {fixed['ip_address']} names unknown subnet {fixed['subnet_id']}")
        prefix = ipaddress.ip_network(subnet["cidr"]).prefixlen
        family = socket.AF_INET6 if ipaddress.ip_address(fixed["ip_address"]).version == 6 else socket.AF_INET
        _ignore_exists(ipr.addr, "add", index=index, address=fixed["ip_address"], prefixlen=prefix, family=family)
        if subnet.get("gateway_ip"):
            gateways.setdefault(family, subnet["gateway_ip"])
        for route in subnet.get("host_routes") or []:
            _ignore_exists(ipr.route, "add", dst=route["destination"], gateway=route["nexthop"], oif=index,
                           family=family)
    for family, gateway in gateways.items():
        _ignore_exists(ipr.route, "add", dst="default", gateway=gateway, oif=index, family=family)


def _ignore_exists(call, *args, **kwargs) -> None:
    try:
        call(*args, **kwargs)
    except NetlinkError as exc:
        if exc.code != errno.EEXIST:
            raise


def _ethtool(netns: str | None, ifname: str) -> IoctlEthtool:
    ethtool = IoctlEthtool()
    if netns is not None:
        # SIOCETHTOOL resolves the name in the namespace of the socket it is issued on.
        ethtool.sock.close()
        ethtool.sock = netns_socket(netns, socket.AF_INET, socket.SOCK_DGRAM)
    ethtool.change_ifname(ifname)
    return ethtool


def tx_checksum_off(netns: str | None, ifname: str) -> None:
    """Turn TX checksum offload off on ``ifname`` in ``netns`` (name or path; None = ours) with the
    SIOCETHTOOL ioctl (ETHTOOL_STXCSUM). The userspace datapath forwards the partial checksums a
    veth leaves for offload, so TCP carries nothing unless this is off (DESIGN.md facts).
    Devices that do not support the ioctl are left as they are."""
    ethtool = _ethtool(netns, ifname)
    try:
        ethtool.set_offload_flag("tx-checksumming", 0)
    except NotSupportedError:
        pass
    finally:
        ethtool.close()


def tx_checksum_on(netns: str | None, ifname: str) -> bool:
    """True when TX checksum offload is on for ``ifname`` in ``netns`` (for tests and diagnostics)."""
    ethtool = _ethtool(netns, ifname)
    try:
        return bool(ethtool.get_offload_flags()["tx-checksumming"])
    finally:
        ethtool.close()
