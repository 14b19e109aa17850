"""The seed picture that ``ovnet demo`` builds: two projects with overlapping address ranges,
workloads with one or two NICs, spread over two hypervisors, and which pairs may talk.

Plain data and pure functions; nothing here touches the system.
"""

from __future__ import annotations

from dataclasses import dataclass

# project -> network name -> subnet CIDR
NETWORKS: dict[str, dict[str, str]] = {
    "tenant-a": {"net1": "192.168.1.0/24", "net2": "192.168.5.0/24"},
    "tenant-b": {"net1": "192.168.1.0/24", "net2": "192.168.9.0/24"},
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


def pairs() -> list[tuple[Nic, Nic]]:
    """Every ordered (source, destination) pair of NICs of different workloads (a workload's own
    addresses are local to its namespace and say nothing about the network)."""
    return [(src, dst) for src in nics() for dst in nics() if src.workload != dst.workload]


def expected(src: Nic, dst: Nic) -> bool:
    """Whether ``src`` should reach ``dst``: only within one project and one network. A Neutron
    network is one L2 domain owned by one project; the seed has no routers, so different networks
    never meet, and different projects never do even at identical addresses."""
    return src.project == dst.project and src.network == dst.network


def crosses(src: Nic, dst: Nic) -> bool:
    """Whether the pair's workloads sit on different hypervisors (their packets cross Geneve)."""
    where = {w.name: w.hypervisor for w in WORKLOADS}
    return where[src.workload] != where[dst.workload]
