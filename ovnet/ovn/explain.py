"""An ovn-trace in the model's terms: switch and router hops, the security group rule that allowed
the packet or the groups none of whose rules did, port security drops, NAT, routes, the verdict.

Pure: it takes a parsed ``trace.Trace``, the NB ACL rows its hops came from and a ``lookup`` that
returns an object as the caller's API token shows it (None when the caller may not see it, so a
member's explanation never names another project's objects).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ovnet.ovn.trace import Hop, Trace, acl_hits, nat_actions

# lookup(collection, id) -> the object as the API shows it to the caller, or None.
Lookup = Callable[[str, str], Mapping[str, Any] | None]
PORT_SECURITY_STAGES = ("ls_in_check_port_sec", "ls_in_apply_port_sec", "ls_out_check_port_sec",
                        "ls_out_apply_port_sec", "ls_in_port_sec_l2", "ls_in_port_sec_ip", "ls_out_port_sec_ip",
                        "ls_out_port_sec_l2")
ROUTE_STAGES = ("lr_in_ip_routing",)
ANSWER_STAGE = "lr_in_ip_input"  # where a router turns a ping to its own address into the echo reply
UNSEEN = "(not visible to this project)"


@dataclass
class Step:
    """One fact of the explanation: ``kind`` is switch, router, allowed, no_rule, port_security,
    port_down, nat, route, answered (a router replies to a packet for its own address), delivered,
    unbound (output to a port no host has) or dropped; ``text``
    says it in words; ``ids`` the objects it names."""

    kind: str
    text: str
    ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Explanation:
    """``verdict`` "delivered" or "dropped", ``reason`` the decisive step's text, ``steps`` in order."""

    verdict: str
    reason: str
    steps: list[Step]

    def as_dict(self) -> dict:
        return asdict(self)


def _name(obj: Mapping[str, Any] | None, fallback_id: str) -> str:
    if obj is None:
        return UNSEEN
    return f"{obj.get('name') or '-'} ({fallback_id})"


def _object_id(datapath: str) -> str:
    return datapath.removeprefix("ovnet-")


def rule_text(rule: Mapping[str, Any] | None) -> str:
    """A rule in words: "ingress IPv4 tcp 22 from 10.0.0.0/8", "egress IPv6 any to group web"."""
    if rule is None:
        return "a rule"
    proto = rule.get("protocol") or "any"
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    ports = ""
    if low is not None and proto in ("icmp", "icmpv6", "ipv6-icmp", "1", "58"):
        ports = f" type {low}" + (f" code {high}" if high is not None else "")
    elif low is not None:
        ports = f" {low}" if low == high else f" {low}-{high}"
    peer = rule.get("remote_ip_prefix") or (f"group {rule['remote_group_id']}" if rule.get("remote_group_id")
                                            else "anywhere")
    side = "from" if rule["direction"] == "ingress" else "to"
    return f"{rule['direction']} {rule['ethertype']} {proto}{ports} {side} {peer}"


def _port_of(hop: Hop) -> str:
    # A from-lport ACL (ingress pipeline) judges the sending port, a to-lport one the receiver.
    return hop.inport if hop.pipeline == "ingress" else hop.outport


def _acl_step(hop: Hop, acl: Mapping[str, Any], lookup: Lookup) -> Step:
    ids = acl["external_ids"]
    port_id = _port_of(hop)
    if ids.get("ovnet:type") == "port_security_drop":
        port = lookup("ports", port_id)
        if port is None:
            return Step("no_rule", f"no security group rule of port {UNSEEN} allows it", {"port": port_id})
        groups = [_name(lookup("security-groups", g), g) for g in port.get("security_groups") or []]
        where = "leaving" if hop.pipeline == "ingress" else "entering"
        text = (f"no rule of the security groups of port {_name(port, port_id)} ({', '.join(groups) or 'none'}) "
                f"allows it {where} the port")
        return Step("no_rule", text, {"port": port_id})
    group_id, rule_id = ids.get("ovnet:security_group", ""), ids.get("ovnet:rule", "")
    group = lookup("security-groups", group_id)
    if group is None:
        return Step("allowed", f"allowed by a security group {UNSEEN}", {"port": port_id})
    rule = next((r for r in group.get("security_group_rules") or [] if r["id"] == rule_id), None)
    if rule and rule.get("remote_group_id"):
        remote = lookup("security-groups", rule["remote_group_id"])
        rule = {**rule, "remote_group_id": (remote or {}).get("name") or rule["remote_group_id"]}
    action = "statelessly " if acl.get("action") == "allow-stateless" else ""
    return Step("allowed", f"{action}allowed by security group {_name(group, group_id)} rule {rule_id}: "
                f"{rule_text(rule)}", {"security_group": group_id, "rule": rule_id, "port": port_id})


def _delivered(port_name: str, lookup: Lookup, bindings: Mapping[str, str]) -> Step:
    net = lookup("networks", port_name)
    if net is not None:
        # A provider network's localnet port is named by the network's id (routing.localnet_port)
        # and is no Neutron port: the packet leaves OVN onto the physical network (the outside).
        physnet = net.get("provider:physical_network")  # shown to admins only (Neutron policy)
        onto = f" onto physical network {physnet}" if physnet else ""
        return Step("delivered", f"leaves through the localnet port of network {_name(net, port_name)}{onto}",
                    {"port": port_name, "network": port_name})
    port = lookup("ports", port_name)
    if not bindings.get(port_name):
        # OVN outputs to a port no chassis has claimed, but no host has its interface: nothing gets it
        return Step("unbound", f"output to port {_name(port, port_name)}, which is not bound to any host, so "
                    "nothing receives it", {"port": port_name})
    # binding:host_id is admin-only (Neutron policy): a member is told the port is bound, not where
    host = (port or {}).get("binding:host_id") or "its host"
    return Step("delivered", f"delivered to port {_name(port, port_name)} on {host}", {"port": port_name})


def _drop_step(trace: Trace, lookup: Lookup, to_port: str | None) -> Step:
    """The decisive step of a packet dropped outside ACLs, in ovnet's terms where known."""
    hop = trace.dropped_at
    if hop is None:
        return Step("dropped", "dropped at the first flow")
    sender = trace.hops[0].inport
    if to_port is not None and to_port == sender:
        return Step("dropped", f"the destination is the sending port {_name(lookup('ports', sender), sender)} "
                    "itself: a switch never sends a packet back out of the port it came in on", {"port": sender})
    # admin_state_up false is the LSP's enabled=false: OVN drops what it sends in port security and
    # what is sent to it in the L2 lookup, which knows no disabled port's MAC
    checked = [_port_of(hop)] if hop.stage in PORT_SECURITY_STAGES else []
    for port_id in [p for p in (*checked, to_port) if p]:
        port = lookup("ports", port_id)
        if port is not None and port.get("admin_state_up") is False:
            return Step("port_down", f"port {_name(port, port_id)} is administratively down (admin_state_up "
                        "false), so nothing passes through it", {"port": port_id})
    if checked:
        return Step("port_security", f"port security of port {_name(lookup('ports', checked[0]), checked[0])}: the "
                    "packet's addresses are neither the port's own nor an allowed address pair", {"port": checked[0]})
    if hop.stage == ANSWER_STAGE and hop.match.startswith(("ip4.dst == {", "ip6.dst == {")):
        # northd's catch-all for a router's own addresses, below the flows answering pings (and ARP/ND)
        oid = _object_id(hop.datapath)
        return Step("dropped", f"the destination is an address of router {_name(lookup('routers', oid), oid)}, "
                    "which answers pings to it and drops anything else", {"router": oid})
    if hop.stage in ROUTE_STAGES:
        oid = _object_id(hop.datapath)
        return Step("dropped", f"router {_name(lookup('routers', oid), oid)} has no route for it (broadcast and "
                    "multicast addresses are never routed)", {"router": oid})
    return Step("dropped", f"dropped at {hop.stage} of {hop.datapath}")


def explain(trace: Trace, acls: list[Mapping[str, Any]], lookup: Lookup, bindings: Mapping[str, str],
            to_port: str | None = None) -> Explanation:
    """The explanation of ``trace`` (see the module docstring). ``bindings``: SB's Port_Binding
    claims, {logical port: chassis name, "" when none} (ovnet.ovn.sb.port_bindings); a packet
    output to a port no chassis claimed reaches nobody, so its verdict is "dropped". ``to_port``:
    the id of the port the packet is addressed to (None for an outside address)."""
    steps: list[Step] = []
    by_hop = {id(hop): acl for hop, acl in acl_hits(trace, acls)}
    nats = {id(hop): (action, addr) for hop, action, addr in nat_actions(trace)}
    seen_dp = ""
    for hop in trace.hops:
        if hop.pipeline == "ingress" and hop.datapath != seen_dp:
            seen_dp = hop.datapath
            oid = _object_id(hop.datapath)
            net = lookup("networks", oid)
            if net is not None:
                steps.append(Step("switch", f"switch of network {_name(net, oid)}", {"network": oid}))
            else:
                router = lookup("routers", oid)
                kind = "router" if router is not None or hop.stage.startswith("lr_") else "switch"
                steps.append(Step(kind, f"{kind} {_name(router, oid) if router else UNSEEN}", {kind: oid}))
        if id(hop) in by_hop:
            acl = by_hop[id(hop)]
            if acl.get("action", "").startswith("allow") or acl["external_ids"].get("ovnet:type") == \
                    "port_security_drop":
                steps.append(_acl_step(hop, acl, lookup))
        if id(hop) in nats:
            action, addr = nats[id(hop)]
            word = {"ct_unsnat": "un-SNAT"}.get(action, "SNAT" if "snat" in action else "DNAT")
            steps.append(Step("nat", f"{word} to {addr}", {"address": addr}))
        if hop.stage in ROUTE_STAGES and hop is not trace.dropped_at:
            steps.append(Step("route", f"route {hop.match}"))
        if hop.stage == ANSWER_STAGE and any("<->" in a for a in hop.actions):  # ip4.dst <-> ip4.src
            oid = _object_id(hop.datapath)
            steps.append(Step("answered", f"router {_name(lookup('routers', oid), oid)} answers it itself (the "
                              "address is its own); the answer goes back to the sender", {"router": oid}))
    if trace.delivered:
        steps.append(_delivered(trace.delivered_to, lookup, bindings))
        if steps[-1].kind == "unbound":
            return Explanation("dropped", steps[-1].text, steps)
        decisive = [s for s in steps if s.kind == "answered"] or [s for s in steps if s.kind == "allowed"]
        return Explanation("delivered", decisive[-1].text if decisive else steps[-1].text, steps)
    hop = trace.dropped_at
    if not (hop is not None and id(hop) in by_hop and steps and steps[-1].kind == "no_rule"):
        steps.append(_drop_step(trace, lookup, to_port))  # else the decisive no_rule step is already last
    return Explanation("dropped", steps[-1].text, steps)
