"""``ovnet demo``'s second opinion: ``ovnet trace`` (OVN's ovn-trace, told in ovnet's terms) run
for every cell of the measured matrix, its verdict set beside the real probe's (reach.Traced).

A cell is "seen" by its TCP echo query, so the trace is of a TCP SYN to the echo port and of its
SYN-ACK. Each workload cell is traced with its source project's token (a member resolves
addresses among its own ports only, as its packets do); the outside host's, with the admin's from
the public network's localnet port. Trace predicts "seen" when it delivers the packet to a port
of the destination workload (for the outside host: out of the public network's localnet port,
with the source address its last SNAT gave). The workloads' own routing is not OVN's to trace:
a cell whose source NIC has no route sends nothing (seed.can_send), and a reply that the
destination sends by another NIC (seed.reply_nic) is traced from that NIC's port.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from ovnet.apiclient import ApiClient
from ovnet.cli.trace import TraceError, find_port, run_trace, run_trace_from_outside
from ovnet.config import Settings
from ovnet.ovn import trace
from ovnet.testbed import seed
from ovnet.testbed.reach import Cell, Traced
from ovnet.testbed.workload import ECHO_PORT

WORKERS = 4  # ovn-trace processes at once


def judge(settings: Settings, tokens: dict[str, str], world: seed.World, nic_ports: dict[str, str],
          public_network: str, cells: list[Cell]) -> list[Cell]:
    """``cells`` with ``traced`` set. ``tokens``: a member token by project; ``nic_ports``: port id
    by "workload/ifname"; ``public_network``: the external network's id (its localnet port's
    name). Raises RuntimeError when ovn-trace fails, ApiError from the API."""
    acls = trace.acl_rows(settings.nb_connection)
    owners = {port_id: key.partition("/")[0] for key, port_id in nic_ports.items()}
    admin = settings.admin_token_file.read_text().strip()

    def one(cell: Cell) -> Cell:
        src, dst = cell.src, cell.dst
        if src != world.outside and not seed.can_send(src, dst.address):
            return replace(cell, traced=Traced(False, None, "", f"not sent: {src.workload} has no route from "
                                                                f"{src.ifname} to {dst.address}"))
        with ApiClient(settings.api_endpoints, admin if src == world.outside else tokens[src.project]) as api:
            try:
                result = _trace(api, settings, cell, world, nic_ports, public_network, acls)
            except TraceError as exc:
                return replace(cell, traced=Traced(False, None, "", f"not traced: {exc}"))
        return replace(cell, traced=_prediction(result, dst, world, owners, public_network))

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, cells))


def _trace(api: ApiClient, settings: Settings, cell: Cell, world: seed.World, nic_ports: dict[str, str],
           public_network: str, acls: list) -> dict:
    src, dst = cell.src, cell.dst
    if src == world.outside:
        return run_trace_from_outside(api, settings, public_network, src.address, dst.address, "tcp", ECHO_PORT, acls)
    reply_from = None
    if dst != world.outside and dst.project == src.project:
        back = seed.reply_nic(dst.workload, src.address)
        if back != dst:
            reply_from = find_port(api, nic_ports[f"{back.workload}/{back.ifname}"])
    return run_trace(api, settings, nic_ports[f"{src.workload}/{src.ifname}"], dst.address, "tcp", ECHO_PORT,
                     acls, reply_from)


def _prediction(result: dict, dst: seed.Nic, world: seed.World, owners: dict[str, str],
                public_network: str) -> Traced:
    steps = result["request"]["steps"]
    reached = next((s["ids"].get("port") for s in reversed(steps) if s["kind"] == "delivered"), None)
    snat = [s["ids"]["address"] for s in steps if s["kind"] == "nat" and s["text"].startswith("SNAT")]
    delivered = result["verdict"] == "delivered"
    if dst == world.outside:
        seen = delivered and reached == public_network
    else:
        seen = delivered and owners.get(reached or "") == dst.workload
    where = "" if seen or not delivered else f" (to {owners.get(reached or '', reached)}, not {dst.workload})"
    return Traced(seen, snat[-1] if snat else None, result["verdict"], result["reason"] + where)
