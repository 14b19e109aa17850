"""Parsing ovn-trace --detailed output (captured from OVN 23.03) and mapping ACL hops to NB rows."""

from __future__ import annotations

from pathlib import Path

from ovnet.ovn import trace

DATA = Path(__file__).with_name("data")
ACLS = [
    {"_uuid": "a1", "direction": "from-lport", "match": "inport == @pg_a && ip4", "action": "allow-related",
     "external_ids": {"ovnet:rule": "r-egress"}},
    {"_uuid": "a2", "direction": "to-lport", "match": "outport == @pg_a && ip4 && tcp && tcp.dst == 22",
     "action": "allow-related", "external_ids": {"ovnet:rule": "r-ssh"}},
    {"_uuid": "d1", "direction": "to-lport", "match": "outport == @pg_drop && ip", "action": "drop",
     "external_ids": {}},
]


def test_a_delivered_packet_names_its_port_and_the_acls_that_allowed_it():
    parsed = trace.parse((DATA / "trace_allowed.txt").read_text())
    assert parsed.delivered and parsed.delivered_to == "p2" and parsed.dropped_at is None
    assert parsed.hops[0].pipeline == "ingress" and parsed.hops[0].datapath == "sw"
    assert parsed.hops[0].inport == "p1" and parsed.hops[-1].outport == "p2"
    assert [row["_uuid"] for _, row in trace.acl_hits(parsed, ACLS)] == ["a1", "a2"]


def test_a_dropped_packet_ends_at_the_drop_acl():
    parsed = trace.parse((DATA / "trace_dropped.txt").read_text())
    assert not parsed.delivered
    assert parsed.dropped_at.stage == "ls_out_acl"
    assert [row["_uuid"] for _, row in trace.acl_hits(parsed, ACLS)] == ["a1", "d1"]


def test_microflows():
    assert trace.microflow("p1", "0a:00:00:00:00:01", "0a:00:00:00:00:02", "10.0.0.1", "10.0.0.2", "tcp", 22) == (
        'inport == "p1" && eth.src == 0a:00:00:00:00:01 && eth.dst == 0a:00:00:00:00:02 && ip4.src == 10.0.0.1'
        " && ip4.dst == 10.0.0.2 && ip.ttl == 64 && tcp && tcp.src == 40000 && tcp.dst == 22 && tcp.flags == 0x002")
    assert trace.microflow("p", "m", "n", "fd00::1", "fd00::2").endswith("icmp6 && icmp6.type == 128")
    assert trace.microflow("p", "m", "n", "10.0.0.1", "10.0.0.2", "icmp-reply").endswith("icmp4.type == 0")


def test_a_routed_packet_out_of_a_multicast_group_is_delivered_to_the_localnet_port():
    # captured from OVN 23.03: A-vm1 -> the outside host through its router's SNAT (its floating
    # IP); the public switch floods it to _MC_unknown, whose egress pipeline is printed indented
    parsed = trace.parse((DATA / "trace_snat_to_localnet.txt").read_text())
    assert parsed.delivered and parsed.dropped_at is None
    assert parsed.hops[-1].pipeline == "egress" and parsed.hops[-1].stage == "ls_out_apply_port_sec"
    assert parsed.delivered_to == parsed.hops[-1].outport
    assert [addr for _, action, addr in trace.nat_actions(parsed) if "snat" in action] == ["10.50.50.12"]
