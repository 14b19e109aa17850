"""What OVN does with one packet, from OVN's own ``ovn-trace`` (ovn-trace(8)) on the logical pipeline.

``ovn-trace --detailed`` prints every logical flow a packet hits, one hop per line::

     8. ls_in_acl (northd.c:6470): reg0[8] == 1 && (inport == @pg_a && ip4), priority 2002, uuid 3247b589
        next;

under a header per pipeline (``ingress(dp="ovnet-<id>", inport="<port>")``). This module builds the
microflow, runs ovn-trace, parses the hops and maps the ACL hops back to the NB ACL rows that made
them (by their match, which northd copies into the flow inside ``&& (...)``), whose
``external_ids`` name ovnet's security group and rule. No pipeline is re-implemented here: the
verdict is the last action ovn-trace reports (``output`` to a port, or ``drop``). What ovn-trace
cannot know, it is told: the conntrack state of each lookup (``--ct``, from the zones the
connection was committed in: ct_states), and, having no conntrack table, where an answer is
un-SNATed (missed_unsnat): the trace is run again from that router with the restored address
and joined (resumed).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

HEADER_RE = re.compile(r'^(ingress|egress)\(dp="([^"]*)"(?:, inport="([^"]*)")?(?:, outport="([^"]*)")?\)')
HOP_RE = re.compile(r"^\s*(\d+)\. (\w+) \([^)]*\): (.*), priority (\d+), uuid ([0-9a-f]+)$")
OUTPUT_RE = re.compile(r'/\* output to "([^"]*)"')
NAT_RE = re.compile(r"(ct_(?:s|d|uns)nat(?:_in_czone)?)\(([^)]*)\)")
ADMISSION_MAC_RE = re.compile(r"eth\.dst == ([0-9a-f:]{17}) && inport == \"([^\"]*)\"")
# ovn-trace keeps no conntrack table: a reply's un-SNAT (ct_snat with no address) is assumed away
UNSNAT_MISSED = "assuming no un-snat entry"
ACL_STAGES = ("ls_in_acl", "ls_out_acl", "ls_in_acl_eval", "ls_out_acl_eval")
# Connection-tracking states handed to each ct_next of a trace (ovn-trace --ct): a request opens a
# new connection at every conntrack zone it crosses; a reply belongs to an established one.
CT_REQUEST = "new"
CT_REPLY = "est,rpl"
CT_LOOKUPS = 8  # enough for switch -> router -> switch in both pipelines


@dataclass
class Hop:
    """One logical flow a packet hit: the pipeline (``ingress``/``egress``) of datapath ``datapath``,
    the table number and stage name, the flow's match and priority, and its actions."""

    pipeline: str
    datapath: str
    inport: str
    outport: str
    table: int
    stage: str
    match: str
    priority: int
    actions: list[str] = field(default_factory=list)


@dataclass
class Trace:
    """A parsed trace: ``hops`` in order; ``delivered_to`` the logical port it was output to
    (None when dropped); ``dropped_at`` the hop whose action dropped it; ``ct_lookups`` the
    logical port whose conntrack zone each ct_next looked in, in order (a pipeline's zone is its
    inport's on ingress, its outport's on egress); ``ct_after`` how many hops came before each."""

    hops: list[Hop]
    delivered_to: str | None
    dropped_at: Hop | None
    ct_lookups: list[str] = field(default_factory=list)
    ct_after: list[int] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return self.delivered_to is not None


def microflow(inport: str, eth_src: str, eth_dst: str, ip_src: str, ip_dst: str, proto: str = "icmp",
              dport: int | None = None, sport: int = 40000, tcp_flags: str = "0x002") -> str:
    """An ovn-trace microflow (ovn-sb(5) match syntax) of one packet from logical port ``inport``.

    ``proto``: "icmp" (an echo request), "icmp-reply" (its reply), "tcp" or "udp" with
    ``dport``/``sport``; ``tcp_flags`` a SYN by default ("0x012" for the SYN-ACK of a reply).
    IPv6 addresses give ip6/icmp6.
    """
    v6 = ":" in ip_src
    family = "ip6" if v6 else "ip4"
    parts = [f'inport == "{inport}"', f"eth.src == {eth_src}", f"eth.dst == {eth_dst}",
             f"{family}.src == {ip_src}", f"{family}.dst == {ip_dst}", "ip.ttl == 64"]
    if proto in ("icmp", "icmp-reply"):
        icmp = "icmp6" if v6 else "icmp4"
        types = {"icmp": 128 if v6 else 8, "icmp-reply": 129 if v6 else 0}  # echo request / reply
        parts += [icmp, f"{icmp}.type == {types[proto]}"]
    else:
        parts += [proto, f"{proto}.src == {sport}", f"{proto}.dst == {dport or 0}"]
        if proto == "tcp":
            parts.append(f"tcp.flags == {tcp_flags}")
    return " && ".join(parts)


def run(sb_url: str, datapath: str, flow: str, ct: str | list[str] = CT_REQUEST, timeout: float = 30.0) -> str:
    """``ovn-trace --detailed`` of ``flow`` entering ``datapath`` (a Logical_Switch name) against SB
    ``sb_url``; the text it prints. ``ct``: the conntrack state each ct_next sees, one for all or
    a list in ct_next order (ovn-trace --ct). Names are printed in full (--no-friendly-names
    would otherwise shorten UUID-like port names to 6 digits). Raises RuntimeError with
    ovn-trace's message when it fails."""
    states = [ct] * CT_LOOKUPS if isinstance(ct, str) else list(ct) or [CT_REQUEST]
    argv = ["ovn-trace", f"--db={sb_url}", "--detailed", "--no-friendly-names", *[f"--ct={c}" for c in states],
            datapath, flow]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"ovn-trace failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def datapath_names(sb_url: str, timeout: float = 30.0) -> dict[str, str]:
    """{UUID: name} of every SB Datapath_Binding: --no-friendly-names makes ovn-trace print a
    datapath as a UUID, not as the NB name (``ovnet-<id>``) that ovn-northd copies into its
    ``external_ids:name``. Both the binding's own UUID and its NB row's
    (``external_ids:logical-switch`` / ``logical-router``, ovn-sb(5)) map to the name. Raises
    CalledProcessError when ovn-sbctl fails."""
    argv = ["ovn-sbctl", f"--db={sb_url}", "--no-leader-only", "--format=json", "--columns=_uuid,external_ids",
            "list", "Datapath_Binding"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)
    names = {}
    for uuid, ids in json.loads(done.stdout)["data"]:
        ids = dict(ids[1])
        if ids.get("name"):
            for key in (uuid[1], ids.get("logical-switch"), ids.get("logical-router")):
                if key:
                    names[key] = ids["name"]
    return names


def parse(text: str, datapaths: Mapping[str, str] | None = None) -> Trace:
    """The hops of ``ovn-trace --detailed`` output and its verdict. ``datapaths``: the name of each
    datapath UUID (datapath_names), so each hop's ``datapath`` is the NB name; unknown ones stay."""
    datapaths = datapaths or {}
    hops: list[Hop] = []
    lookups: list[str] = []
    after: list[int] = []
    pipeline = datapath = inport = outport = ""
    for line in text.splitlines():
        # a multicast output (e.g. _MC_unknown to a localnet port) prints its egress pipelines indented
        header = HEADER_RE.match(line.lstrip())
        if header:
            pipeline, datapath = header.group(1), datapaths.get(header.group(2), header.group(2))
            inport, outport = header.group(3) or "", header.group(4) or ""
            continue
        hop = HOP_RE.match(line)
        if hop:
            hops.append(Hop(pipeline, datapath, inport, outport, int(hop.group(1)), hop.group(2), hop.group(3),
                            int(hop.group(4))))
            continue
        stripped = line.strip()
        if stripped.startswith("ct_next(ct_state="):
            lookups.append(inport if pipeline == "ingress" else outport)
            after.append(len(hops))
        elif hops and stripped and not stripped.startswith(("#", "---")):
            hops[-1].actions.append(stripped)
    # The packet ends where the last flow left it: output to a port at the end of an egress
    # pipeline, or anything else (a drop, a ct_commit that blocks it) at that flow.
    last = hops[-1] if hops else None
    outputs = [m.group(1) for a in (last.actions if last else []) for m in [OUTPUT_RE.search(a)] if m]
    if last is not None and last.pipeline == "egress" and outputs:
        return Trace(hops, outputs[-1], None, lookups, after)
    return Trace(hops, None, last, lookups, after)


def committed_ports(trace: Trace, hops: int | None = None) -> set[str]:
    """The logical ports in whose conntrack zone the traced packet was committed as allowed
    (``ct_commit`` without ``ct_mark.blocked = 1``) by its first ``hops`` hops (all by default):
    a reply finds its connection there."""
    out = set()
    for hop in trace.hops[:hops]:
        if any("ct_commit" in a and "blocked = 1" not in a for a in hop.actions):
            out.add(hop.inport if hop.pipeline == "ingress" else hop.outport)
    return out


def ct_states(trace: Trace, committed: set[str] = frozenset()) -> list[str]:
    """The conntrack state each ct_next of ``trace`` should have seen: established (as a reply) in
    the zones of ``committed`` (where the request of a traced reply was committed) and in those an
    earlier hop of this same trace committed to (a router that answers a request itself sends the
    answer back through the sender's zone, where conntrack knows the connection); new elsewhere."""
    return [CT_REPLY if port in committed or port in committed_ports(trace, after) else CT_REQUEST
            for port, after in zip(trace.ct_lookups, trace.ct_after)]


def missed_unsnat(trace: Trace, snat_address: str | None = None) -> tuple[int, str] | None:
    """Where ovn-trace assumed a router's un-SNAT away (it has no conntrack table, so the answer to
    a connection the router SNATed keeps the router's own address as its destination): an
    lr_in_unsnat flow that found no entry, or, within one router (a floating IP behind the router
    that SNATed the request), the egress loop that sends a packet for ``snat_address`` back into
    the router. Returns the index of the first hop of the router pipeline the packet then
    entered (its lr_in_admission flow for the port) and the MAC it entered with; None when no hop
    did."""
    for i, hop in enumerate(trace.hops):
        if hop.stage == "lr_in_unsnat" and any(UNSNAT_MISSED in a for a in hop.actions):
            port, before = hop.inport, trace.hops[:i]
        elif (snat_address and hop.stage == "lr_out_egr_loop" and i + 1 < len(trace.hops)
              and re.match(rf"ip[46]\.dst == {re.escape(snat_address)} ", hop.match)):
            port, before = hop.outport, trace.hops[:i + 2]
        else:
            continue
        entries = [(j, m.group(1)) for j, h in enumerate(before) if h.stage == "lr_in_admission"
                   and h.datapath == hop.datapath for m in [ADMISSION_MAC_RE.search(h.match)] if m and m.group(2) == port]
        if entries:
            return entries[-1]
    return None


def resumed(first: Trace, start: int, address: str, rest: Trace) -> Trace:
    """``first``'s hops before ``start`` (missed_unsnat) then ``rest``: the trace of the same packet
    resumed at that router after the un-SNAT of its destination to ``address``, recorded as a
    ``ct_unsnat(address)`` action on rest's first hop (nat_actions reports it)."""
    hops = list(rest.hops)
    if hops:
        hops[0] = replace(hops[0], actions=[f"ct_unsnat({address})", *hops[0].actions])
    before = [(port, after) for port, after in zip(first.ct_lookups, first.ct_after) if after <= start]
    lookups = before + [(port, start + after) for port, after in zip(rest.ct_lookups, rest.ct_after)]
    return Trace(first.hops[:start] + hops, rest.delivered_to, rest.dropped_at, [p for p, _ in lookups],
                 [a for _, a in lookups])


def acl_matches(hop: Hop) -> list[str]:
    """The ACL matches an ACL-stage flow may carry: a stateful ACL's flow is ``<ct test> && (<match>)``,
    a stateless one's is the ACL's match as it is; [] for other stages."""
    if hop.stage not in ACL_STAGES:
        return []
    out = [hop.match]
    if hop.match.endswith(")"):
        depth = 0
        for i in range(len(hop.match) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(hop.match[i], 0)
            if depth == 0:
                out.insert(0, hop.match[i + 1:-1])
                break
    return out


def acl_rows(nb_url: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The ACL rows of NB as [{"_uuid", "direction", "match", "action", "external_ids"}]."""
    argv = ["ovn-nbctl", f"--db={nb_url}", "--no-leader-only", "--format=json",
            "--columns=_uuid,direction,match,action,external_ids", "list", "ACL"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)
    table = json.loads(done.stdout)
    out = []
    for values in table["data"]:
        row = dict(zip(table["headings"], values))
        row["_uuid"] = row["_uuid"][1]
        row["external_ids"] = dict(row["external_ids"][1])
        out.append(row)
    return out


def acl_hits(trace: Trace, acls: Iterable[Mapping[str, Any]]) -> list[tuple[Hop, Mapping[str, Any]]]:
    """The ACL-stage hops of ``trace`` with the NB ACL row each came from (by direction and match)."""
    by_match = {("ingress" if a["direction"] == "from-lport" else "egress", a["match"]): a for a in acls}
    hits = []
    for hop in trace.hops:
        found = next((by_match[(hop.pipeline, m)] for m in acl_matches(hop) if (hop.pipeline, m) in by_match), None)
        if found is not None:
            hits.append((hop, found))
    return hits


def snat_routers(trace: Trace) -> set[str]:
    """The datapaths (router names) whose hops SNATed the traced packet."""
    return {hop.datapath for hop, action, _ in nat_actions(trace) if action.startswith("ct_snat")}


def source_after_snat(trace: Trace) -> str | None:
    """The packet's source address as its last SNAT left it (None when no hop SNATed it): where a
    reply is sent."""
    snats = [address for _, action, address in nat_actions(trace) if action.startswith("ct_snat")]
    return snats[-1] if snats else None


def nat_actions(trace: Trace) -> list[tuple[Hop, str, str]]:
    """Every NAT a hop applied: (hop, "ct_snat" | "ct_dnat" | ..., address); "ct_unsnat" is the
    un-SNAT ``resumed`` recorded."""
    # an action reads ct_snat(A), ovn-trace's result line ct_snat(ip4.src=A): the address either way
    return [(hop, m.group(1), m.group(2).rpartition("=")[2]) for hop in trace.hops for a in hop.actions
            for m in NAT_RE.finditer(a) if m.group(2)]
