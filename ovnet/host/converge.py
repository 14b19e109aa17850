"""Keep the workload end of a plugged veth equal to its port: fixed IPs, MTU, routes, link up.

The API holds the truth (DESIGN.md principle 3): a port whose fixed IPs change after it was bound,
or a workload end an agent killed mid-plug left down and bare, is repaired by the reconcile.
The veth's host end, in the bridge's namespace, names its peer by ``IFLA_LINK`` (the peer's
ifindex in its namespace) and ``IFLA_LINK_NETNSID`` (that namespace's id as the bridge's namespace
sees it); named namespaces (/run/netns) are matched to those ids with RTM_GETNSID. A workload in a
namespace without a name there cannot be entered and is left as it is.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from pyroute2 import IPRoute, NetlinkError
from pyroute2.netns import NETNS_RUN_DIR, listnetns

from ovnet.host import addressing, linkscan, nsutil
from ovnet.host.attachment import Attachment

IFF_UP = 1
SCOPE_UNIVERSE = 0  # global addresses; link-local ones (fe80::/10) the kernel owns


@dataclass(frozen=True)
class WorkloadEnd:
    """The peer of a host-end veth: inside network namespace ``netns`` (a name), ifindex ``index``."""

    netns: str
    index: int


def _nsid_of(ipr: IPRoute, path: str) -> int | None:
    """The id ``ipr``'s namespace has for the namespace at ``path``; None when it has none (or the
    name went away meanwhile)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        nsid = (ipr.get_netnsid(fd=fd) or {}).get("nsid")
    except NetlinkError:
        nsid = None
    finally:
        os.close(fd)
    return nsid if nsid is not None and nsid < 2**31 else None  # 0xffffffff: no id assigned


class NamespaceIds:
    """Named network namespaces (/run/netns) by the id one namespace (the bridge's, whose
    IPRoute each call is given) has for them; ids exist only for namespaces a link points into.

    Asking the kernel means opening each namespace; on one machine running many chassis most
    named namespaces are other chassis' and their workloads'. So each namespace's answer is kept,
    keyed by its nsfs inode (device, inode number and change time: a namespace deleted and
    another made under the same name, even reusing the inode number, differs in time), and only
    new namespaces are opened, plus those without an id when an id asked for is unknown (a
    namespace gains one when a veth end first moves into it). One instance per namespace asking.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[int, int, int], int | None] = {}  # nsfs key -> nsid or None

    def resolve(self, ipr: IPRoute, wanted: Iterable[int]) -> dict[int, str]:
        """{nsid: namespace name} holding at least every id of ``wanted`` that a named namespace
        has (the others are missing: a namespace without a name cannot be entered)."""
        wanted = set(wanted)
        current: dict[tuple[int, int, int], str] = {}
        for name in listnetns():
            try:
                st = os.stat(os.path.join(NETNS_RUN_DIR, name))
            except OSError:
                continue  # removed meanwhile
            current[(st.st_dev, st.st_ino, st.st_ctime_ns)] = name
        known = {key: self._known[key] for key in current if key in self._known}
        for key, name in current.items():
            if key not in known:
                known[key] = _nsid_of(ipr, os.path.join(NETNS_RUN_DIR, name))
        if wanted - {nsid for nsid in known.values() if nsid is not None}:
            for key, nsid in known.items():
                if nsid is None:
                    known[key] = _nsid_of(ipr, os.path.join(NETNS_RUN_DIR, current[key]))
        self._known = known
        return {nsid: current[key] for key, nsid in known.items() if nsid is not None}


def workload_end(link: linkscan.Link, namespaces: dict[int, str]) -> WorkloadEnd | None:
    """The WorkloadEnd of host-end veth ``link``, or None when its peer is in no named namespace."""
    name = namespaces.get(link.peer_nsid) if link.peer_nsid is not None else None
    return WorkloadEnd(name, link.peer) if name and link.peer else None


@dataclass(frozen=True)
class EndState:
    """What the reconcile compares of one workload end: link ``up``, its ``mtu`` (bytes) and its
    global ``addresses`` (IP strings; link-local ones are the kernel's)."""

    up: bool
    mtu: int | None
    addresses: frozenset[str]


def read_ends(netns: str, indexes: Iterable[int]) -> dict[int, EndState]:
    """The EndState of each workload end ``indexes`` (ifindexes) inside ``netns`` that still
    exists, from one link dump (ovnet.host.linkscan) and one address dump of that namespace: what
    a round costs grows with the ends in it, not with their square (a per-end address query is a
    whole dump, filtered here). Raises OSError when the namespace is gone."""
    wanted = set(indexes)
    links = {link.index: link for link in linkscan.links(netns) if link.index in wanted}
    with nsutil.iproute(netns) as inner:
        addresses: dict[int, set[str]] = {}
        for msg in inner.get_addr():
            if (msg["index"] in links and msg["scope"] == SCOPE_UNIVERSE
                    and msg["family"] in (socket.AF_INET, socket.AF_INET6)):
                addresses.setdefault(msg["index"], set()).add(str(ipaddress.ip_address(msg.get_attr("IFA_ADDRESS"))))
    return {index: EndState(bool(link.flags & IFF_UP), link.mtu, frozenset(addresses.get(index, ())))
            for index, link in links.items()}


def drifted(state: EndState, port: dict, mtu: int | None) -> bool:
    """True when the workload end (``state``) is down, its global addresses differ from ``port``'s
    fixed IPs (addresses of its ``allowed_address_pairs`` may be there too: a workload's VIPs), or
    its MTU differs from ``mtu`` (bytes; None: not compared)."""
    if not state.up or (mtu is not None and state.mtu != mtu):
        return True
    wanted = _fixed_ips(port)
    return not wanted <= state.addresses or any(_stale(a, wanted, port) for a in state.addresses)


def converge(end: WorkloadEnd, port: dict, attachment: Attachment) -> None:
    """Make the workload end carry exactly the addresses of ``attachment`` (other global
    addresses, but those of ``port``'s allowed address pairs, are deleted), its MTU, gateways and
    host routes, and be up (ovnet.host.addressing.configure). Its name is left as it is."""
    wanted = {str(a.ip) for a in attachment.addresses}
    with nsutil.iproute(end.netns) as inner:
        ifname = inner.get_links(end.index)[0].get_attr("IFLA_IFNAME")
        for msg in inner.get_addr(index=end.index):
            address = msg.get_attr("IFA_ADDRESS")
            if msg["scope"] == SCOPE_UNIVERSE and _stale(address, wanted, port):
                inner.addr("del", index=end.index, address=address, prefixlen=msg["prefixlen"],
                           family=msg["family"])
        addressing.configure(inner, ifname, attachment)


def _fixed_ips(port: dict) -> set[str]:
    return {str(ipaddress.ip_address(f["ip_address"])) for f in port.get("fixed_ips", [])}


def _stale(address: str, wanted: set[str], port: dict) -> bool:
    # A pair's ip_address is an address or a CIDR (Neutron API, allowed-address-pairs extension):
    # a workload may hold those (VIPs) besides its fixed IPs.
    ip = ipaddress.ip_address(address)
    pairs = [ipaddress.ip_network(p["ip_address"], strict=False)
             for p in port.get("allowed_address_pairs") or [] if p.get("ip_address")]
    return str(ip) not in wanted and not any(ip in pair for pair in pairs)
