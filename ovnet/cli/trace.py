"""``ovnet trace --from PORT|WORKLOAD|outside --to IP|PORT``: why can A (not) reach B, in the model's terms.

The endpoints are resolved through the API with the caller's token (a member finds and is told
about its own project's objects only); the packet is traced by OVN's own ovn-trace against SB
(``ovnet.ovn.trace``) and explained by ``ovnet.ovn.explain``. When the destination is a port, the
reply is traced too (as conntrack sees it: an established connection's reply), since a probe
needs both ways.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer

from ovnet.apiclient import ApiClient, ApiError, unreachable
from ovnet.config import Settings, load_settings
from ovnet.credentials import checked_option
from ovnet.cli import resolve
from ovnet.ovn import explain, routing, sb, trace
from ovnet.runtime import public

ROUTER_OWNERS = ("network:router_interface", "network:router_interface_distributed", "network:router_gateway")
CLIENT_PORT = 40000  # the source port of a traced TCP/UDP request
OUTSIDE_MAC = "02:00:00:00:00:01"  # an outside host's MAC: a localnet port checks none
SB_TIMEOUT_S = 30.0  # as long as ovn-trace's own read of SB may take (trace.run)
OUTSIDE = "outside"  # --from: the outside host (ovnet.runtime.public), unless a port has that name


class TraceError(Exception):
    """An endpoint cannot be resolved (unknown, ambiguous, no route); the message says which."""


class UnknownEndpoint(TraceError):
    """No port or workload has the name or id given (or the caller's token cannot see it)."""


@dataclass
class Endpoint:
    """A port (API dict) with the address used on it; ``port`` None for an outside address.
    ``local``: the port's own address when ``address`` is a floating IP that leads to it (DNAT),
    the address its replies leave from."""

    address: str
    port: dict | None
    local: str | None = None


def _show(api: ApiClient, collection: str, object_id: str) -> dict | None:
    try:
        body = api.request("GET", f"/v2.0/{collection}/{object_id}")
    except ApiError:
        return None
    return next(iter(body.values())) if body else None


def find_port(api: ApiClient, ref: str) -> dict:
    """The port ``ref`` names (ovnet.cli.resolve.find_port: a port's id or name, a VM, a Docker or
    Podman container); UnknownEndpoint if none, TraceError listing the candidates if several."""
    try:
        return resolve.find_port(api, ref)
    except resolve.NoMatch as exc:
        raise UnknownEndpoint(str(exc)) from None
    except resolve.Ambiguous as exc:
        raise TraceError("\n  ".join([str(exc), *exc.candidates])) from None


def _address_on(port: dict, version: int) -> str:
    for fixed in port["fixed_ips"]:
        if ipaddress.ip_address(fixed["ip_address"]).version == version:
            return fixed["ip_address"]
    raise TraceError(f"port {port['id']} has no IPv{version} address")


def find_destination(api: ApiClient, ref: str, source: dict) -> Endpoint:
    """``ref`` as an address (the port an associated floating IP of that address leads to, else
    the port holding it, preferably on the source's network, else an outside address: an
    unassociated floating IP too) or as a port. UnknownEndpoint when it is neither a valid IP
    address nor a port the caller can see."""
    try:
        address = str(ipaddress.ip_address(ref))
    except ValueError:
        try:
            port = find_port(api, ref)
        except UnknownEndpoint:
            # "999.1.1.1" was meant as an address: say why it is not one, not only that no port has that name
            raise UnknownEndpoint(f"{ref!r} is not a valid IP address, nor a port or workload this token "
                             "can see") from None
        version = ipaddress.ip_address(source["fixed_ips"][0]["ip_address"]).version if source["fixed_ips"] else 4
        return Endpoint(_address_on(port, version), port)
    fip = _floating_ip(api, address)
    if fip is not None:
        return Endpoint(address, find_port(api, fip["port_id"]), fip["fixed_ip_address"])
    # a floating IP's own port is no logical port: an unassociated one leads nowhere, like an outside address
    holders = [p for p in api.list_ports(fixed_ips=f"ip_address={address}")
               if p.get("device_owner") != routing.FLOATINGIP_OWNER]
    holders.sort(key=lambda p: p["network_id"] != source["network_id"])
    return Endpoint(address, holders[0] if holders else None)


def _floating_ip(api: ApiClient, address: str) -> dict | None:
    # the floating IP's own port on the external network is no logical port (OVN has a NAT rule)
    found = api.list("floatingips", floating_ip_address=address)
    return found[0] if found and found[0].get("port_id") else None


def _gateway_mac(api: ApiClient, network_id: str) -> str:
    for owner in ROUTER_OWNERS:
        found = api.list_ports(network_id=network_id, device_owner=owner)
        if found:
            return found[0]["mac_address"]
    raise TraceError(f"network {network_id} has no router, so nothing leaves it")


def _traced(sb_url: str, datapath: str, flow: str, datapaths: dict[str, str], first: str,
            committed: set[str]) -> trace.Trace:
    """ovn-trace of ``flow`` with every ct_next first in state ``first``, traced again until each
    lookup's state is the one trace.ct_states gives for ``committed`` (the request's zones, for
    a reply)."""
    states = [first] * trace.CT_LOOKUPS
    for _ in range(3):
        parsed = trace.parse(trace.run(sb_url, datapath, flow, states), datapaths)
        wanted = trace.ct_states(parsed, committed)
        if wanted == states[:len(wanted)]:
            break
        states = wanted
    return parsed


def _leg(api: ApiClient, sb_url: str, acls: list, datapaths: dict[str, str], bindings: dict[str, str],
         src: Endpoint, dst: Endpoint, proto: str, dport: int | None, request: tuple[trace.Trace, Endpoint,
         Endpoint] | None = None, eth_dst: str | None = None) -> tuple[trace.Trace, explain.Explanation]:
    """Trace one direction. A request (``request`` None) opens new connections everywhere; a
    reply, given ``request`` = (the request's trace, source, destination), finds an established
    connection in each zone where the request was committed and is new in the others. An answer
    coming back to the request's source through a router that SNATed the request is traced on
    from that router with the un-SNATed address (ovn-trace keeps no conntrack table to do so).
    ``eth_dst``: the frame's destination MAC (default: the destination port's on the same
    network, unless addressed by a floating IP; else the network's router); ``datapaths``: trace.datapath_names; ``bindings``:
    sb.port_bindings."""
    port = src.port
    # a floating IP (dst.local) is reached through the router even from its port's own network
    same_net = dst.port is not None and dst.local is None and dst.port["network_id"] == port["network_id"]
    eth_dst = eth_dst or (dst.port["mac_address"] if same_net else _gateway_mac(api, port["network_id"]))
    datapath = f"ovnet-{port['network_id']}"
    kind = "icmp-reply" if proto == "icmp" else proto
    if request is None:
        flow = trace.microflow(port["id"], port["mac_address"], eth_dst, src.address, dst.address, proto,
                               dport=dport, sport=CLIENT_PORT)
        parsed = _traced(sb_url, datapath, flow, datapaths, trace.CT_REQUEST, set())
        request, committed = (parsed, src, dst), set()
    else:
        committed = trace.committed_ports(request[0])
        flow = trace.microflow(port["id"], port["mac_address"], eth_dst, src.address, dst.address, kind,
                               dport=CLIENT_PORT, sport=dport or 0, tcp_flags="0x012")
        parsed = _traced(sb_url, datapath, flow, datapaths, trace.CT_REPLY, committed)
    # (for a request, the answer within its own trace: a router answering a ping to itself)
    asked, asker, target = request
    cut = trace.missed_unsnat(parsed, trace.source_after_snat(asked))
    if cut is not None and parsed.hops[cut[0]].datapath in trace.snat_routers(asked):
        start, mac = cut
        hop = parsed.hops[start]
        # the answer as the SNATing router turns it back: from the address the source asked, to the source
        flow = trace.microflow(hop.inport, OUTSIDE_MAC, mac, target.address, asker.address, kind,
                               dport=CLIENT_PORT, sport=dport or 0, tcp_flags="0x012")
        rest = _traced(sb_url, hop.datapath, flow, datapaths, trace.CT_REPLY,
                       committed | trace.committed_ports(parsed, start))
        parsed = trace.resumed(parsed, start, asker.address, rest)
    return parsed, explain.explain(parsed, acls, lambda c, i: _show(api, c, i), bindings,
                                   dst.port["id"] if dst.port else None)


def run_trace(api: ApiClient, settings: Settings, source_ref: str, dest_ref: str, proto: str = "icmp",
              dport: int | None = None, acls: list | None = None, reply_from: dict | None = None) -> dict[str, Any]:
    """The trace of a request from ``source_ref`` to ``dest_ref`` (and of its reply when the
    destination is a port) as a JSON-ready dict: {"verdict", "reason", "from", "to", "request",
    "reply"}. ``verdict`` is "delivered" only when every traced leg is. ``acls``: NB's ACL rows
    (trace.acl_rows; read here when None). ``reply_from``: the port (API dict) by which the
    destination's own routing sends the reply, when not the one the request reached (a workload
    with a NIC on the source's subnet answers from that NIC, with the reached address as the
    source). Raises TraceError."""
    source = find_port(api, source_ref)
    dst = find_destination(api, dest_ref, source)
    version = ipaddress.ip_address(dst.address).version
    src = Endpoint(_address_on(source, version), source)
    acls = trace.acl_rows(settings.nb_connection) if acls is None else acls
    datapaths = trace.datapath_names(settings.sb_connection)
    bindings = sb.port_bindings(settings.sb_connection, SB_TIMEOUT_S)
    traced, request = _leg(api, settings.sb_connection, acls, datapaths, bindings, src, dst, proto, dport)
    back = None
    # a router that answers itself (its own address) sends its answer back within the request's trace
    if request.verdict == "delivered" and dst.port is not None and traced.delivered_to != source["id"]:
        replier = Endpoint(dst.local or dst.address, reply_from or dst.port)
        # the reply goes to the source's address as the request's last SNAT left it: a router's
        snat = trace.source_after_snat(traced)
        seen = Endpoint(snat, None) if snat else src
        _, back = _leg(api, settings.sb_connection, acls, datapaths, bindings, replier, seen, proto, dport,
                       (traced, src, dst))
    return _verdict(request, back, {"port": source["id"], "address": src.address},
                    {"port": dst.port["id"] if dst.port else None, "address": dst.address}, proto, dport)


def run_trace_from_outside(api: ApiClient, settings: Settings, network_id: str, address: str, floating_ip: str,
                           proto: str = "icmp", dport: int | None = None, acls: list | None = None) -> dict[str, Any]:
    """As run_trace, for a packet from a host at ``address`` on external network ``network_id``
    (it enters through the network's localnet port, named by the network's id) to floating IP
    ``floating_ip``, sent to the MAC of the gateway port of the floating IP's router (that port
    answers ARP for it); the reply is traced from the port the floating IP leads to. Raises
    TraceError when no floating IP has that address or it is not associated."""
    fip = _floating_ip(api, floating_ip)
    if fip is None:
        raise TraceError(f"no associated floating IP {floating_ip}")
    gateways = api.list_ports(device_id=fip["router_id"], device_owner="network:router_gateway")
    if not gateways:
        raise TraceError(f"router {fip['router_id']} of floating IP {floating_ip} has no gateway")
    inner = find_port(api, fip["port_id"])
    outside = Endpoint(address, {"id": network_id, "mac_address": OUTSIDE_MAC, "network_id": network_id})
    acls = trace.acl_rows(settings.nb_connection) if acls is None else acls
    datapaths = trace.datapath_names(settings.sb_connection)
    bindings = sb.port_bindings(settings.sb_connection, SB_TIMEOUT_S)
    target = Endpoint(floating_ip, inner, fip["fixed_ip_address"])
    traced, request = _leg(api, settings.sb_connection, acls, datapaths, bindings, outside, target, proto, dport,
                           eth_dst=gateways[0]["mac_address"])
    back = None
    if request.verdict == "delivered":
        _, back = _leg(api, settings.sb_connection, acls, datapaths, bindings, Endpoint(target.local, inner),
                       Endpoint(address, None), proto, dport, (traced, outside, target))
    return _verdict(request, back, {"port": None, "address": address},
                    {"port": inner["id"], "address": floating_ip}, proto, dport)


def _verdict(request: explain.Explanation, back: explain.Explanation | None, source: dict, dest: dict,
             proto: str, dport: int | None) -> dict[str, Any]:
    if request.verdict != "delivered":
        verdict, reason = "dropped", request.reason
    elif back is not None and back.verdict != "delivered":
        verdict, reason = "dropped", f"the reply: {back.reason}"
    else:
        verdict, reason = "delivered", request.reason
    return {"verdict": verdict, "reason": reason, "from": source, "to": dest,
            "proto": proto, "dport": dport, "request": request.as_dict(), "reply": back.as_dict() if back else None}


def outside_network(api: ApiClient, address: str) -> str:
    """The id of the external network whose subnet holds the outside host's ``address``; TraceError
    when the caller sees none."""
    for net in api.list_networks(**{"router:external": "true"}):
        if any(ipaddress.ip_address(address) in ipaddress.ip_network(s["cidr"])
               for s in api.list_subnets(network_id=net["id"])):
            return net["id"]
    raise TraceError(f"no external network has a subnet holding the outside host's address {address}")


def run_cli_trace(api: ApiClient, settings: Settings, source_ref: str, dest_ref: str, proto: str,
                  dport: int | None) -> dict[str, Any]:
    """``ovnet trace``: run_trace, or, for ``--from outside`` when no port or workload has that
    name, run_trace_from_outside from the outside host (ovnet.runtime.public) to the floating IP
    ``dest_ref``. Raises TraceError."""
    if source_ref == OUTSIDE:
        try:
            find_port(api, source_ref)
        except UnknownEndpoint:
            try:
                ipaddress.ip_address(dest_ref)
            except ValueError:
                raise TraceError(f"--from {OUTSIDE} needs --to a floating IP address, not {dest_ref!r}") from None
            address, _ = public.outside_address(settings)
            return run_trace_from_outside(api, settings, outside_network(api, address), address, dest_ref,
                                          proto, dport)
    return run_trace(api, settings, source_ref, dest_ref, proto, dport)


def trace_command(
    source: str = typer.Option(..., "--from", help="Port id or name, a workload (device_id, a VM's name), a "
                               "Docker or Podman container (name, id or unique id prefix), or 'outside': the "
                               "outside host on the public network (then --to is a floating IP)."),
    dest: str = typer.Option(..., "--to", help="An IP address, or a port or workload as --from takes it."),
    proto: str = typer.Option("icmp", "--proto", help="icmp, tcp or udp."),
    dport: int = typer.Option(None, "--dport", min=0, max=65535, help="Destination port for tcp/udp (0-65535)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    token: str = typer.Option(None, "--token", envvar="OS_TOKEN", callback=checked_option,
                             help="API token (default: the admin token)."),
    state_dir: Path = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR",
                                   help="State directory (default /var/lib/ovnet)."),
) -> None:
    """Why can A (not) reach B: OVN's ovn-trace of the packet, told in ovnet's terms. Exit 0 when
    delivered, 1 when dropped, 2 on bad input.

    Example: ovnet trace --from A-vm1 --to 192.168.5.9 --proto tcp --dport 7
    """
    if proto not in ("icmp", "tcp", "udp"):
        typer.echo("error: --proto is icmp, tcp or udp", err=True)
        raise typer.Exit(2)
    if proto != "icmp" and dport is None:
        typer.echo(f"error: --proto {proto} needs --dport", err=True)
        raise typer.Exit(2)
    if proto == "icmp" and dport is not None:
        typer.echo("error: --dport needs --proto tcp or udp (ICMP has no ports)", err=True)
        raise typer.Exit(2)
    settings = load_settings(state_dir)
    try:
        secret = token or settings.admin_token_file.read_text().strip()
    except OSError:
        typer.echo(f"error: no admin token at {settings.admin_token_file}: give --token or OS_TOKEN, "
                   f"or run `ovnet up` first", err=True)
        raise typer.Exit(2) from None
    try:
        with ApiClient(settings.api_endpoints, secret) as api:
            result = run_cli_trace(api, settings, source, dest, proto, dport)
    except (TraceError, ApiError, RuntimeError, subprocess.CalledProcessError, sb.SbUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except httpx.TransportError as exc:
        typer.echo(f"error: {unreachable(settings.api_endpoints, exc)}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        for leg in ("request", "reply"):
            if result[leg]:
                typer.echo(f"{leg}:")
                for step in result[leg]["steps"]:
                    typer.echo(f"  - {step['text']}")
        typer.echo(f"verdict: {result['verdict']} — {result['reason']}")
    raise typer.Exit(0 if result["verdict"] == "delivered" else 1)
