"""ovn-trace hops in model terms: the rule that allowed a packet, the groups that did not, tenancy."""

from __future__ import annotations

from pathlib import Path

from ovnet.ovn import explain, trace

DATA = Path(__file__).with_name("data")
RULE = {"id": "r-ssh", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
        "port_range_max": 22, "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": None}
OBJECTS = {
    ("ports", "p1"): {"id": "p1", "name": "client", "security_groups": ["g"], "binding:host_id": "hv1"},
    ("ports", "p2"): {"id": "p2", "name": "server", "security_groups": ["g"], "binding:host_id": "hv2"},
    ("security-groups", "g"): {"id": "g", "name": "web", "security_group_rules": [RULE]},
}
ACLS = [
    {"_uuid": "a1", "direction": "from-lport", "match": "inport == @pg_a && ip4", "action": "allow-related",
     "external_ids": {"ovnet:type": "security_group_rule", "ovnet:security_group": "g", "ovnet:rule": "r-egress"}},
    {"_uuid": "a2", "direction": "to-lport", "match": "outport == @pg_a && ip4 && tcp && tcp.dst == 22",
     "action": "allow-related",
     "external_ids": {"ovnet:type": "security_group_rule", "ovnet:security_group": "g", "ovnet:rule": "r-ssh"}},
    {"_uuid": "d1", "direction": "to-lport", "match": "outport == @pg_drop && ip", "action": "drop",
     "external_ids": {"ovnet:type": "port_security_drop"}},
]


BOUND = {"p1": "hv1", "p2": "hv2"}  # SB's Port_Binding claims (sb.port_bindings)


def _lookup(collection, object_id):
    return OBJECTS.get((collection, object_id))


def test_delivered_names_the_rule_and_the_chassis():
    got = explain.explain(trace.parse((DATA / "trace_allowed.txt").read_text()), ACLS, _lookup, BOUND)
    assert got.verdict == "delivered"
    assert got.reason == "allowed by security group web (g) rule r-ssh: ingress IPv4 tcp 22 from 10.0.0.0/8"
    assert got.steps[-1].text == "delivered to port server (p2) on hv2"
    assert [s.kind for s in got.steps] == ["switch", "allowed", "allowed", "delivered"]


def test_output_to_a_port_no_host_has_reaches_nobody():
    # A trace to an unbound port said "verdict: delivered ... on no chassis (unbound)" while a ping
    # lost every packet (new-user finding)
    got = explain.explain(trace.parse((DATA / "trace_allowed.txt").read_text()), ACLS, _lookup, {"p1": "hv1", "p2": ""})
    assert got.verdict == "dropped"
    assert got.reason == "output to port server (p2), which is not bound to any host, so nothing receives it"
    assert [s.kind for s in got.steps] == ["switch", "allowed", "allowed", "unbound"]


def test_a_member_is_told_a_bound_port_is_bound_without_its_host():
    # binding:host_id is admin-only: a member's bound port was told "on no chassis (unbound)" (new-user finding)
    member = {k: {f: v for f, v in o.items() if f != "binding:host_id"} for k, o in OBJECTS.items()}
    got = explain.explain(trace.parse((DATA / "trace_allowed.txt").read_text()), ACLS, lambda c, i: member.get((c, i)),
                          BOUND)
    assert got.verdict == "delivered"
    assert got.steps[-1].text == "delivered to port server (p2) on its host"
    assert "hv2" not in str(got.as_dict())


def test_dropped_names_the_groups_of_the_receiving_port():
    got = explain.explain(trace.parse((DATA / "trace_dropped.txt").read_text()), ACLS, _lookup, BOUND)
    assert got.verdict == "dropped"
    assert got.reason == "no rule of the security groups of port server (p2) (web (g)) allows it entering the port"


def test_a_member_sees_no_other_projects_names():
    got = explain.explain(trace.parse((DATA / "trace_dropped.txt").read_text()), ACLS, lambda c, i: None, BOUND)
    assert "server" not in got.reason and "web" not in got.reason and explain.UNSEEN in got.reason
    assert got.as_dict()["verdict"] == "dropped"


# ovn-trace --no-friendly-names prints SB datapath UUIDs (captured from OVN 23.03); mapped back
# through Datapath_Binding external_ids:name (trace.datapath_names) they are ovnet's NB names.
DATAPATHS = {"e2ce958d-c0bd-446b-b60d-c2d0d8dc6560": "ovnet-net-a", "180f3256-c45b-4eaa-afbb-9c6a3c9fa396":
             "ovnet-r1", "24d9b090-627d-456f-948b-25aa69ba2402": "ovnet-pub"}
TOPOLOGY = {("networks", "net-a"): {"id": "net-a", "name": "A-net"}, ("routers", "r1"): {"id": "r1", "name": "A-r"},
            ("networks", "pub"): {"id": "pub", "name": "public"}}


def _hops_named(lookup):
    parsed = trace.parse((DATA / "trace_snat_to_localnet.txt").read_text(), DATAPATHS)
    return [s.text for s in explain.explain(parsed, [], lookup, BOUND).steps if s.kind in ("switch", "router")]


def test_an_admin_sees_every_switch_and_router_named():
    assert _hops_named(lambda c, i: TOPOLOGY.get((c, i))) == [
        "switch of network A-net (net-a)", "router A-r (r1)", "switch of network public (pub)"]


def test_a_member_sees_its_own_objects_named_and_no_others():
    own = {("networks", "net-a"): TOPOLOGY[("networks", "net-a")]}
    assert _hops_named(lambda c, i: own.get((c, i))) == [
        "switch of network A-net (net-a)", f"router {explain.UNSEEN}", f"switch {explain.UNSEEN}"]


def test_a_packet_leaving_through_a_localnet_port_says_so():
    # An admin's trace to the outside host ended "delivered to port (not visible to this project) on
    # no chassis (unbound)": the localnet port, named by its network's id, is no Neutron port (new-user finding).
    out = trace.Trace(hops=[], delivered_to="pub", dropped_at=None)
    admin = {("networks", "pub"): {"id": "pub", "name": "public", "provider:physical_network": "public"}}
    got = explain.explain(out, [], lambda c, i: admin.get((c, i)), {"pub": ""})
    assert got.verdict == "delivered"
    assert got.steps[-1].text == "leaves through the localnet port of network public (pub) onto physical network public"
    member = {("networks", "pub"): {"id": "pub", "name": "public"}}  # provider:* is the admin's
    assert explain.explain(out, [], lambda c, i: member.get((c, i)), {"pub": ""}).steps[-1].text == \
        "leaves through the localnet port of network public (pub)"


def test_a_port_administratively_down_is_told_as_such_not_as_port_security():
    # `openstack port set --disable` was told "dropped — port security ..." (new-user finding): the
    # LSP's enabled=false drops in the port security stages too
    hop = trace.Hop("egress", "ovnet-n", "p1", "p2", 1, "ls_out_check_port_sec", 'outport == "p2"', 150, ["drop;"])
    dropped = trace.Trace(hops=[hop], delivered_to=None, dropped_at=hop)
    down = {**OBJECTS, ("ports", "p2"): {**OBJECTS[("ports", "p2")], "admin_state_up": False}}
    got = explain.explain(dropped, ACLS, lambda c, i: down.get((c, i)), BOUND)
    assert got.verdict == "dropped"
    assert got.reason == ("port server (p2) is administratively down (admin_state_up false), so nothing passes "
                          "through it")
    up = {**OBJECTS, ("ports", "p2"): {**OBJECTS[("ports", "p2")], "admin_state_up": True}}
    assert explain.explain(dropped, ACLS, lambda c, i: up.get((c, i)), BOUND).reason.startswith(
        "port security of port server (p2): ")


def test_a_security_group_drop_is_told_once():
    # the outside host's trace to a floating IP printed its "no rule ... allows it" step twice (new-user finding)
    got = explain.explain(trace.parse((DATA / "trace_dropped.txt").read_text()), ACLS, _lookup, BOUND)
    assert [s.text for s in got.steps].count(got.reason) == 1 and got.steps[-1].kind == "no_rule"


def test_broadcast_or_multicast_to_a_router_is_told_as_not_routed():
    # --to 255.255.255.255 or 224.0.0.1 ended "dropped at lr_in_ip_routing of ovnet-<router>" (new-user finding)
    hop = trace.Hop("ingress", "ovnet-r1", "rp1", "", 12, "lr_in_ip_routing", "ip4.mcast || ip6.mcast", 10460,
                    ["drop;"])
    got = explain.explain(trace.Trace(hops=[hop], delivered_to=None, dropped_at=hop), [],
                          lambda c, i: TOPOLOGY.get((c, i)), {})
    assert got.reason == "router A-r (r1) has no route for it (broadcast and multicast addresses are never routed)"
    assert [s.kind for s in got.steps] == ["router", "dropped"]  # no "route ip4.mcast || ..." step for the drop


def _dropped_at_l2_lookup() -> trace.Trace:
    hop = trace.Hop("ingress", "ovnet-n", "p1", "", 27, "ls_in_l2_lkup", "eth.dst == 02:00:00:00:00:02", 50, ["drop;"])
    return trace.Trace(hops=[hop], delivered_to=None, dropped_at=hop)


def test_a_packet_to_its_own_port_is_told_as_a_hairpin():
    # --to its own port ended "dropped at ls_in_l2_lkup of ovnet-<id>" (new-user finding)
    got = explain.explain(_dropped_at_l2_lookup(), ACLS, _lookup, BOUND, to_port="p1")
    assert got.reason == ("the destination is the sending port client (p1) itself: a switch never sends a packet "
                          "back out of the port it came in on")
    assert explain.explain(_dropped_at_l2_lookup(), ACLS, _lookup, BOUND, to_port="p2").reason == \
        "dropped at ls_in_l2_lkup of ovnet-n"


def test_a_packet_to_a_disabled_port_is_told_the_port_is_down():
    # OVN's L2 lookup knows no disabled port's MAC, so a packet to it drops there
    down = {**OBJECTS, ("ports", "p2"): {**OBJECTS[("ports", "p2")], "admin_state_up": False}}
    got = explain.explain(_dropped_at_l2_lookup(), ACLS, lambda c, i: down.get((c, i)), BOUND, to_port="p2")
    assert got.reason.startswith("port server (p2) is administratively down") and got.steps[-1].kind == "port_down"


def test_a_router_answering_a_ping_to_its_own_address_is_the_reason_it_is_delivered():
    answered = trace.parse((DATA / "trace_router_answers.txt").read_text())
    router = "6aafd57a-6b07-44e5-bfe9-338db33d6ab8"
    names = {("routers", router): {"id": router, "name": "B-r"}}
    got = explain.explain(answered, [], lambda c, i: names.get((c, i)), {answered.delivered_to: "hv1"})
    assert got.verdict == "delivered"
    assert got.reason == f"router B-r ({router}) answers it itself (the address is its own); the answer goes back " \
                         "to the sender"
    assert [s.kind for s in got.steps].index("answered") < [s.kind for s in got.steps].index("delivered")
    assert "answered" not in [s.kind for s in explain.explain(trace.parse((DATA / "trace_allowed.txt").read_text()),
                                                              ACLS, _lookup, BOUND).steps]


def test_a_resumed_un_snat_is_told_as_such():
    missed = trace.parse((DATA / "trace_unsnat_missed.txt").read_text())
    start, _ = trace.missed_unsnat(missed)
    whole = trace.resumed(missed, start, "192.168.1.5", trace.parse((DATA / "trace_unsnat_resumed.txt").read_text()))
    nats = [s.text for s in explain.explain(whole, [], lambda c, i: None, {whole.delivered_to: "hv1"}).steps
            if s.kind == "nat"]
    assert nats == ["SNAT to 10.50.50.10", "un-SNAT to 192.168.1.5"]


def test_tcp_or_udp_to_a_routers_own_address_is_told_as_such():
    # was "dropped at lr_in_ip_input of ovnet-<router>" (a router answers pings only)
    hop = trace.Hop("ingress", "ovnet-r1", "lrp-1", "", 3, "lr_in_ip_input", "ip4.dst == {192.168.1.1}", 60, ["drop;"])
    got = explain.explain(trace.Trace(hops=[hop], delivered_to=None, dropped_at=hop), [],
                          lambda c, i: TOPOLOGY.get((c, i)), {})
    assert got.reason == "the destination is an address of router A-r (r1), which answers pings to it and drops " \
                         "anything else"
    other = trace.Hop("ingress", "ovnet-r1", "lrp-1", "", 3, "lr_in_ip_input", "ip4.mcast", 95, ["drop;"])
    assert explain.explain(trace.Trace(hops=[other], delivered_to=None, dropped_at=other), [],
                           lambda c, i: TOPOLOGY.get((c, i)), {}).reason == "dropped at lr_in_ip_input of ovnet-r1"
