"""The seed picture that ``ovnet demo`` builds: two projects with overlapping address ranges,
workloads with one or two NICs, spread over two hypervisors, each project's router to the public
network with floating IPs and security groups, and which pairs may talk and why (expect).

Plain data and pure functions; nothing here touches the system.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# project -> network name -> subnet CIDR
NETWORKS: dict[str, dict[str, str]] = {
    "tenant-a": {"net1": "192.168.1.0/24", "net2": "192.168.5.0/24"},
    "tenant-b": {"net1": "192.168.1.0/24", "net2": "192.168.9.0/24"},
}


PUBLIC_NETWORK = "public"  # the external network the admin makes (flat on physical network "public")
PUBLIC_POOL_SIZE = 90  # floating IPs and router gateways come from .10-.99 of the public subnet
OUTSIDE = "outside"  # the outside host's name: its echo server answers "outside@<peer address>"
FIP_IFNAME = "fip"  # a floating IP as a destination Nic
OPEN_GROUP = "outside"  # each project's group that opens ICMP and TCP 7 (echo) from anywhere
DEFAULT_GROUP = "default"
# workload -> joins OPEN_GROUP; each gets a floating IP (A-vm3's stays closed: the blocked row)
FLOATING: dict[str, bool] = {"A-vm1": True, "B-vm1": True, "A-vm3": False}
OPEN = frozenset(name for name, opened in FLOATING.items() if opened)
# the one-word reasons of a cell (expect()), in the matrix legend's order
REASONS: dict[str, str] = {
    "same network": "one network, one L2 domain",
    "routed": "across the project's networks through its router",
    "floating IP": "through a floating IP (its DNAT in, or its SNAT out)",
    "SNAT": "out through the router's SNAT to its gateway address",
    "isolated": "another project: no router joins them",
    "no route": "the source NIC has no route there (its workload's default route is on eth0)",
    "asymmetric": "the reply leaves by the destination's other NIC, whose port security drops it",
    f"blocked by group {DEFAULT_GROUP}": "no rule of the port's groups lets it in",
}


@dataclass(frozen=True)
class Nic:
    """One NIC of a workload: its port's ``network`` (name within ``project``), fixed IP ``address``
    and the interface name ``ifname`` inside the workload's namespace."""

    workload: str
    project: str
    network: str
    address: str
    ifname: str

    @property
    def label(self) -> str:
        return f"{self.workload} {self.address}"


@dataclass(frozen=True)
class Workload:
    """A workload of ``project`` on hypervisor ``hypervisor`` (0 = the all-in-one, 1 = the host
    that ``ovnet demo`` adds) with its ``nics`` in order eth0, eth1, ...; ``kind`` is "netns" (a
    network namespace plugged with veth), "vm" (a QEMU VM on taps), "docker" (a Docker container
    attached by the hypervisor's ovnet plugin; one NIC) or "podman" (a Podman container attached
    through CNI by the hypervisor's agent; one NIC)."""

    name: str
    project: str
    hypervisor: int
    nics: tuple[Nic, ...]
    kind: str = "netns"


def _workload(name: str, project: str, hypervisor: int, *nics: tuple[str, str], kind: str = "netns") -> Workload:
    return Workload(name, project, hypervisor,
                    tuple(Nic(name, project, net, addr, f"eth{i}") for i, (net, addr) in enumerate(nics)), kind)


# Each project has one same-network pair across the Geneve tunnel and one on a single hypervisor;
# one VM per project and hypervisor (the two-NIC A-vm2 among them), so VMs meet namespaces on the
# same chassis and across Geneve; B-vm1, a Docker container, has the address of A-vm1 (another
# project), so the plugin's port is isolated at an address that exists twice; A-vm3 is a Podman
# container (CNI) on the added host, next to the VM A-vm2 on net2.
WORKLOADS: tuple[Workload, ...] = (
    _workload("A-vm1", "tenant-a", 0, ("net1", "192.168.1.3")),
    _workload("A-vm2", "tenant-a", 1, ("net1", "192.168.1.5"), ("net2", "192.168.5.2"), kind="vm"),
    _workload("A-vm3", "tenant-a", 1, ("net2", "192.168.5.9"), kind="podman"),
    _workload("B-vm1", "tenant-b", 1, ("net1", "192.168.1.3"), kind="docker"),
    _workload("B-vm2", "tenant-b", 0, ("net1", "192.168.1.5"), ("net2", "192.168.9.3")),
    _workload("B-vm3", "tenant-b", 0, ("net2", "192.168.9.7"), kind="vm"),
)


def nics() -> list[Nic]:
    """Every NIC of every workload, in WORKLOADS order."""
    return [nic for w in WORKLOADS for nic in w.nics]


def pairs(world: World) -> list[tuple[Nic, Nic]]:
    """Every ordered (source, destination) pair of NICs of different workloads (a workload's own
    addresses are local to its namespace and say nothing about the network), then every NIC ->
    the outside host, then the outside host -> every floating IP."""
    inside = [(src, dst) for src in nics() for dst in nics() if src.workload != dst.workload]
    return inside + [(src, world.outside) for src in nics()] + [(world.outside, fip) for fip in world.fip_nics()]


@dataclass(frozen=True)
class World:
    """What the demo made that the seed cannot know beforehand: the ``outside`` host (a Nic of
    workload OUTSIDE in the public namespace), each floating IP's address by workload
    (``floating``), each project's router gateway address (``gateways``)."""

    outside: Nic
    floating: dict[str, str]
    gateways: dict[str, str]

    def fip_nics(self) -> list[Nic]:
        """Each floating IP as a destination: a Nic of its workload named FIP_IFNAME, in FLOATING order."""
        owner = {w.name: w for w in WORKLOADS}
        return [Nic(name, owner[name].project, PUBLIC_NETWORK, self.floating[name], FIP_IFNAME)
                for name in FLOATING if name in self.floating]


@dataclass(frozen=True)
class Expectation:
    """What a cell should show: ``reachable``, the one-word ``reason`` (see REASONS) and, for the
    outside host as destination, the ``source`` address it should see (SNAT or floating IP)."""

    reachable: bool
    reason: str
    source: str | None = None


def outside_nic(address: str) -> Nic:
    """The outside host (the public namespace's bridge ``pub`` at ``address``) as a Nic."""
    return Nic(OUTSIDE, "", PUBLIC_NETWORK, address, "pub")


def subnet_of(nic: Nic) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The CIDR of the NIC's network (NETWORKS)."""
    return ipaddress.ip_network(NETWORKS[nic.project][nic.network])


def can_send(src: Nic, address: str) -> bool:
    """Whether a socket bound to ``src`` (SO_BINDTODEVICE) has a route to ``address``: on its own
    subnet, or through its gateway when it is its workload's eth0. A workload's default route is
    its first NIC's only: the agent adds one default route per namespace (a second is refused as
    existing) and the VMs' DHCP script takes it from eth0 only (ovnet.testbed.initscript)."""
    return ipaddress.ip_address(address) in subnet_of(src) or src.ifname == "eth0"


def reply_nic(workload: str, address: str) -> Nic:
    """The NIC by which ``workload`` sends to ``address`` (its routing table: the NIC on that
    subnet, else eth0 and its default route); a reply to ``address`` leaves there."""
    own = [n for n in nics() if n.workload == workload]
    return next((n for n in own if ipaddress.ip_address(address) in subnet_of(n)), own[0])


def expect(src: Nic, dst: Nic, world: World) -> Expectation:
    """What the seed's routers, floating IPs and security groups make of ``src`` -> ``dst``.

    - the outside host reaches a floating IP only when its workload is in OPEN_GROUP (Neutron:
      a port gets ``default``, which lets in only its own members; a floating IP opens nothing);
    - a NIC without a route to the address sends nothing (can_send);
    - every NIC with a route reaches the outside host, which sees its floating IP or else its
      router's gateway address (SNAT);
    - projects never meet at private addresses: each router has only its project's subnets;
    - inside a project, one network is one L2 domain; across its networks the router routes,
      unless the destination's reply leaves by another of its NICs (reply_nic), whose port
      security drops a source address that is not its own (asymmetric routing).
    """
    if src == world.outside:
        return Expectation(True, "floating IP") if dst.workload in OPEN else \
            Expectation(False, f"blocked by group {DEFAULT_GROUP}")
    if not can_send(src, dst.address):
        return Expectation(False, "no route")
    if dst == world.outside:
        fip = world.floating.get(src.workload) if src.ifname == "eth0" else None
        return Expectation(True, "floating IP", fip) if fip else Expectation(True, "SNAT", world.gateways[src.project])
    if src.project != dst.project:
        return Expectation(False, "isolated")
    if src.network == dst.network:
        return Expectation(True, "same network")
    if reply_nic(dst.workload, src.address) != dst:
        return Expectation(False, "asymmetric")
    return Expectation(True, "routed")


def crosses(src: Nic, dst: Nic) -> bool:
    """Whether the pair's workloads sit on different hypervisors (their packets cross Geneve);
    the outside host is on neither."""
    where = {w.name: w.hypervisor for w in WORKLOADS}
    return OUTSIDE not in (src.workload, dst.workload) and where[src.workload] != where[dst.workload]
