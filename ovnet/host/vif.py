"""VIF plugging: one plugin class per VIF kind (ovnet.host.attachment.KINDS) behind one small
contract (os-vif's seam, without its object versioning):

    check(target, owner) -> None     (BadRequest before anything is done)
    plug(attachment) -> device name on the integration bridge
    unplug(port_id) -> None          (nothing there is fine)
    is_plugged(port_id) -> bool

Only ovnet.host.attach.AttachService calls plug; everything else goes through it. The host end
lives in the namespace of this host's ovs-vswitchd (``HostContext.netns``; None = ours), where the
bridge is. Host-end devices ovnet creates (veth host end, tap) carry the kernel interface alias
``ovnet:<port id>:<kind>``, so the agent can find them again after a restart without any file.
A failed plug removes what it created (no OVS port, no device).
"""

from __future__ import annotations

import errno
import pwd
from collections.abc import Callable, Collection
from dataclasses import dataclass

from pyroute2 import IPRoute, NetlinkError

from ovnet.host import addressing, nsutil
from ovnet.host.attachment import INTERNAL, TAP, VETH, Attachment, check_ifname, check_kind
from ovnet.host.errors import BadRequest, Conflict
from ovnet.host.ovs import LocalOvs, OwnedPort

ALIAS_PREFIX = "ovnet:"
# The kind an alias names once its device was taken off the bridge for good (Vif.release): no
# longer a VIF of any kind, only waiting to be deleted.
RELEASED = "released"


@dataclass(frozen=True)
class HostContext:
    """Where plugging happens on one host: its OVS, the netns of its ovs-vswitchd, its datapath."""

    ovs: LocalOvs
    netns: str | None
    datapath: str  # "netdev" (userspace) or "system"

    def iproute(self) -> IPRoute:
        """A netlink socket in the bridge's namespace."""
        return nsutil.iproute(self.netns)


def device_alias(port_id: str, kind: str) -> str:
    """The interface alias marking a host-end device as ovnet's."""
    return f"{ALIAS_PREFIX}{port_id}:{kind}"


def parse_alias(alias: str | None) -> tuple[str, str] | None:
    """(port id, VIF kind) from an alias made by device_alias, else None."""
    if not alias or not alias.startswith(ALIAS_PREFIX):
        return None
    port_id, _, kind = alias[len(ALIAS_PREFIX):].rpartition(":")
    return (port_id, kind) if port_id else None


class Vif:
    """Base of the VIF plugins: the shared OVS attach/detach and the contract's unplug/is_plugged."""

    kind = ""

    def __init__(self, host: HostContext):
        self.host = host

    def check(self, target: str, owner: str | None) -> None:
        """Raise BadRequest when this kind cannot plug into ``target`` for ``owner`` (see
        Attachment); checked before the port is bound, so a bad request costs no API write."""
        if not target:
            raise BadRequest(f"a {self.kind} attachment needs a target (netns or device name)")

    def plug(self, attachment: Attachment) -> str:
        """Plug the port of ``attachment`` into its target; return the device name on the bridge.
        Raises BadRequest, Conflict, OvsError; on any error nothing of this plug is left."""
        raise NotImplementedError

    def unplug(self, port_id: str, final: bool = False) -> None:
        """Remove the OVS port of ``port_id`` and the host-end device ovnet made for it, if any.
        ``final``: the port is being deleted, so its device name never comes back, and ovs-vswitchd
        catching up with the removal is not waited for (a re-plug of the same name must wait,
        see LocalOvs.add_port)."""
        owned = self.host.ovs.port_by_id(port_id)
        if owned:
            self.host.ovs.del_port(owned.name, wait=not final)
            self.delete_device(owned.name)

    def release(self, port_id: str) -> str | None:
        """Unplug ``port_id`` ahead of its deletion, as ``unplug(final=True)``; returns the name of a
        host-end device left for the caller to delete (VethVif's), here None."""
        self.unplug(port_id, final=True)
        return None

    def holds(self, owned: OwnedPort, target: str, ifname: str) -> bool:
        """True when ``owned`` (this kind's OVS port) is plugged into ``target`` as ``ifname``, read
        from the devices themselves: for an OVS port without a recorded ``target`` (one the
        agent's reconcile re-added). Here, for a device that is its own target (tap, internal):
        the OVS port is that device."""
        return owned.name == target

    def is_plugged(self, port_id: str) -> bool:
        """True when an owned OVS port for ``port_id`` exists and its device is present."""
        owned = self.host.ovs.port_by_id(port_id)
        if owned is None:
            return False
        with self.host.iproute() as ipr:
            return addressing.link_index(ipr, owned.name) is not None

    def _attach(self, device: str, attachment: Attachment, internal: bool = False, wait: bool = True) -> None:
        self.host.ovs.add_port(device, attachment.port_id, attachment.mac, self.kind, internal=internal, wait=wait,
                               target=attachment.plugged_into)

    def delete_device(self, name: str) -> bool:
        """Delete interface ``name`` in the bridge's namespace if present (a veth takes its peer);
        True when this call deleted it, False when there was nothing to delete."""
        with self.host.iproute() as ipr:
            index = addressing.link_index(ipr, name)
            if index is None:
                return False
            try:
                ipr.link("del", index=index)
            except NetlinkError:
                return False  # an OVS internal device vanishes on its own when its port goes
            return True

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


def veth_parked_name(port_id: str) -> str:
    """A parked workload end's name (VethVif.park), in the bridge's namespace: ``vp`` + 13 hex
    digits of its port id."""
    return "vp" + port_id.replace("-", "")[:13]


class VethVif(Vif):
    """A veth pair into a network namespace (a container): the peer is created right in
    ``attachment.target``, named ``attachment.ifname`` and carrying the port's MAC and MTU (one
    netlink request instead of create, move, rename and set), then given its addresses there."""

    kind = VETH

    def plug(self, attachment: Attachment) -> str:
        return self._make(attachment, self._peer(attachment), self._configure_workload)

    def park(self, attachment: Attachment) -> str:
        """Plug ``attachment``'s port as ``plug`` does, but with the workload end parked: it stays
        in the bridge's namespace as veth_parked_name(port id), down and without addresses (its MAC,
        MTU and, on the userspace datapath, checksum setting are the port's already), until
        ``unpark`` moves it into a workload. Returns the host end's name; raises as ``plug``."""
        parked = veth_parked_name(attachment.port_id)

        def checksum_off(_: Attachment) -> None:  # a device keeps it when it moves to another namespace
            if self.host.datapath == "netdev":
                addressing.tx_checksum_off(self.host.netns, parked)
        return self._make(attachment, {"ifname": parked}, checksum_off)

    def unpark(self, attachment: Attachment) -> None:
        """Move the parked workload end of ``attachment``'s port (``park``) into
        ``attachment.target`` as ``attachment.ifname`` (one netlink request moves and renames it),
        give it its addresses and routes there and record that target on its OVS port. Raises
        Conflict (no parked end, or the name is taken in the target), BadRequest (the namespace
        cannot be entered). A failure leaves the end wherever it got: the caller unplugs the port,
        and deleting the host end takes the end with it."""
        parked = veth_parked_name(attachment.port_id)
        with self.host.iproute() as ipr:
            index = addressing.link_index(ipr, parked)
            if index is None:
                raise Conflict(f"port {attachment.port_id} has no parked interface {parked}")
            try:
                ipr.link("set", index=index, net_ns_fd=attachment.target, ifname=attachment.ifname)
            except NetlinkError as exc:
                raise Conflict(f"cannot move {parked} into {attachment.target} as {attachment.ifname}: {exc}") from None
            except OSError as exc:  # opening the target namespace's file
                raise BadRequest(f"network namespace {attachment.target!r} cannot be entered: {exc}") from None
        self._configure_addresses(attachment)
        self.host.ovs.set_target(veth_host_name(attachment.port_id), attachment.plugged_into)

    def _make(self, attachment: Attachment, peer_link: dict, configure: Callable[[Attachment], None]) -> str:
        """Create the pair (the peer as ``peer_link`` says: name and namespace), put its host end
        on the bridge, then ``configure(attachment)`` the peer; on any error nothing is left."""
        port_id = attachment.port_id
        host_end = veth_host_name(port_id)
        mtu = attachment.mtu or 1500
        peer = {**peer_link, "address": attachment.mac, "mtu": mtu}
        with self.host.iproute() as ipr:
            self._fresh_device(ipr, host_end, port_id)
            try:
                ipr.link("add", ifname=host_end, kind="veth", peer=peer, mtu=mtu)
            except NetlinkError as exc:
                if exc.code == errno.EEXIST:  # the host end was just made room for: it is the peer's name
                    raise Conflict(f"interface {peer['ifname']} already exists in network namespace "
                                   f"{attachment.target}") from None
                raise Conflict(f"cannot create veth {host_end}/{peer['ifname']}: {exc}") from None
            except OSError as exc:  # opening the target namespace's file
                raise BadRequest(f"network namespace {attachment.target!r} cannot be entered: {exc}") from None
            try:
                ipr.link("set", index=addressing.link_index(ipr, host_end), state="up",
                         ifalias=device_alias(port_id, self.kind))
                if self.host.datapath == "netdev":
                    addressing.tx_checksum_off(self.host.netns, host_end)
                    # The userspace datapath reads the host end with a packet socket, so the
                    # bridge's kernel sees the workload's frames too and would answer ARP for its
                    # own addresses (an internal port's) with this device's MAC, bypassing OVN.
                    nsutil.write_sysctl(self.host.netns, f"net/ipv4/conf/{host_end}/arp_ignore", "8")
                # On the bridge before the workload end is configured, so ovs-vswitchd and
                # ovn-controller work on it meanwhile; the attach's wait reports a bad interface.
                self._attach(host_end, attachment, wait=False)
                configure(attachment)
            except BaseException:
                self.host.ovs.del_port(host_end)
                index = addressing.link_index(ipr, host_end)
                if index is not None:
                    ipr.link("del", index=index)  # takes the peer with it
                raise
        return host_end

    def holds(self, owned: OwnedPort, target: str, ifname: str) -> bool:
        """True when interface ``ifname`` in network namespace ``target`` carries ``owned``'s MAC
        (False when the namespace cannot be entered)."""
        try:
            with nsutil.iproute(target) as ipr:
                index = addressing.link_index(ipr, ifname)
                return index is not None and ipr.get_links(index)[0].get_attr("IFLA_ADDRESS") == owned.mac
        except OSError:
            return False

    def release(self, port_id: str) -> str | None:
        """Take ``port_id``'s OVS port off the bridge at once (the port is being deleted) and mark
        its host end's alias RELEASED instead of deleting the pair: a deletion waits for the
        kernel's RCU grace period (10-20 ms), which the caller moves off its answer by calling
        delete_device later. An agent killed before that finds the device RELEASED and deletes it
        (Binder.reconcile) rather than putting it back. Returns the host end's name, or None when
        nothing was plugged."""
        owned = self.host.ovs.port_by_id(port_id)
        if owned is None:
            return None
        self.host.ovs.del_port(owned.name, wait=False)
        with self.host.iproute() as ipr:
            index = addressing.link_index(ipr, owned.name)
            if index is None:
                return None
            ipr.link("set", index=index, ifalias=device_alias(port_id, RELEASED))
        return owned.name

    def _peer(self, attachment: Attachment) -> dict:
        """Where and under which name the peer is created (pyroute2 link attributes)."""
        return {"ifname": attachment.ifname, "net_ns_fd": attachment.target}

    def _configure_workload(self, attachment: Attachment) -> None:
        self._configure_addresses(attachment)
        if self.host.datapath == "netdev":
            addressing.tx_checksum_off(attachment.target, attachment.ifname)

    @staticmethod
    def _configure_addresses(attachment: Attachment) -> None:
        target = attachment.target
        try:
            inner_socket = nsutil.iproute(target)
        except OSError as exc:
            raise BadRequest(f"network namespace {target!r} cannot be entered: {exc}") from None
        with inner_socket as inner:
            addressing.configure(inner, attachment.ifname, attachment, link_made=True)


class TapVif(Vif):
    """A persistent tap device for a VM (QEMU: ``-netdev tap,ifname=NAME,script=no,vnet_hdr=off``).
    Options: ``owner`` (user name or uid allowed to open it). The VM learns its address by DHCP.

    A tap that a VM holds open (the kernel shows carrier on while a file is attached) is the VM's
    NIC: unplug only takes it off the bridge, and a later plug of the same port puts that very
    device back. Deleting it would detach the VM for good, since QEMU never reopens its tap.
    """

    kind = TAP

    def _held(self, ipr: IPRoute, name: str, port_id: str) -> bool:
        index = addressing.link_index(ipr, name)
        if index is None:
            return False
        link = ipr.get_links(index)[0]
        return link.get_attr("IFLA_CARRIER") == 1 and parse_alias(link.get_attr("IFLA_IFALIAS")) == (port_id, TAP)

    def delete_device(self, name: str) -> bool:
        """Delete tap ``name`` unless a VM holds it (see the class docstring); True when deleted,
        False when absent or kept for its VM."""
        with self.host.iproute() as ipr:
            index = addressing.link_index(ipr, name)
            if index is not None and ipr.get_links(index)[0].get_attr("IFLA_CARRIER") == 1:
                return False
        return super().delete_device(name)

    def check(self, target: str, owner: str | None) -> None:
        check_ifname(target)
        _uid(owner)

    def plug(self, attachment: Attachment) -> str:
        name, port_id = check_ifname(attachment.target), attachment.port_id
        uid = _uid(attachment.owner)
        # A tap is made by an ioctl on /dev/net/tun in the caller's namespace, not over netlink;
        # pyroute2's netns= mode runs it in a helper inside the bridge's namespace.
        with IPRoute(netns=self.host.netns) if self.host.netns else IPRoute() as ipr:
            held = self._held(ipr, name, port_id)
            if not held:
                self._fresh_device(ipr, name, port_id)
                extra = {"uid": uid} if uid is not None else {}
                try:
                    ipr.link("add", ifname=name, kind="tuntap", mode="tap", **extra)
                except (NetlinkError, OSError) as exc:
                    raise Conflict(f"cannot create tap {name}: {exc}") from None
            try:
                mtu = {"mtu": attachment.mtu} if attachment.mtu else {}
                ipr.link("set", index=addressing.link_index(ipr, name), state="up",
                         ifalias=device_alias(port_id, self.kind), **mtu)
                self._attach(name, attachment)
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

    kind = INTERNAL

    def check(self, target: str, owner: str | None) -> None:
        check_ifname(target)

    def plug(self, attachment: Attachment) -> str:
        name = check_ifname(attachment.target)
        mine = {p.name: p.port_id for p in self.host.ovs.owned_ports()}
        if name in self.host.ovs.port_names() and mine.get(name) != attachment.port_id:
            raise Conflict(f"OVS port {name} already exists for something else")
        with self.host.iproute() as ipr:
            if addressing.link_index(ipr, name) is not None and name not in mine:
                raise Conflict(f"interface {name} already exists and is not an OVS port")
        self._attach(name, attachment, internal=True)
        try:
            with self.host.iproute() as ipr:
                addressing.configure(ipr, name, attachment)
            if self.host.datapath == "netdev":
                addressing.tx_checksum_off(self.host.netns, name)
        except BaseException:
            self.host.ovs.del_port(name)
            raise
        return name


PLUGINS: dict[str, type[Vif]] = {cls.kind: cls for cls in (VethVif, TapVif, InternalVif)}


def vif_for(kind: str, host: HostContext) -> Vif:
    """The plugin of VIF ``kind`` ("veth", "tap", "internal"); BadRequest for others."""
    return PLUGINS[check_kind(kind)](host)


def delete_owned_devices(netns: str | None, names: Collection[str]) -> list[str]:
    """Delete the host-end devices ovnet made (found by its alias) in ``netns`` (the bridge's
    namespace; None = ours) whose name is in ``names`` (the ports of this installation's bridge:
    another ovnet on the machine marks its devices with the same alias), taking each veth's
    workload end with it; returns their names. A namespace that does not exist has none. For
    ``ovnet down --purge``, after which no agent is left to unplug them."""
    try:
        ipr = nsutil.iproute(netns)
    except OSError:
        return []
    deleted = []
    with ipr:
        for link in ipr.get_links():
            if parse_alias(link.get_attr("IFLA_IFALIAS")) is None or link.get_attr("IFLA_IFNAME") not in names:
                continue
            try:
                ipr.link("del", index=link["index"])
            except NetlinkError:
                continue  # went with its peer meanwhile
            deleted.append(link.get_attr("IFLA_IFNAME"))
    return deleted
