"""Read-only consistency checks of the model's IPAM, for ``ovnet check``.

The IPAM keeps no counters: an address is held by exactly one ``ipallocations`` row, and the
``uq_ipallocation_subnet_ip`` constraint plus the foreign keys (ports, subnets, ON DELETE CASCADE)
are what keep it honest. These checks look for what those guards cannot see or what a store edited
behind the API's back (a restore, a hand-made SQL fix, SQLite with foreign keys off) leaves:

- an allocation whose port or subnet no longer exists (a leaked address);
- an allocation on a subnet of another network than its port's;
- an address outside its subnet's CIDR, or on its network/broadcast address (ovnet.model.ipam.reserved);
- one address held twice in one network (by two rows of overlapping subnets, or twice in one subnet
  when the unique constraint is missing).

Each finding is a dict {"layer": "ipam", "objects": [ids], "problem": one line naming them}.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ovnet.model.ipam import reserved
from ovnet.model.schema import IPAllocation, Port, Subnet

LAYER = "ipam"


def finding(layer: str, objects: list[str], problem: str) -> dict:
    """One finding of ``ovnet check``: the layer compared, the ids involved, one line naming them."""
    return {"layer": layer, "objects": objects, "problem": problem}


def ipam_findings(session: Session) -> list[dict]:
    """Every IPAM inconsistency in the store (see the module docstring), sorted by problem text.
    Reads ``ipallocations``, ``ports`` and ``subnets`` in one session; writes nothing."""
    ports = dict(session.execute(select(Port.id, Port.network_id)).all())
    subnets = {s.id: s for s in session.scalars(select(Subnet))}
    out: list[dict] = []
    held: dict[tuple[str, str], list[str]] = defaultdict(list)  # (network, address) -> port ids
    for alloc in session.scalars(select(IPAllocation)):
        ip, port_id, subnet_id = alloc.ip_address, alloc.port_id, alloc.subnet_id
        subnet = subnets.get(subnet_id)
        if port_id not in ports:
            out.append(finding(LAYER, [port_id, subnet_id],
                               f"address {ip} (subnet {subnet_id}) is held by port {port_id}, which does not exist"))
            continue
        if subnet is None:
            out.append(finding(LAYER, [port_id, subnet_id],
                               f"port {port_id} holds {ip} in subnet {subnet_id}, which does not exist"))
            continue
        if subnet.network_id != ports[port_id]:
            out.append(finding(LAYER, [port_id, subnet_id],
                               f"port {port_id} (network {ports[port_id]}) holds {ip} in subnet {subnet_id} "
                               f"of network {subnet.network_id}"))
        net = ipaddress.ip_network(subnet.cidr, strict=False)
        addr = ipaddress.ip_address(ip)
        if addr.version != net.version or addr not in net or int(addr) in reserved(net):
            out.append(finding(LAYER, [port_id, subnet_id],
                               f"port {port_id} holds {ip}, not a usable address of subnet {subnet_id} ({subnet.cidr})"))
        held[(subnet.network_id, str(addr))].append(port_id)
    for (network_id, ip), holders in held.items():
        if len(holders) > 1:
            out.append(finding(LAYER, sorted(holders),
                               f"address {ip} is held {len(holders)} times in network {network_id}: "
                               f"ports {', '.join(sorted(holders))}"))
    return sorted(out, key=lambda f: f["problem"])


def port_bindings(session: Session) -> dict[str, str]:
    """{port id: binding host id ("" when unbound)} of every port in the store."""
    return dict(session.execute(select(Port.id, Port.binding_host_id)).all())
