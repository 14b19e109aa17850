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


SENDER = "d2edfb6d-72a3-4f7a-8798-22e753c5e841"  # B-vm2-eth0 of the demo these traces were captured on
ROUTER_B = "6aafd57a-6b07-44e5-bfe9-338db33d6ab8"  # its router's datapath, which SNATs it to 10.50.50.10


def test_a_router_answering_its_own_address_sends_the_answer_through_the_senders_zone_as_a_reply():
    # ping to the port's own gateway was "dropped — no rule ... allows it entering the port": every
    # ct_next was traced as new, the answer's lookup in the sender's zone too (new-user finding)
    new = trace.parse((DATA / "trace_router_answers_new.txt").read_text())
    assert not new.delivered and new.dropped_at.stage == "ls_out_acl" and new.dropped_at.outport == SENDER
    assert new.ct_lookups == [SENDER, SENDER]
    assert trace.ct_states(new) == [trace.CT_REQUEST, trace.CT_REPLY]
    answered = trace.parse((DATA / "trace_router_answers.txt").read_text())  # traced with those states
    assert answered.delivered_to == SENDER and trace.ct_states(answered) == [trace.CT_REQUEST, trace.CT_REPLY]
    # a reply's lookups are established where its request was committed, new elsewhere
    assert trace.ct_states(new, {SENDER}) == [trace.CT_REPLY, trace.CT_REPLY]


def test_an_answer_to_an_snat_address_is_resumed_after_the_un_snat_ovn_trace_assumes_away():
    # ping to another router's gateway: ovn-trace kept the answer's destination 10.50.50.10 at the
    # router that SNATed the request, which then dropped it at lr_in_arp_resolve (new-user finding)
    missed = trace.parse((DATA / "trace_unsnat_missed.txt").read_text())
    assert missed.dropped_at.stage == "lr_in_arp_resolve" and missed.dropped_at.datapath == ROUTER_B
    assert trace.snat_routers(missed) == {ROUTER_B} and trace.source_after_snat(missed) == "10.50.50.10"
    start, mac = trace.missed_unsnat(missed)
    entry = missed.hops[start]
    assert (entry.stage, entry.datapath, entry.inport, mac) == (
        "lr_in_admission", ROUTER_B, "lrp-f7759f7b-35cd-43a5-8921-e7dc92bce13c", "fa:16:3e:ba:95:16")
    assert missed.hops[start + 3].stage == "lr_in_unsnat"  # the earlier admissions of ROUTER_B were the request's
    rest = trace.parse((DATA / "trace_unsnat_resumed.txt").read_text())  # from that port, to 192.168.1.5
    whole = trace.resumed(missed, start, "192.168.1.5", rest)
    assert whole.delivered_to == SENDER and whole.hops[:start] == missed.hops[:start]
    assert ("ct_unsnat", "192.168.1.5") in [(a, addr) for _, a, addr in trace.nat_actions(whole)]
    assert whole.ct_lookups == [SENDER, SENDER] and whole.ct_after[-1] > start
    assert trace.missed_unsnat(whole) is None
    assert trace.missed_unsnat(trace.parse((DATA / "trace_allowed.txt").read_text())) is None


def test_an_answer_looped_back_into_the_router_that_snated_its_request_is_resumed_there():
    # B-vm2 -> B-vm1's floating IP behind the same router: the reply to the SNAT address 10.50.50.10
    # loops back into the router (lr_out_egr_loop), which ovn-trace then drops at lr_in_arp_resolve
    # while a real ping is answered
    looped = trace.parse((DATA / "trace_hairpin_reply.txt").read_text())
    assert looped.dropped_at.stage == "lr_in_arp_resolve" and looped.dropped_at.datapath == ROUTER_B
    start, mac = trace.missed_unsnat(looped, "10.50.50.10")
    assert looped.hops[start - 1].stage == "lr_out_egr_loop"
    assert (looped.hops[start].stage, looped.hops[start].inport, mac) == (
        "lr_in_admission", "lrp-f7759f7b-35cd-43a5-8921-e7dc92bce13c", "fa:16:3e:ba:95:16")
    # a loop for another address (a floating IP the request itself was sent to) is a hop like any other
    assert trace.missed_unsnat(looped) is None and trace.missed_unsnat(looped, "10.50.50.1") is None
