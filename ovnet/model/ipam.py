"""IP address management: allocation pools, requested addresses, automatic allocation, EUI-64.

Rules (Neutron API v2.0 "Subnets" and "Ports"): the default pool is the subnet minus its network
address, its broadcast address (IPv4) and its gateway; a requested fixed IP is honoured or refused,
never replaced; IPv6 SLAAC / DHCPv6-stateless subnets derive addresses from the MAC (RFC 4291 §2.5.1).
Uniqueness is finally guaranteed by the ``uq_ipallocation_subnet_ip`` constraint: when two writers
pick the same free address, one commit fails and Store.run retries it.

Automatic allocation: small pools (<= SMALL_POOL addresses) get the lowest free address; large
pools get a free one among random candidates checked in one query, so a /16 with 10,000 ports
costs one indexed lookup per port instead of a scan.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ovnet.model import store
from ovnet.model.prepared import Prepared
from ovnet.model.errors import BadRequest, Conflict
from ovnet.model.loader import Children
from ovnet.model.schema import AllocationPool, IPAllocation, Subnet

SMALL_POOL = 1024
CANDIDATES = 16
RANDOM_ROUNDS = 4
AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Range = tuple[int, int]  # inclusive first..last, as integers
# A subnet's pools as plain child rows (loader.load): what ``pools_of`` reads.
POOLS = Children("allocation_pools", AllocationPool.subnet_id, (AllocationPool.first_ip, AllocationPool.last_ip),
                 (AllocationPool.id,))


def network_of(subnet: Subnet) -> IPNetwork:
    return ipaddress.ip_network(subnet.cidr)


def reserved(net: IPNetwork) -> set[int]:
    """Addresses no port may hold: the network address, and the broadcast address for IPv4.

    IPv4 /31 and /32 have none (RFC 3021); IPv6 reserves only the subnet-router anycast address.
    """
    if net.version == 4 and net.prefixlen >= 31:
        return set()
    if net.version == 4:
        return {int(net.network_address), int(net.broadcast_address)}
    return {int(net.network_address)}


def default_gateway(net: IPNetwork) -> str | None:
    """The first host address of ``net``, Neutron's default gateway_ip (None for IPv4 /31, /32)."""
    if net.version == 4 and net.prefixlen >= 31:
        return None
    return str(net.network_address + 1)


def default_pools(net: IPNetwork, gateway: str | None) -> list[Range]:
    """The subnet minus its reserved addresses and the gateway, as ranges."""
    first, last = int(net.network_address), int(net.broadcast_address)
    skip = reserved(net) | ({int(ipaddress.ip_address(gateway))} if gateway else set())
    return _minus(first, last, sorted(a for a in skip if first <= a <= last))


def _minus(first: int, last: int, holes: list[int]) -> list[Range]:
    ranges, start = [], first
    for hole in holes:
        if start <= hole - 1:
            ranges.append((start, hole - 1))
        start = hole + 1
    if start <= last:
        ranges.append((start, last))
    return ranges


def check_pools(net: IPNetwork, pools: Iterable[dict], gateway: str | None) -> list[Range]:
    """Validate requested allocation pools [{"start", "end"}] of ``net``; return them as ranges.

    BadRequest (InvalidAllocationPool) for a range outside the subnet, reversed, overlapping
    another or holding a reserved address; Conflict (GatewayConflictWithAllocationPools) when the
    gateway falls inside a pool.
    """
    ranges: list[Range] = []
    for pool in pools:
        start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        if start not in net or end not in net:
            raise BadRequest(f"The allocation pool {start}-{end} spans beyond the subnet cidr {net}.",
                             "InvalidAllocationPool", "allocation_pools")
        if int(start) > int(end):  # Neutron: "is not valid"; here also why
            raise BadRequest(f"The allocation pool {start}-{end} is not valid: its start {start} is after its end "
                             f"{end}.", "InvalidAllocationPool", "allocation_pools")
        if any(int(start) <= r <= int(end) for r in reserved(net)):
            raise BadRequest(f"The allocation pool {start}-{end} holds a reserved address of {net}.",
                             "InvalidAllocationPool", "allocation_pools")
        ranges.append((int(start), int(end)))
    ranges.sort()
    for (_, prev_end), (start, end) in zip(ranges, ranges[1:]):
        if start <= prev_end:
            raise BadRequest(f"Found overlapping allocation pools in {net}.", "OverlappingAllocationPools",
                             "allocation_pools")
    if gateway and any(s <= int(ipaddress.ip_address(gateway)) <= e for s, e in ranges):
        raise Conflict(f"Gateway ip {gateway} conflicts with allocation pool", "GatewayConflictWithAllocationPools",
                       "gateway_ip")
    return ranges


def check_gateway(net: IPNetwork, gateway: str | None) -> None:
    """BadRequest unless ``gateway`` (or None) is a host address inside ``net``."""
    if gateway is None:
        return
    addr = ipaddress.ip_address(gateway)
    if addr.version != net.version or addr not in net or int(addr) in reserved(net):
        raise BadRequest(f"Gateway IP {gateway} is not a valid host address of subnet {net}",
                         "InvalidInput", "gateway_ip")


def pools_of(subnet: Subnet) -> list[Range]:
    return [(int(ipaddress.ip_address(p.first_ip)), int(ipaddress.ip_address(p.last_ip)))
            for p in subnet.allocation_pools]


def is_auto_address(subnet: Subnet) -> bool:
    """True for IPv6 subnets whose hosts configure themselves (SLAAC, DHCPv6-stateless)."""
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in AUTO_ADDRESS_MODES


def eui64(subnet: Subnet, mac: str) -> str:
    """The modified EUI-64 address of ``mac`` in the /64 ``subnet`` (RFC 4291 §2.5.1, Appendix A)."""
    octets = [int(b, 16) for b in mac.split(":")]
    octets[0] ^= 0x02
    iid = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return str(network_of(subnet).network_address + int.from_bytes(bytes(iid), "big"))


_HELD_QUERY = select(IPAllocation.ip_address).where(IPAllocation.subnet_id == bindparam("subnet_id"))
_HELD = Prepared(_HELD_QUERY)
# A port create checks up to CANDIDATES addresses: as that many fixed parameters the statement's
# text never changes (prepared.py), where an expanding IN is compiled again for every call.
_HELD_OF_FEW = Prepared(_HELD_QUERY.where(IPAllocation.ip_address.in_(
    [bindparam(f"c{i}") for i in range(CANDIDATES)])))
_HELD_OF = _HELD_QUERY.where(IPAllocation.ip_address.in_(bindparam("candidates", expanding=True)))


def _taken(session: Session, subnet_id: str, candidates: list[str] | None = None) -> set[str]:
    if candidates is None:
        return set(_HELD.scalars(session, {"subnet_id": subnet_id}))
    if not candidates:
        return set()
    if len(candidates) <= CANDIDATES:
        # Fewer candidates fill the parameters by repeating themselves: the same IN set.
        params = {f"c{i}": candidates[i % len(candidates)] for i in range(CANDIDATES)}
        return set(_HELD_OF_FEW.scalars(session, {"subnet_id": subnet_id, **params}))
    return set(store.connection(session).scalars(_HELD_OF, {"subnet_id": subnet_id, "candidates": candidates}))


def check_requested(session: Session, subnet: Subnet, ip: str, device_owner: str,
                    held: set[str] | frozenset[str] = frozenset()) -> None:
    """Refuse a requested ``ip`` in ``subnet`` unless a port may hold it now.

    BadRequest (InvalidIpForSubnet) outside the subnet, on a reserved address, on the gateway
    (unless the port is a router's interface there: a router's gateway port on an external
    subnet must not take the address of the upstream router the subnet routes through) or on
    an auto-address subnet (unless the port is a router's interface); Conflict
    (IpAddressAlreadyAllocated) when another port holds it, or ``held`` has it (addresses of
    ``subnet`` this transaction gave out and has not written yet: a bulk create).
    """
    net, addr = network_of(subnet), ipaddress.ip_address(ip)
    if addr.version != net.version or addr not in net or int(addr) in reserved(net):
        raise BadRequest(f"IP address {ip} is not a valid IP for the specified subnet.", "InvalidIpForSubnet",
                         "fixed_ips")
    if ip == subnet.gateway_ip and not device_owner.startswith("network:router_interface"):
        raise BadRequest(f"IP address {ip} is the gateway of subnet {subnet.id}.", "InvalidIpForSubnet",
                         "fixed_ips")
    if is_auto_address(subnet) and not device_owner.startswith("network:router_interface"):
        # A router's interface takes the subnet's gateway address there (Neutron exempts
        # ROUTER_INTERFACE_OWNERS from AllocationOnAutoAddressSubnet); hosts configure their own.
        raise BadRequest(f"IPv6 address {ip} cannot be directly assigned to a port on subnet {subnet.id} "
                         "as the subnet is configured for automatic addresses", "InvalidInput", "fixed_ips")
    if str(addr) in held or _taken(session, subnet.id, [str(addr)]):
        raise Conflict(f"IP address {ip} already allocated in subnet {subnet.id}", "IpAddressAlreadyAllocated",
                       "fixed_ips")


def _exhausted(subnet: Subnet) -> Conflict:
    return Conflict(f"No more IP addresses available on network {subnet.network_id}.",
                    "IpAddressGenerationFailure")


def _lowest_free(pools: list[Range], taken: set[str], version: int) -> str | None:
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    for first, last in pools:
        addr = first
        while addr <= last:
            text = str(make(addr))
            if text not in taken:
                return text
            addr += 1
    return None


def _ipv4_text(value: int) -> str:
    # Dotted quad without an IPv4Address object: the same text, at a fifth of the cost (a port
    # create formats CANDIDATES of them).
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def _ipv6_text(value: int) -> str:
    return str(ipaddress.IPv6Address(value))


def _random_free(session: Session, subnet: Subnet, pools: list[Range],
                 held: set[str] | frozenset[str]) -> str | None:
    text = _ipv4_text if subnet.ip_version == 4 else _ipv6_text
    sizes = [last - first + 1 for first, last in pools]
    for _ in range(RANDOM_ROUNDS):
        if len(pools) == 1:
            first, last = pools[0]
            drawn = {text(random.randrange(first, last + 1)) for _ in range(CANDIDATES)}
        else:
            picks = random.choices(range(len(pools)), weights=sizes, k=CANDIDATES)
            drawn = {text(random.randint(*pools[i])) for i in picks}
        candidates = sorted(drawn - held)
        taken = _taken(session, subnet.id, candidates)
        free = [c for c in candidates if c not in taken]
        if free:
            return free[0]
    return None


def is_large(subnet: Subnet) -> bool:
    """True when ``subnet``'s pools hold more than SMALL_POOL addresses (allocated at random)."""
    return sum(last - first + 1 for first, last in pools_of(subnet)) > SMALL_POOL


def random_free_many(session: Session, subnet: Subnet, count: int, held: set[str] | frozenset[str]) -> list[str]:
    """Up to ``count`` distinct free addresses drawn at random from a large ``subnet``'s pools
    (weighted by pool size), none in ``held``: one query per 500 candidates, where ``allocate``
    costs one per address. Fewer (even none) when the draw hits taken addresses; a bulk create
    then falls back to ``allocate``."""
    pools = pools_of(subnet)
    make = ipaddress.IPv4Address if subnet.ip_version == 4 else ipaddress.IPv6Address
    picks = random.choices(range(len(pools)), weights=[last - first + 1 for first, last in pools], k=count + CANDIDATES)
    candidates = sorted({str(make(random.randint(*pools[i]))) for i in picks} - held)
    taken: set[str] = set()
    for start in range(0, len(candidates), 500):
        taken |= _taken(session, subnet.id, candidates[start:start + 500])
    return [c for c in candidates if c not in taken][:count]


def allocate(session: Session, subnet: Subnet, held: set[str] | frozenset[str] = frozenset()) -> str:
    """A free address from ``subnet``'s pools; Conflict (IpAddressGenerationFailure) when there is none.

    ``held``: addresses of ``subnet`` this transaction gave out without flushing them yet (a
    bulk create), which the store cannot show."""
    pools = pools_of(subnet)
    if sum(last - first + 1 for first, last in pools) > SMALL_POOL:
        found = _random_free(session, subnet, pools, held)
        if found:
            return found
    found = _lowest_free(pools, _taken(session, subnet.id) | held, subnet.ip_version)
    if found is None:
        raise _exhausted(subnet)
    return found
