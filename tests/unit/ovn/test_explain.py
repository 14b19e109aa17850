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


def _lookup(collection, object_id):
    return OBJECTS.get((collection, object_id))


def test_delivered_names_the_rule_and_the_chassis():
    got = explain.explain(trace.parse((DATA / "trace_allowed.txt").read_text()), ACLS, _lookup)
    assert got.verdict == "delivered"
    assert got.reason == "allowed by security group web (g) rule r-ssh: ingress IPv4 tcp 22 from 10.0.0.0/8"
    assert got.steps[-1].text == "delivered to port server (p2) on hv2"
    assert [s.kind for s in got.steps] == ["switch", "allowed", "allowed", "delivered"]


def test_dropped_names_the_groups_of_the_receiving_port():
    got = explain.explain(trace.parse((DATA / "trace_dropped.txt").read_text()), ACLS, _lookup)
    assert got.verdict == "dropped"
    assert got.reason == "no rule of the security groups of port server (p2) (web (g)) allows it entering the port"


def test_a_member_sees_no_other_projects_names():
    got = explain.explain(trace.parse((DATA / "trace_dropped.txt").read_text()), ACLS, lambda c, i: None)
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
    return [s.text for s in explain.explain(parsed, [], lookup).steps if s.kind in ("switch", "router")]


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
    got = explain.explain(out, [], lambda c, i: admin.get((c, i)))
    assert got.verdict == "delivered"
    assert got.steps[-1].text == "leaves through the localnet port of network public (pub) onto physical network public"
    member = {("networks", "pub"): {"id": "pub", "name": "public"}}  # provider:* is the admin's
    assert explain.explain(out, [], lambda c, i: member.get((c, i))).steps[-1].text == \
        "leaves through the localnet port of network public (pub)"
