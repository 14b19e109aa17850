"""The security group translation: Port_Group and ACL rows from plain dicts (no NB)."""

from __future__ import annotations

import pytest

from ovnet.ovn import acls

SG = "11111111-2222-3333-4444-555555555555"
OTHER = "99999999-2222-3333-4444-555555555555"
NET = "aaaaaaaa-2222-3333-4444-555555555555"
PG_NAME = "ovnet_11111111_2222_3333_4444_555555555555"


def _rule(**attrs) -> dict:
    return {"id": "r1", "direction": "ingress", "ethertype": "IPv4", "protocol": None, "port_range_min": None,
            "port_range_max": None, "remote_ip_prefix": None, "remote_group_id": None, **attrs}


@pytest.mark.parametrize(("rule", "match"), [
    (_rule(), f"outport == @{PG_NAME} && ip4"),
    (_rule(direction="egress", ethertype="IPv6"), f"inport == @{PG_NAME} && ip6"),
    (_rule(protocol="tcp", port_range_min=22, port_range_max=22),
     f"outport == @{PG_NAME} && ip4 && tcp && tcp.dst == 22"),
    (_rule(protocol="17", port_range_min=1000, port_range_max=2000, remote_ip_prefix="10.0.0.0/8"),
     f"outport == @{PG_NAME} && ip4 && ip4.src == 10.0.0.0/8 && udp && udp.dst >= 1000 && udp.dst <= 2000"),
    (_rule(direction="egress", remote_ip_prefix="0.0.0.0/0", protocol="sctp"),
     f"inport == @{PG_NAME} && ip4 && sctp"),
    (_rule(protocol="icmp", port_range_min=8, port_range_max=0),
     f"outport == @{PG_NAME} && ip4 && icmp4 && icmp4.type == 8 && icmp4.code == 0"),
    (_rule(protocol="icmp", ethertype="IPv6"), f"outport == @{PG_NAME} && ip6 && icmp6"),
    (_rule(protocol="vrrp"), f"outport == @{PG_NAME} && ip4 && ip.proto == 112"),
    (_rule(remote_group_id=OTHER),
     f"outport == @{PG_NAME} && ip4 && ip4.src == $ovnet_99999999_2222_3333_4444_555555555555_ip4"),
    (_rule(direction="egress", ethertype="IPv6", remote_group_id=SG),
     f"inport == @{PG_NAME} && ip6 && ip6.dst == ${PG_NAME}_ip6"),
])
def test_rule_matches(rule, match):
    assert acls.rule_match(rule, SG) == match


def _group(stateful=True, rules=()) -> dict:
    return {"id": SG, "name": "web", "project_id": "p", "revision_number": 3, "stateful": stateful,
            "security_group_rules": list(rules)}


def test_a_group_is_a_port_group_with_one_acl_per_rule():
    rows = list(acls.security_group_rows(_group(rules=[_rule(), _rule(id="r2", direction="egress")])))
    assert [(t, k) for t, k, _ in rows] == [("Port_Group", SG), ("ACL", f"{SG}/r1"), ("ACL", f"{SG}/r2")]
    pg, ingress, egress = (r for _, _, r in rows)
    assert pg["name"] == PG_NAME and pg["external_ids"]["ovnet:type"] == "security_group"
    assert (ingress["direction"], ingress["action"], ingress["priority"]) == ("to-lport", "allow-related", 1002)
    assert egress["direction"] == "from-lport"
    assert ingress["external_ids"]["ovnet:port_group"] == SG and ingress["external_ids"]["ovnet:rule"] == "r1"
    assert ingress["name"] == ["r1"]


def test_a_stateless_group_allows_stateless():
    (_, _, _), (_, _, acl) = acls.security_group_rows(_group(stateful=False, rules=[_rule()]))
    assert acl["action"] == "allow-stateless"


def test_a_network_drops_all_ip_of_its_port_security_ports_both_ways():
    rows = list(acls.network_drop_rows({"id": NET, "project_id": "p", "name": "n"}))
    assert [(t, k) for t, k, _ in rows] == [("Port_Group", f"{NET}/drop"), ("ACL", f"{NET}/drop-out"),
                                           ("ACL", f"{NET}/drop-in")]
    name = rows[0][2]["name"]
    assert {(r["direction"], r["match"], r["action"], r["priority"]) for _, _, r in rows[1:]} == {
        ("from-lport", f"inport == @{name} && ip", "drop", 1001),
        ("to-lport", f"outport == @{name} && ip", "drop", 1001)}


def test_port_membership_follows_port_security():
    port = {"network_id": NET, "security_groups": [SG, OTHER], "port_security_enabled": True, "device_owner": ""}
    assert acls.port_groups(port) == sorted([f"{NET}/drop", SG, OTHER])
    assert acls.port_groups({**port, "security_groups": []}) == [f"{NET}/drop"]
    assert acls.port_groups({**port, "port_security_enabled": False, "security_groups": []}) == []
    assert acls.port_groups({**port, "device_owner": "network:router_interface"}) == []


def test_acl_count_of_a_group_is_flat_in_its_ports():
    group = _group(rules=[_rule(id=f"r{i}", port_range_min=i, port_range_max=i, protocol="tcp") for i in range(1, 4)])
    ports = [{"network_id": NET, "security_groups": [SG], "port_security_enabled": True} for _ in range(200)]
    rows = list(acls.security_group_rows(group, {"ports": ports}))
    assert sum(1 for t, _, _ in rows if t == "ACL") == 3
