"""Give a workload interface its port's layer-2/3 identity over netlink (pyroute2): MAC, MTU, fixed
IPs with the subnet prefix length, default route via the subnet gateway, the subnet's host routes,
all read from an ovnet.host.attachment.Attachment.
"""

from __future__ import annotations

import errno
import socket

from pyroute2 import IPRoute, NetlinkError
from pyroute2.ethtool.ioctl import IoctlEthtool, NotSupportedError

from ovnet.host.attachment import Attachment
from ovnet.host.nsutil import netns_socket

_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}


def link_index(ipr: IPRoute, ifname: str) -> int | None:
    """The ifindex of ``ifname`` in ``ipr``'s namespace, or None."""
    found = ipr.link_lookup(ifname=ifname)
    return found[0] if found else None


def configure(ipr: IPRoute, ifname: str, attachment: Attachment, link_made: bool = False) -> None:
    """Give ``ifname`` in ``ipr``'s namespace the MAC, MTU, addresses, default routes and host
    routes of ``attachment``, and bring it and ``lo`` up. ``link_made``: the interface was created
    with that MAC and MTU already (a veth peer), so only its addresses and routes are added.
    Idempotent: present addresses and routes are kept. Raises ValueError when ``ifname`` does not
    exist."""
    index = link_index(ipr, ifname)
    if index is None:
        raise ValueError(f"interface {ifname} does not exist")
    if not link_made:
        changes: dict = {"mtu": attachment.mtu} if attachment.mtu else {}
        ipr.link("set", index=index, state="down", address=attachment.mac, **changes)
    ipr.link("set", index=index, state="up")
    lo = link_index(ipr, "lo")
    if lo is not None:
        ipr.link("set", index=lo, state="up")
    for address in attachment.addresses:
        _ignore_exists(ipr.addr, "add", index=index, address=str(address.ip), prefixlen=address.network.prefixlen,
                       family=_FAMILY[address.version])
    for route in attachment.routes:
        _ignore_exists(ipr.route, "add", dst=str(route.destination), gateway=str(route.nexthop), oif=index,
                       family=_FAMILY[route.nexthop.version])
    for gateway in attachment.gateways:
        _ignore_exists(ipr.route, "add", dst="default", gateway=str(gateway), oif=index,
                       family=_FAMILY[gateway.version])


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
