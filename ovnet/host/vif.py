"""VIF plugging: one class per VIF type behind one small contract.

    plug(port, network, subnets, target, **options) -> device name on the integration bridge
    unplug(port_id) -> None          (nothing there is fine)
    is_plugged(port_id) -> bool

``port``, ``network`` and ``subnets`` are the Neutron API's JSON bodies (see ovnet.host.addressing);
``target`` is, per type: ``veth`` the workload's network namespace (a name under /run/netns or a
path), ``tap`` the tap device name, ``internal`` the OVS internal port name. The host end lives in
the namespace of this host's ovs-vswitchd (``HostContext.netns``; None = ours), where the bridge is.

Host-end devices ovnet creates (veth host end, tap) carry the kernel interface alias
``ovnet:<port id>:<vif type>``, so the agent can find them again after a restart without any file.
A failed plug removes what it created (no OVS port, no device).
"""

from __future__ import annotations

import pwd
from dataclasses import dataclass

from pyroute2 import IPRoute, NetlinkError

from ovnet.host import addressing, nsutil
from ovnet.host.errors import BadRequest, Conflict
from ovnet.host.ovs import LocalOvs

IFNAMSIZ = 15  # longest kernel interface name
ALIAS_PREFIX = "ovnet:"


@dataclass(frozen=True)
class HostContext:
    """Where plugging happens on one host: its OVS, the netns of its ovs-vswitchd, its datapath."""

    ovs: LocalOvs
    netns: str | None
    datapath: str  # "netdev" (userspace) or "system"

    def iproute(self) -> IPRoute:
        """A netlink socket in the bridge's namespace."""
        return nsutil.iproute(self.netns)


def device_alias(port_id: str, vif_type: str) -> str:
    """The interface alias marking a host-end device as ovnet's."""
    return f"{ALIAS_PREFIX}{port_id}:{vif_type}"


def parse_alias(alias: str | None) -> tuple[str, str] | None:
    """(port id, vif type) from an alias made by device_alias, else None."""
    if not alias or not alias.startswith(ALIAS_PREFIX):
        return None
    port_id, _, vif_type = alias[len(ALIAS_PREFIX):].rpartition(":")
    return (port_id, vif_type) if port_id else None


def check_ifname(name: str) -> str:
    """Return ``name`` if it is a valid kernel interface name, else raise BadRequest."""
    if not name or len(name) > IFNAMSIZ or any(c in name for c in "/: \t\n") or name in (".", ".."):
        raise BadRequest(f"invalid interface name {name!r}: 1-{IFNAMSIZ} characters, no '/', ':' or blanks")
    return name


class Vif:
    """Base of the VIF types: the shared OVS attach/detach and the contract's unplug/is_plugged."""

    vif_type = ""

    def __init__(self, host: HostContext):
        self.host = host

    def plug(self, port: dict, network: dict, subnets: list[dict], target: str, **options) -> str:
        """Plug ``port`` into ``target``; return the device name on the bridge. Raises BadRequest,
        Conflict, OvsError; on any error nothing of this plug is left."""
        raise NotImplementedError

    def unplug(self, port_id: str) -> None:
        """Remove the OVS port of ``port_id`` and the host-end device ovnet made for it, if any."""
        owned = self.host.ovs.port_by_id(port_id)
        if owned:
            self.host.ovs.del_port(owned.name)
            self.delete_device(owned.name)

    def is_plugged(self, port_id: str) -> bool:
        """True when an owned OVS port for ``port_id`` exists and its device is present."""
        owned = self.host.ovs.port_by_id(port_id)
        if owned is None:
            return False
        with self.host.iproute() as ipr:
            return addressing.link_index(ipr, owned.name) is not None

    def _attach(self, device: str, port: dict, internal: bool = False) -> None:
        self.host.ovs.add_port(device, port["id"], port["mac_address"], self.vif_type, internal=internal)

    def delete_device(self, name: str) -> None:
        """Delete interface ``name`` in the bridge's namespace if present (a veth takes its peer)."""
        with self.host.iproute() as ipr:
            index = addressing.link_index(ipr, name)
            if index is not None:
                try:
                    ipr.link("del", index=index)
                except NetlinkError:
                    pass  # an OVS internal device vanishes on its own when its port goes

    def _fresh_device(self, ipr: IPRoute, name: str, port_id: str) -> None:
        """Make room for a host-end device: an ovnet device of the same port is re-created (a dead
        leftover after an agent or OVS crash); anybody else's device of that name is a Conflict."""
        index = addressing.link_index(ipr, name)
        if index is None:
            return
        alias = parse_alias(ipr.get_links(index)[0].get_attr("IFLA_IFALIAS"))
        if alias is None or alias[0] != port_id:
            raise Conflict(f"interface {name} already exists and is not ovnet's device for port {port_id}")
        self.host.ovs.del_port(name)
        ipr.link("del", index=index)


def veth_host_name(port_id: str) -> str:
    """The veth host end's name for a port: ``vh`` + 13 hex digits of its id."""
    return "vh" + port_id.replace("-", "")[:13]


class VethVif(Vif):
    """A veth pair into a network namespace (a container). Options: ``ifname`` (default eth0)."""

    vif_type = "veth"

    def plug(self, port: dict, network: dict, subnets: list[dict], target: str, ifname: str = "eth0",
             **_options) -> str:
        check_ifname(ifname)
        host_end = veth_host_name(port["id"])
        peer = "vp" + port["id"].replace("-", "")[:13]
        mtu = int(network.get("mtu") or 1500)
        with self.host.iproute() as ipr:
            self._fresh_device(ipr, host_end, port["id"])
            try:
                ipr.link("add", ifname=host_end, kind="veth", peer={"ifname": peer, "mtu": mtu}, mtu=mtu)
            except NetlinkError as exc:
                raise Conflict(f"cannot create veth {host_end}/{peer}: {exc}") from None
            try:
                ipr.link("set", index=addressing.link_index(ipr, host_end), state="up",
                         ifalias=device_alias(port["id"], self.vif_type))
                self._into_workload(ipr, peer, port, network, subnets, target, ifname)
                if self.host.datapath == "netdev":
                    addressing.tx_checksum_off(self.host.netns, host_end)
                self._attach(host_end, port)
            except BaseException:
                self.host.ovs.del_port(host_end)
                index = addressing.link_index(ipr, host_end)
                if index is not None:
                    ipr.link("del", index=index)
                raise
        return host_end

    def _into_workload(self, ipr: IPRoute, peer: str, port: dict, network: dict, subnets: list[dict],
                       target: str, ifname: str) -> None:
        try:
            ipr.link("set", index=addressing.link_index(ipr, peer), net_ns_fd=target)
        except (NetlinkError, OSError) as exc:
            raise BadRequest(f"cannot move the veth into network namespace {target!r}: {exc}") from None
        try:
            inner_socket = nsutil.iproute(target)
        except OSError as exc:
            raise BadRequest(f"network namespace {target!r} cannot be entered: {exc}") from None
        with inner_socket as inner:
            if addressing.link_index(inner, ifname) is not None:
                raise Conflict(f"interface {ifname} already exists in network namespace {target}")
            inner.link("set", index=addressing.link_index(inner, peer), ifname=ifname)
            addressing.configure(inner, ifname, port, network, subnets)
        if self.host.datapath == "netdev":
            addressing.tx_checksum_off(target, ifname)


class TapVif(Vif):
    """A persistent tap device for a VM (QEMU: ``-netdev tap,ifname=NAME,script=no,vnet_hdr=off``).
    Options: ``owner`` (user name or uid allowed to open it). The VM learns its address by DHCP.

    A tap that a VM holds open (the kernel shows carrier on while a file is attached) is the VM's
    NIC: unplug only takes it off the bridge, and a later plug of the same port puts that very
    device back. Deleting it would detach the VM for good, since QEMU never reopens its tap.
    """

    vif_type = "tap"

    def _held(self, ipr: IPRoute, name: str, port_id: str) -> bool:
        index = addressing.link_index(ipr, name)
        if index is None:
            return False
        link = ipr.get_links(index)[0]
        return link.get_attr("IFLA_CARRIER") == 1 and parse_alias(link.get_attr("IFLA_IFALIAS")) == (port_id, "tap")

    def delete_device(self, name: str) -> None:
        """Delete tap ``name`` unless a VM holds it (see the class docstring)."""
        with self.host.iproute() as ipr:
            index = addressing.link_index(ipr, name)
            if index is not None and ipr.get_links(index)[0].get_attr("IFLA_CARRIER") == 1:
                return
        super().delete_device(name)

    def plug(self, port: dict, network: dict, subnets: list[dict], target: str, owner: str | int | None = None,
             **_options) -> str:
        name = check_ifname(target)
        uid = _uid(owner)
        # A tap is made by an ioctl on /dev/net/tun in the caller's namespace, not over netlink;
        # pyroute2's netns= mode runs it in a helper inside the bridge's namespace.
        with IPRoute(netns=self.host.netns) if self.host.netns else IPRoute() as ipr:
            held = self._held(ipr, name, port["id"])
            if not held:
                self._fresh_device(ipr, name, port["id"])
                extra = {"uid": uid} if uid is not None else {}
                try:
                    ipr.link("add", ifname=name, kind="tuntap", mode="tap", **extra)
                except (NetlinkError, OSError) as exc:
                    raise Conflict(f"cannot create tap {name}: {exc}") from None
            try:
                mtu = {"mtu": int(network["mtu"])} if network.get("mtu") else {}
                ipr.link("set", index=addressing.link_index(ipr, name), state="up",
                         ifalias=device_alias(port["id"], self.vif_type), **mtu)
                self._attach(name, port)
            except BaseException:
                self.host.ovs.del_port(name)
                if not held:
                    ipr.link("del", index=addressing.link_index(ipr, name))
                raise
        return name


def _uid(owner: str | int | None) -> int | None:
    if owner is None or owner == "":
        return None
    if isinstance(owner, int) or str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(str(owner)).pw_uid
    except KeyError:
        raise BadRequest(f"unknown user {owner!r} for the tap owner") from None


class InternalVif(Vif):
    """An OVS internal port: the host itself (or bare metal) on a network. OVS creates the device
    in its own namespace; ovnet gives it the port's MAC, MTU, addresses and routes."""

    vif_type = "internal"

    def plug(self, port: dict, network: dict, subnets: list[dict], target: str, **_options) -> str:
        name = check_ifname(target)
        mine = {p.name: p.port_id for p in self.host.ovs.owned_ports()}
        if name in self.host.ovs.port_names() and mine.get(name) != port["id"]:
            raise Conflict(f"OVS port {name} already exists for something else")
        with self.host.iproute() as ipr:
            if addressing.link_index(ipr, name) is not None and name not in mine:
                raise Conflict(f"interface {name} already exists and is not an OVS port")
        self._attach(name, port, internal=True)
        try:
            with self.host.iproute() as ipr:
                addressing.configure(ipr, name, port, network, subnets)
            if self.host.datapath == "netdev":
                addressing.tx_checksum_off(self.host.netns, name)
        except BaseException:
            self.host.ovs.del_port(name)
            raise
        return name


VIF_TYPES: dict[str, type[Vif]] = {cls.vif_type: cls for cls in (VethVif, TapVif, InternalVif)}


def vif_for(vif_type: str, host: HostContext) -> Vif:
    """The plugging object of ``vif_type`` ("veth", "tap", "internal"); BadRequest for others."""
    try:
        return VIF_TYPES[vif_type](host)
    except KeyError:
        raise BadRequest(f"unknown VIF type {vif_type!r}; one of {', '.join(VIF_TYPES)}") from None


def delete_owned_devices(netns: str | None) -> list[str]:
    """Delete every host-end device ovnet made (found by its alias) in ``netns`` (the bridge's
    namespace; None = ours), taking each veth's workload end with it; returns their names. A
    namespace that does not exist has none. For ``ovnet down --purge``, after which no agent
    is left to unplug them."""
    try:
        ipr = nsutil.iproute(netns)
    except OSError:
        return []
    deleted = []
    with ipr:
        for link in ipr.get_links():
            if parse_alias(link.get_attr("IFLA_IFALIAS")) is None:
                continue
            try:
                ipr.link("del", index=link["index"])
            except NetlinkError:
                continue  # went with its peer meanwhile
            deleted.append(link.get_attr("IFLA_IFNAME"))
    return deleted
