"""The underlay that carries Geneve between the hypervisors of one machine.

A private layer-2 segment (a Linux bridge inside a network namespace of its own, with no uplink)
that every chassis joins with one veth. On each chassis the veth sits on an OVS bridge (``br-phy``)
of the chassis' datapath type, and the chassis' tunnel address (OVN ``ovn-encap-ip``) sits on
br-phy's internal interface: with the userspace datapath OVS routes and ARPs tunnel packets
itself and can only do so through a bridge it owns (DESIGN.md, "Facts measured").

Addresses come from 100.64.0.0/24, inside the RFC 6598 shared space; the segment has no uplink,
so they never leave the machine. Chassis number ``n`` (1 = the all-in-one) gets 100.64.0.n.
Every namespace and root-namespace link made here is recorded with ``ovnet.runtime.owned``.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

from pyroute2 import IPRoute, netns
from pyroute2.ethtool import Ethtool

from ovnet.config import state_tag as tag
from ovnet.runtime import owned
from ovnet.runtime.chassis import ChassisSpec
from ovnet.runtime.process import RuntimeFailure, wait_until

UNDERLAY_NET = ipaddress.ip_network("100.64.0.0/24")
SEGMENT_BRIDGE = "ul"


def segment_netns(state_dir: Path) -> str:
    """Name of the network namespace that holds the segment's Linux bridge."""
    return f"ovnet-ul-{tag(state_dir)}"


def encap_address(index: int) -> str:
    """Tunnel address (IPv4 string) of chassis number ``index`` (1..253); ValueError outside that."""
    if not 1 <= index < UNDERLAY_NET.num_addresses - 2:
        raise ValueError(f"chassis number {index} is outside 1..{UNDERLAY_NET.num_addresses - 3}")
    return str(UNDERLAY_NET[index])


def address_index(address: str) -> int | None:
    """The chassis number of a tunnel address, or None if it is not an underlay address."""
    ip = ipaddress.ip_address(address)
    return int(ip) - int(UNDERLAY_NET.network_address) if ip in UNDERLAY_NET else None


def phy_bridge(state_dir: Path, spec: ChassisSpec) -> str:
    """Name of the chassis' underlay OVS bridge (also its internal interface, max 15 chars)."""
    # Inside a private namespace the name is free; in the root namespace it must be unique per install.
    return "br-phy" if spec.netns else f"ovnphy-{tag(state_dir)}"


def _chassis_end(state_dir: Path, spec: ChassisSpec) -> str:
    return "ul-phy" if spec.netns else f"ovnul-{tag(state_dir)}"


def _segment_end(index: int) -> str:
    return f"ch{index}"


def disable_tx_checksum(ifname: str) -> None:
    """Turn TX checksum offload off on ``ifname`` in the current namespace (ethtool -K ... tx off).

    A veth hands packets to OVS's AF_PACKET socket with the checksum still to be filled in unless
    this is off, and the userspace datapath forwards them broken (DESIGN.md, facts).
    """
    ethtool = Ethtool()
    try:
        features = ethtool.get_features(ifname)
        for name in ("tx-checksum-ip-generic", "tx-checksum-ipv4", "tx-checksum-ipv6"):
            if name in features.features:
                features.features[name].enable = False
        ethtool.set_features(ifname, features)
    finally:
        ethtool.close()


def ensure_segment(state_dir: Path, mtu: int) -> str:
    """Create the segment namespace and its bridge unless present; return the namespace name."""
    name = segment_netns(state_dir)
    owned.ensure_netns(state_dir, name)
    with IPRoute(netns=name) as ipr:
        if not ipr.link_lookup(ifname=SEGMENT_BRIDGE):
            ipr.link("add", ifname=SEGMENT_BRIDGE, kind="bridge")
        ipr.link("set", index=ipr.link_lookup(ifname=SEGMENT_BRIDGE)[0], mtu=mtu, state="up")
    return name


def attach(state_dir: Path, spec: ChassisSpec, index: int, mtu: int) -> str:
    """Join chassis ``spec`` (its ovs-vswitchd running) to the segment as number ``index``.

    Makes the veth (segment end on the bridge, chassis end in ``spec.netns`` or the root
    namespace), ``br-phy`` holding the chassis end, and the tunnel address /24 on br-phy, MTU
    ``mtu`` bytes throughout. Idempotent. Returns the tunnel address; it does not change the
    chassis' ``ovn-encap-ip`` (the caller does). Raises RuntimeFailure from ovs-vsctl.
    """
    ns = ensure_segment(state_dir, mtu)
    address = encap_address(index)
    bridge, end, seg_end = phy_bridge(state_dir, spec), _chassis_end(state_dir, spec), _segment_end(index)
    with IPRoute(netns=ns) as seg:
        present = bool(seg.link_lookup(ifname=seg_end))
    if not present:
        make_chassis_veth(state_dir, spec, ns, end, seg_end, mtu)
    if not spec.netns:
        owned.remember(state_dir, link=bridge)  # OVS removes it with del-br; this covers a crash
    spec.vsctl("--may-exist", "add-br", bridge,
               "--", "set", "Bridge", bridge, f"datapath_type={spec.datapath}", "other_config:disable-in-band=true",
               "--", "set", "Interface", bridge, f"mtu_request={mtu}",
               "--", "--may-exist", "add-port", bridge, end)
    with IPRoute(netns=spec.netns) if spec.netns else IPRoute() as ipr:
        if wait_until(lambda: None if ipr.link_lookup(ifname=bridge) else "missing", 5.0) is not None:
            # e.g. a second userspace-datapath ovs-vswitchd in one namespace: its "ovs-netdev" tap is taken
            raise RuntimeFailure(f"ovs-vswitchd of chassis {spec.name} did not create {bridge}; "
                                 f"see {spec.log_dir / 'ovs-vswitchd.log'}")
        idx = ipr.link_lookup(ifname=bridge)[0]
        ipr.link("set", index=idx, state="up")
        have = {a.get("IFA_ADDRESS") for a in ipr.get_addr(index=idx, family=2)}
        if address not in have:
            ipr.addr("add", index=idx, address=address, prefixlen=UNDERLAY_NET.prefixlen)
    return address


def make_chassis_veth(state_dir: Path, spec: ChassisSpec, ns: str, end: str, far_end: str, mtu: int,
                      bridge: str = SEGMENT_BRIDGE) -> None:
    """A veth from chassis ``spec`` (its end ``end``, in its namespace) to the Linux ``bridge`` in
    namespace ``ns`` (its end ``far_end``), MTU ``mtu``, TX checksum offload off on both ends (the
    userspace datapath). Used for the underlay segment and the public network alike."""
    # Made in the root namespace under throwaway names (the ethtool ioctl works only here), then
    # each end moves to its namespace and takes its real name.
    tmp_a, tmp_b = (f"ovtmp{secrets.token_hex(4)}" for _ in range(2))
    with IPRoute() as ipr:
        ipr.link("add", ifname=tmp_a, kind="veth", peer={"ifname": tmp_b})
        try:
            for name in (tmp_a, tmp_b):
                disable_tx_checksum(name)
            ipr.link("set", index=ipr.link_lookup(ifname=tmp_b)[0], net_ns_fd=ns)
            a = ipr.link_lookup(ifname=tmp_a)[0]
            if spec.netns:
                ipr.link("set", index=a, net_ns_fd=spec.netns)
            else:
                owned.remember(state_dir, link=end)
                ipr.link("set", index=a, ifname=end, mtu=mtu, state="up")
        except BaseException:
            for name in (tmp_a, tmp_b):
                left = ipr.link_lookup(ifname=name)
                if left:
                    ipr.link("del", index=left[0])
            raise
    if spec.netns:
        with IPRoute(netns=spec.netns) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname=tmp_a)[0], ifname=end, mtu=mtu, state="up")
    with IPRoute(netns=ns) as seg:
        idx = seg.link_lookup(ifname=tmp_b)[0]
        seg.link("set", index=idx, ifname=far_end, mtu=mtu, master=seg.link_lookup(ifname=bridge)[0], state="up")


def detach(state_dir: Path, spec: ChassisSpec, index: int, vswitchd_running: bool = True) -> None:
    """Undo attach(): drop br-phy (when ovs-vswitchd still runs) and the veth. Harmless if absent."""
    if vswitchd_running:
        # The OVS port goes before the veth: a port left behind would keep a re-made veth dead.
        try:
            spec.vsctl("--if-exists", "del-br", phy_bridge(state_dir, spec))
        except RuntimeFailure:
            pass  # a hung vswitchd: deleting the devices below (or the namespace) still frees them
    ns = segment_netns(state_dir)
    if ns in netns.listnetns():
        with IPRoute(netns=ns) as seg:
            found = seg.link_lookup(ifname=_segment_end(index))
            if found:
                seg.link("del", index=found[0])  # takes the chassis end with it
    if not spec.netns:
        with IPRoute() as ipr:
            for link in (phy_bridge(state_dir, spec), _chassis_end(state_dir, spec)):
                left = ipr.link_lookup(ifname=link)
                if left:  # a tap OVS did not get to remove, or a veth whose peer is already gone
                    ipr.link("del", index=left[0])
                owned.forget(state_dir, link=link)


def remove_segment(state_dir: Path) -> None:
    """Delete the segment namespace (and its bridge) if present."""
    name = segment_netns(state_dir)
    if name in netns.listnetns():
        netns.remove(name)
    owned.forget(state_dir, netns_name=name)
