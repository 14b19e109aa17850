"""Docker IPAM pools as ovnet sees them: PoolIDs, the tags that find them again, allocation ranges.

A PoolID is a pure function of the RequestPool call (CIDR, ``--ip-range``, the ``--ipam-opt``s
ovnet reads), e.g. ``10.9.0.0/24;range=10.9.0.128/25;project=<id>``. Identical requests must get
the identical PoolID (libnetwork.md A.6; replays after a dockerd restart send the same call), and
dockerd keeps it forever, so it cannot name anything that only exists later. The ovnet subnet made
for the pool carries the tag ``docker.pool:<digest of the PoolID>``; one live ovnet network per
PoolID, so two Docker networks never share an address space by accident (libnetwork.md pitfall 15).
Neutron tags are at most 60 characters; Docker IDs are 64 hex digits, so tags hold a prefix.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from urllib.parse import quote, unquote

from ovnet.host.docker.protocol import PluginError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

POOL_TAG = "docker.pool:"
NETWORK_TAG = "docker.net:"  # on every ovnet network a Docker network uses (created or adopted)
OWNER_TAG = "docker.owner:"  # only on ovnet networks the Docker network created (deleted with it)
IPAM_TAG = "docker.ipam"  # on ports the IPAM created for an address (deleted by ReleaseAddress)
IPAM_HOST_TAG = "docker.ipam.host:"  # + the chassis whose IPAM made the port: its sweep owns it unclaimed
DEVICE_OWNER = "compute:docker"

# Where RequestPool{Pool: ""} carves pools from: /24s of 10.192.0.0/12, /64s of a fixed ULA /48.
AUTO_V4 = ipaddress.ip_network("10.192.0.0/12")
AUTO_V6 = ipaddress.ip_network("fd6f:766e:6574::/48")


def network_tag(docker_network_id: str) -> str:
    return NETWORK_TAG + docker_network_id[:48]


def in_use_tag(docker_network_id: str) -> str:
    """The tag that keeps an adopted ovnet network from being deleted under its Docker network
    (ovnet.model.networks.IN_USE_TAG; the host may not import the model, hence the literal)."""
    return "in-use-by:docker-network:" + docker_network_id[:12]


def owner_tag(docker_network_id: str) -> str:
    return OWNER_TAG + docker_network_id[:46]


def ipam_host_tag(chassis: str) -> str:
    """The tag naming the chassis whose IPAM driver made a port (RequestAddress and its
    CreateEndpoint come from one dockerd, so that chassis' agent alone may sweep it unclaimed)."""
    return (IPAM_HOST_TAG + chassis)[:60]


def pool_tag(pool_id: str) -> str:
    return POOL_TAG + hashlib.sha256(pool_id.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class PoolSpec:
    """What a PoolID stands for: the CIDR, the ``--ip-range`` (or None), the id of the project and
    the ovnet network (name or id) named by ``--ipam-opt`` (or None). The project is kept by id,
    which never changes, so a replayed RequestPool gets the same PoolID."""

    cidr: Network
    ip_range: Network | None = None
    project: str | None = None
    network: str | None = None

    def pool_id(self) -> str:
        parts = [str(self.cidr)]
        for key, value in (("range", self.ip_range), ("project", self.project), ("network", self.network)):
            if value is not None:
                parts.append(f"{key}={quote(str(value), safe='/:')}")
        return ";".join(parts)

    @classmethod
    def parse(cls, pool_id: str) -> PoolSpec:
        """The spec of a PoolID made by pool_id(); PluginError for any other string."""
        head, *rest = pool_id.split(";")
        try:
            cidr = ipaddress.ip_network(head)
            values = dict(item.split("=", 1) for item in rest)
        except ValueError:
            raise PluginError(f"PoolID {pool_id!r} was not issued by ovnet") from None
        if set(values) - {"range", "project", "network"}:
            raise PluginError(f"PoolID {pool_id!r} was not issued by ovnet")
        ip_range = ipaddress.ip_network(unquote(values["range"])) if "range" in values else None
        return cls(cidr, ip_range, unquote(values["project"]) if "project" in values else None,
                   unquote(values["network"]) if "network" in values else None)

    def with_prefix(self, address: Address) -> str:
        """``addr/len`` with this pool's prefix length, as dockerd wants addresses back."""
        return f"{address}/{self.cidr.prefixlen}"

    def check_inside(self, address: Address) -> None:
        """PluginError unless ``address`` is a usable host address of the pool."""
        if address not in self.cidr:
            raise PluginError(f"address {address} is not in pool {self.cidr}")
        if address == self.cidr.network_address or (self.cidr.version == 4 and self.cidr.prefixlen < 31
                                                    and address == self.cidr.broadcast_address):
            raise PluginError(f"address {address} is not a host address of {self.cidr}")


def host_bounds(cidr: Network, ip_range: Network | None = None) -> tuple[Address, Address]:
    """First and last address IPAM may hand out: the range (or CIDR) without the network address
    and, for IPv4, the broadcast address (Neutron's default allocation pool)."""
    net = ip_range or cidr
    first, last = net.network_address, net.broadcast_address
    if first == cidr.network_address:
        first += 1
    if cidr.version == 4 and last == cidr.broadcast_address and cidr.prefixlen < 31:
        last -= 1
    if first > last:
        raise PluginError(f"{net} leaves no address to hand out")
    return first, last


def default_gateway(spec: PoolSpec) -> Address:
    """The gateway when dockerd asks for none in particular: the first host address of the CIDR."""
    return host_bounds(spec.cidr)[0]


def allocation_pools(spec: PoolSpec, reserved: list[Address]) -> list[dict]:
    """Neutron allocation_pools [{"start", "end"}] covering the range minus ``reserved`` addresses
    (gateway, ``--aux-address``es), which IPAM must never hand out."""
    first, last = host_bounds(spec.cidr, spec.ip_range)
    pools, start = [], first
    for addr in sorted({a for a in reserved if first <= a <= last}):
        if start < addr:
            pools.append({"start": str(start), "end": str(addr - 1)})
        start = addr + 1
    if start <= last:
        pools.append({"start": str(start), "end": str(last)})
    if not pools:
        raise PluginError(f"pool {spec.ip_range or spec.cidr} has no address left after the gateway and aux addresses")
    return pools


def choose_auto_pool(v6: bool, taken: list[Network]) -> Network:
    """A pool for RequestPool{Pool: ""}: the first /24 (IPv4) or /64 (IPv6) of ovnet's auto range
    that overlaps none of ``taken``. Raises PluginError when the range is exhausted."""
    base, prefix = (AUTO_V6, 64) if v6 else (AUTO_V4, 24)
    relevant = [t for t in taken if t.version == base.version and t.overlaps(base)]
    for candidate in base.subnets(new_prefix=prefix):
        if not any(candidate.overlaps(t) for t in relevant):
            return candidate
    raise PluginError(f"no free /{prefix} left in {base}; give --subnet explicitly")
