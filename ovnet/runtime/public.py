"""The physical public network on one machine: provider bridges, one Linux bridge, an outside host.

Every chassis gets an OVS provider bridge (``br-ex`` in a host's namespace) and the OVS
``external_ids:ovn-bridge-mappings`` entry ``<physical network>:<bridge>``, so OVN's localnet port
of a flat network on that physical network ("public" by default) reaches it. Each provider bridge
holds one veth into a namespace of ovnet's own (``settings.public_netns``, "ovnet-public" by
default), where all of them meet on one Linux bridge. That bridge also carries the first host
address of ``settings.public_cidr``: the namespace is the "outside host", the upstream router a
router's default route points at, so ``ip netns exec ovnet-public ping <floating IP>`` tries it.
Nothing leaves the machine: the namespace has no other link. Same pattern as ``underlay``
(DESIGN.md: with the userspace datapath, OVS reaches the kernel only through bridges it owns).
"""

from __future__ import annotations

import ipaddress

from pyroute2 import IPRoute, netns

from ovnet.config import Settings
from ovnet.runtime import owned
from ovnet.runtime.chassis import ChassisSpec
from ovnet.runtime.process import RuntimeFailure, run, wait_until
from ovnet.runtime.underlay import make_chassis_veth, tag

PUBLIC_BRIDGE = "pub"  # the Linux bridge inside the public namespace


def outside_address(settings: Settings) -> tuple[str, int]:
    """(address, prefix length) of the outside host: the first host address of ``public_cidr``."""
    net = ipaddress.ip_network(settings.public_cidr)
    return str(net.network_address + 1), net.prefixlen


def provider_bridge(settings: Settings, spec: ChassisSpec) -> str:
    """Name of the chassis' provider OVS bridge: ``br-ex`` inside a private namespace, else one
    unique to the installation (a root-namespace name must not collide with another install's)."""
    return "br-ex" if spec.netns else f"ovnex-{tag(settings.state_dir)}"


def _chassis_end(settings: Settings, spec: ChassisSpec) -> str:
    return "ex-phy" if spec.netns else f"ovnexv-{tag(settings.state_dir)}"


def _public_end(index: int) -> str:
    return f"ex{index}"


def ensure_public(settings: Settings) -> str:
    """Create the public namespace, its bridge and the outside host's address unless present;
    return the namespace name."""
    name = settings.public_netns
    owned.ensure_netns(settings.state_dir, name)
    address, prefix = outside_address(settings)
    with IPRoute(netns=name) as ipr:
        if not ipr.link_lookup(ifname=PUBLIC_BRIDGE):
            ipr.link("add", ifname=PUBLIC_BRIDGE, kind="bridge")
        idx = ipr.link_lookup(ifname=PUBLIC_BRIDGE)[0]
        ipr.link("set", index=idx, mtu=settings.underlay_mtu, state="up")
        if address not in {a.get("IFA_ADDRESS") for a in ipr.get_addr(index=idx, family=2)}:
            ipr.addr("add", index=idx, address=address, prefixlen=prefix)
    return name


def attach(settings: Settings, spec: ChassisSpec, index: int) -> str:
    """Give chassis ``spec`` (its ovs-vswitchd running) the provider bridge, its veth to the public
    bridge (as number ``index``) and the bridge mapping ``<settings.physical_network>:<bridge>``.
    Idempotent. Returns the provider bridge's name. Raises RuntimeFailure from ovs-vsctl."""
    ns = ensure_public(settings)
    bridge, end = provider_bridge(settings, spec), _chassis_end(settings, spec)
    with IPRoute(netns=ns) as pub:
        present = bool(pub.link_lookup(ifname=_public_end(index)))
    if not present:
        make_chassis_veth(settings.state_dir, spec, ns, end, _public_end(index), settings.underlay_mtu,
                          bridge=PUBLIC_BRIDGE)
        # A device re-made under the same name stays dead to ovs-vswitchd while its old OVS port
        # lives on (DESIGN.md facts): drop the port in a transaction of its own, add it below.
        spec.vsctl("--if-exists", "del-port", end)
    if not spec.netns:
        owned.remember(settings.state_dir, link=bridge)
    spec.vsctl("--may-exist", "add-br", bridge,
               "--", "set", "Bridge", bridge, f"datapath_type={spec.datapath}", "other_config:disable-in-band=true",
               "--", "--may-exist", "add-port", bridge, end,
               "--", "set", "Open_vSwitch", ".",
               f"external_ids:ovn-bridge-mappings={settings.physical_network}:{bridge}")
    with IPRoute(netns=spec.netns) if spec.netns else IPRoute() as ipr:
        if wait_until(lambda: None if ipr.link_lookup(ifname=bridge) else "missing", 5.0) is not None:
            raise RuntimeFailure(f"ovs-vswitchd of chassis {spec.name} did not create {bridge}; "
                                 f"see {spec.log_dir / 'ovs-vswitchd.log'}")
        ipr.link("set", index=ipr.link_lookup(ifname=bridge)[0], state="up")
    return bridge


def check(settings: Settings, spec: ChassisSpec, index: int) -> str | None:
    """None when chassis ``spec``'s wiring to the public network as made by attach() is all there,
    else a one-line reason naming the first missing piece: the public namespace, its bridge or the
    outside host's address, the veth's public end, the provider bridge, or its bridge mapping.
    Reads only (the kernel through netlink, the chassis' OVSDB through ovs-vsctl)."""
    ns = settings.public_netns
    if ns not in netns.listnetns():
        return f"public namespace {ns} is gone"
    address, _ = outside_address(settings)
    with IPRoute(netns=ns) as pub:
        found = pub.link_lookup(ifname=PUBLIC_BRIDGE)
        if not found:
            return f"bridge {PUBLIC_BRIDGE} in {ns} is gone"
        if address not in {a.get("IFA_ADDRESS") for a in pub.get_addr(index=found[0], family=2)}:
            return f"the outside host's address {address} is gone from {ns}"
        if not pub.link_lookup(ifname=_public_end(index)):
            return f"veth {_public_end(index)} in {ns} is gone"
    bridge = provider_bridge(settings, spec)
    with IPRoute(netns=spec.netns) if spec.netns else IPRoute() as ipr:
        if not ipr.link_lookup(ifname=bridge):
            return f"provider bridge {bridge} is gone"
    try:
        mapping = spec.vsctl("--if-exists", "get", "Open_vSwitch", ".", "external_ids:ovn-bridge-mappings")
    except RuntimeFailure as exc:
        return f"cannot read the bridge mapping: {exc}"
    if mapping.strip().strip('"') != f"{settings.physical_network}:{bridge}":
        return f"bridge mapping {settings.physical_network}:{bridge} is gone"
    return None


def detach(settings: Settings, spec: ChassisSpec, index: int, vswitchd_running: bool = True) -> None:
    """Undo attach() for one chassis: the provider bridge (while ovs-vswitchd runs), its mapping
    and the veth. Harmless if absent."""
    if vswitchd_running:
        try:
            spec.vsctl("--if-exists", "del-br", provider_bridge(settings, spec),
                       "--", "--if-exists", "remove", "Open_vSwitch", ".", "external_ids", "ovn-bridge-mappings")
        except RuntimeFailure:
            pass  # a hung vswitchd: deleting the devices below still frees them
    if settings.public_netns in netns.listnetns():
        with IPRoute(netns=settings.public_netns) as pub:
            found = pub.link_lookup(ifname=_public_end(index))
            if found:
                pub.link("del", index=found[0])
    if not spec.netns:
        with IPRoute() as ipr:
            for link in (provider_bridge(settings, spec), _chassis_end(settings, spec)):
                left = ipr.link_lookup(ifname=link)
                if left:
                    ipr.link("del", index=left[0])
                owned.forget(settings.state_dir, link=link)


def remove_public(settings: Settings) -> None:
    """Delete the public namespace (bridge and outside host with it) if present."""
    if settings.public_netns in netns.listnetns():
        netns.remove(settings.public_netns)
    owned.forget(settings.state_dir, netns_name=settings.public_netns)


def tune_bfd(settings: Settings) -> None:
    """Set OVN's BFD timers between chassis (NB_Global options, copied to SB by ovn-northd) to
    ``settings.bfd_interval_ms``: a gateway chassis that dies is noticed after 3 intervals and
    another one takes over (OVN's default is 1000 ms, about 4 s of outage measured here). 0 leaves
    OVN's default. Raises RuntimeFailure from ovn-nbctl."""
    if not settings.bfd_interval_ms:
        return
    # Through the remotes, not this machine's NB socket: a clustered NB's leader may be any member.
    nbctl = ["ovn-nbctl", f"--db={settings.nb_connection}", "--timeout=10"]
    # ovn-northd creates NB_Global; a fresh NB may not have it yet.
    if wait_until(lambda: None if run([*nbctl, "--bare", "--columns=_uuid", "list", "NB_Global"]).strip()
                  else "no NB_Global yet", 10.0) is not None:
        raise RuntimeFailure("ovn-northd did not create NB_Global within 10 s; see its log")
    interval = str(settings.bfd_interval_ms)
    run([*nbctl, "set", "NB_Global", ".", f"options:bfd-min-rx={interval}", f"options:bfd-min-tx={interval}",
         "options:bfd-mult=3"])
